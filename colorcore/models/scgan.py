"""Baseline 1 (paper section 6.1, [15]): an SCGAN-like U-Net GAN.

Generator: U-Net on the gray image (one channel). Depth rule: one level per halving of the prepared
size, at most 7: 7 down / 7 up at 128 px (the paper's seven), 6 at 64 px, 5 at 32 px; in general the
number of times the size divides by 2, capped at 7 (so the bottleneck is 1 px at 64 and 128 px).
Down levels: Conv4x4 stride 2 -> BatchNorm (not on the first or the innermost level) -> LeakyReLU(0.2);
up levels: ConvTranspose4x4 stride 2 -> BatchNorm -> LeakyReLU(0.2), then concatenation with the
encoder output of the same size (skip connection); the last up level outputs RGB through tanh.
Channels: width x (1, 2, 4, 8, 8, 8, 8).
Discriminator: the paper's six-conv patch discriminator (LeakyReLU, sigmoid) on 4 channels (gray +
RGB), 30x30 output at 128 px (the paper's size) and 14x14 at 64 px.
Losses: L_D = mean D(fake) - mean D(real) (the paper's "difference of the means"; other GAN losses via
`gan_loss`), L_G = lambda_l1 * L1(rgb) + lambda_gan * (-mean D(fake)). Adam, lr G 2e-4, D 1e-3.
Xavier initialisation.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from colorcore.models import losses
from colorcore.models.base import Batch, GANColorModel, ModelConfig, StepContext, register
from colorcore.models.discriminator import PatchDiscriminator
from colorcore.models.init import xavier_init

NEG_SLOPE = 0.2
MAX_DEPTH = 7
MIN_DEPTH = 2
CHANNEL_MULTS = (1, 2, 4, 8, 8, 8, 8)
DEPTH_RULE = (
    "scgan's U-Net depth follows the prepared image size: one level per halving, at most 7 "
    "(7 down/7 up at 128 px as in the paper, 6 at 64 px)"
)


def unet_depth(image_size: int) -> int:
    """Number of down (and up) levels for `image_size`: how often it halves evenly, at most 7."""
    depth = 0
    size = image_size
    while size % 2 == 0 and size > 1 and depth < MAX_DEPTH:
        size //= 2
        depth += 1
    if depth < MIN_DEPTH:
        raise ValueError(f"scgan needs an image size divisible by {2 ** MIN_DEPTH}, got {image_size}")
    return depth


class UNetGenerator(nn.Module):
    """Gray (B, 1, S, S) in [-1, 1] -> RGB (B, 3, S, S) in [-1, 1]; `depth` down and up levels."""

    def __init__(self, depth: int, width: int = 64) -> None:
        super().__init__()
        self.depth = depth
        chans = [width * m for m in CHANNEL_MULTS[:depth]]
        down: list[nn.Module] = []
        for k, out_ch in enumerate(chans):
            in_ch = 1 if k == 0 else chans[k - 1]
            norm = 0 < k < depth - 1
            layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, 4, 2, 1)]
            if norm:
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(nn.LeakyReLU(NEG_SLOPE, inplace=True))
            down.append(nn.Sequential(*layers))
        self.down = nn.ModuleList(down)
        up: list[nn.Module] = []
        # up level j (j = 0 innermost) maps to the size of encoder level depth-2-j and is concatenated
        # with that level's output; the last up level produces RGB.
        for j in range(depth):
            level = depth - 1 - j
            in_ch = chans[level] if j == 0 else chans[level] * 2
            if j == depth - 1:
                up.append(nn.Sequential(nn.ConvTranspose2d(in_ch, 3, 4, 2, 1), nn.Tanh()))
            else:
                out_ch = chans[level - 1]
                up.append(nn.Sequential(
                    nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1), nn.BatchNorm2d(out_ch), nn.LeakyReLU(NEG_SLOPE, inplace=True)
                ))
        self.up = nn.ModuleList(up)

    def forward(self, gray: Tensor) -> Tensor:
        multiple = 2**self.depth
        if gray.shape[-1] % multiple or gray.shape[-2] % multiple:
            raise ValueError(f"input size {tuple(gray.shape[-2:])} must be a multiple of {multiple}")
        feats = []
        h = gray
        for block in self.down:
            h = block(h)
            feats.append(h)
        for j, block in enumerate(self.up):
            h = block(h)
            if j < self.depth - 1:
                h = torch.cat([h, feats[self.depth - 2 - j]], dim=1)
        return h


@register
class SCGANBaseline(GANColorModel):
    """SCGAN-like U-Net GAN with GAN + L1 loss (paper section 6.1)."""

    name: ClassVar[str] = "scgan"
    loss_names: ClassVar[tuple[str, ...]] = ("g", "l1", "gan", "d")
    visual_names: ClassVar[tuple[str, ...]] = ("gray", "fake", "real")
    presets: ClassVar[dict[str, dict[str, float]]] = {
        # the paper (section 6.1): lr G 2e-4, D 1e-3, 100 epochs; beta1 is not stated (ours: 0.5)
        "paper": {"lr_g": 2e-4, "lr_d": 1e-3, "beta1": 0.5, "lr_warmup_steps": 0, "epochs": 100},
        # the paper's lr D 1e-3 lets D win at batch 8: below the gray photo after 150 steps (18.3 dB, gray
        # 19.2); with D at the generator's 2e-4 it learns (21.3 dB): benchmarks/bench_learning.py
        "default": {"lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "lr_warmup_steps": 0, "epochs": 100},
    }

    def __init__(self, config: ModelConfig, pretrained: bool = True) -> None:
        super().__init__(config)
        self.generator = UNetGenerator(unet_depth(config.image_size), config.width)
        self.discriminator = PatchDiscriminator(config.width, in_channels=4)
        xavier_init(self.generator)
        xavier_init(self.discriminator)

    def training_step(
        self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer], ctx: StepContext
    ) -> dict[str, Tensor]:
        options = self.config.options
        gray1, rgb = batch["gray"][:, :1], batch["rgb"]
        with ctx.autocast():
            fake = self.generator(gray1)
        loss_d = self.discriminator_step(rgb, fake, gray1, optimizers["d"], ctx)
        with ctx.autocast():
            gan = self.adversarial_loss(fake, gray1)
            l1 = losses.l1_loss(fake.float(), rgb)
            loss_g = options.lambda_l1 * l1 + options.lambda_gan * gan
        self.generator_step(loss_g, optimizers["g"], ctx)
        return {"g": loss_g.detach(), "l1": l1.detach(), "gan": gan.detach(), "d": loss_d.detach()}

    @torch.no_grad()
    def predict(self, gray: Tensor) -> dict[str, Tensor]:
        return {"rgb": self.generator(gray[:, :1])}
