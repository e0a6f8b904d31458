"""The paper's model as a `ColorModel`: multi-path generator + patch discriminator + paper losses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor

from colorcore.models import losses
from colorcore.models.base import (
    Batch,
    GANColorModel,
    GANOptions,
    ModelConfig,
    StepContext,
    register,
)
from colorcore.models.discriminator import PatchDiscriminator
from colorcore.models.generator import RESNET_SOURCES, TRUNKS, MultiPathGenerator, init_generator, xavier_init
from colorcore.core.options import option


def _resnet_weights_problem(value: str) -> str:
    if value in RESNET_SOURCES or Path(value).is_file():
        return ""
    return f"{value}: file not found (use {', '.join(RESNET_SOURCES)} or a file)"


@dataclass(frozen=True)
class MultiPathOptions(GANOptions):
    """The paper's guidance-loss weights (section 5), the pre-trained trunk and the ResNet-18 path's weights.

    `resnet_weights` ("auto", "imagenet", "none" or a file) is resolved to a concrete source before
    training ("auto": ImageNet when it can be had, else "none"); with "none" the ResNet-18 path is left
    out unless `finetune_resnet` trains it from random weights.
    """

    lambda_sal: float = option(0.5, "weight of the saliency-guided loss", label="\u03bb saliency",
                               low=0.0, high=100.0, step=0.1, decimals=3)
    lambda_edge: float = option(0.05, "weight of the edge-guided loss", label="\u03bb edge",
                                low=0.0, high=100.0, step=0.01, decimals=3)
    resnet_weights: str = option(
        "auto", "ResNet-18 path weights: auto (ImageNet when cached or downloadable, else none) | imagenet | "
        "none (the path is left out, unless {option:finetune_resnet} trains it from random weights) | a local "
        "weights file", label="ResNet-18", choices=RESNET_SOURCES, other_values=True, check=_resnet_weights_problem)
    finetune_resnet: bool = option(False, "train the ResNet-18 path too (frozen by default)",
                                   label="Train ResNet-18")
    trunk: str = option(
        "auto", "pre-trained trunk joined where the paper joins ResNet-18: auto (resnet18 when its ImageNet weights "
        "can be had, else efficientnet-lite0; none with {option:resnet_weights} none) | resnet18 (the paper's) | "
        "efficientnet-lite0 (ImageNet weights installed with ColorCore, Apache-2.0; frozen) | none",
        label="Trunk", choices=TRUNKS)


@register
class MultiPathGAN(GANColorModel):
    """Edge- and saliency-guided multi-path GAN (paper section 5)."""

    name: ClassVar[str] = "multipath"
    loss_names: ClassVar[tuple[str, ...]] = ("g", "l1", "gan", "sal", "edge", "d")
    visual_names: ClassVar[tuple[str, ...]] = ("gray", "fake", "real")
    uses_resnet: ClassVar[bool] = True
    options_class: ClassVar[type[MultiPathOptions]] = MultiPathOptions
    # the paper (section 5) states lr G 1e-3, D 1e-4; not beta1 nor the epochs: ours in both presets (beta1
    # pix2pix's 0.5; 100 epochs, baseline 1's count). Our lr G 2e-4: 1e-3 diverges at batch 8 (docs/learning.md)
    presets: ClassVar[dict[str, dict[str, float]]] = {
        "paper": {"lr_g": 1e-3, "lr_d": 1e-4, "beta1": 0.5, "lr_warmup_steps": 0, "epochs": 100},
        "default": {"lr_g": 2e-4, "lr_d": 1e-4, "beta1": 0.5, "lr_warmup_steps": 0, "epochs": 100},
    }

    def __init__(self, config: ModelConfig, pretrained: bool = True) -> None:
        super().__init__(config)
        if config.image_size % 64:
            raise ValueError(f"multipath needs an image size that is a multiple of 64, got {config.image_size}")
        options = config.options
        self.generator = MultiPathGenerator(config.width, options.resnet_weights, options.finetune_resnet,
                                            pretrained=pretrained, trunk=options.trunk)
        self.discriminator = PatchDiscriminator(config.width)
        init_generator(self.generator)
        xavier_init(self.discriminator)

    def training_step(
        self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer], ctx: StepContext
    ) -> dict[str, Tensor]:
        options = self.config.options
        gray, rgb = batch["gray"], batch["rgb"]
        with ctx.autocast():
            out = self.generator(gray)
            fake = out[:, :3]
            sal_fake = losses.map_to_unit(out[:, 3:4])
            edge_fake = losses.map_to_unit(out[:, 4:5])
        loss_d = self.discriminator_step(rgb, fake, gray, optimizers["d"], ctx)
        with ctx.autocast():
            gan = self.adversarial_loss(fake, gray)
            terms = losses.paper_generator_terms(
                fake.float(), sal_fake.float(), edge_fake.float(), rgb, batch["saliency"], batch["edge"]
            )
            loss_g = (
                options.lambda_l1 * terms["l1"]
                + options.lambda_gan * gan
                + options.lambda_sal * terms["sal"]
                + options.lambda_edge * terms["edge"]
            )
        self.generator_step(loss_g, optimizers["g"], ctx)
        return {
            "g": loss_g.detach(), "l1": terms["l1"].detach(), "gan": gan.detach(),
            "sal": terms["sal"].detach(), "edge": terms["edge"].detach(), "d": loss_d.detach(),
        }

    @torch.no_grad()
    def predict(self, gray: Tensor) -> dict[str, Tensor]:
        out = self.generator(gray)
        return {
            "rgb": out[:, :3],
            "saliency": losses.map_to_unit(out[:, 3:4]),
            "edge": losses.map_to_unit(out[:, 4:5]),
        }
