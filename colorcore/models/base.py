"""The contract every colourisation model follows, and the explicit model registry.

A `ColorModel` bundles its networks, its losses and its optimisers (as pix2pix/CycleGAN do), and
declares `loss_names` and `visual_names`, so the Trainer, metrics.csv, the GUI plots and the sample
grids need no per-model code. Batches are dicts of tensors on the model's device:

- ``gray``: (B, 3, S, S) float in [-1, 1], the BT.601 luma stacked to 3 channels (the model input)
- ``rgb``: (B, 3, S, S) float in [-1, 1], the target colour photo
- ``saliency``: (B, 1, S, S) float in [0, 1]
- ``edge``: (B, 1, S, S) float in {0, 1}
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, ClassVar, ContextManager, Iterator

import torch
from torch import Tensor, nn

Batch = dict[str, Tensor]


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; saved in config.json and in exported model files.

    `lr_g`/`lr_d` of None mean "the model's own paper default". `width` is the first encoder level's
    channel count (the paper's 64); tests and the demo use smaller widths.
    """

    name: str = "multipath"
    image_size: int = 64
    width: int = 64
    resnet_weights: str = "imagenet"
    finetune_resnet: bool = False
    gan_loss: str = "paper"
    lambda_l1: float = 1.0
    lambda_gan: float = 0.5
    lambda_sal: float = 0.5
    lambda_edge: float = 0.05
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float = 0.5
    beta2: float = 0.999
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """Inverse of `to_dict`; unknown keys are ignored so older/newer files still load."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_(self, **changes: Any) -> "ModelConfig":
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass
class StepContext:
    """What the Trainer hands a model's `training_step`: mixed precision and the step number."""

    step: int = 0
    autocast: Callable[[], ContextManager] = contextlib.nullcontext
    scaler: torch.amp.GradScaler | None = None


class ColorModel(nn.Module):
    """Base class: networks + losses + optimisers for one architecture.

    Subclasses set the class attributes, build `self.generator` (the part that is exported and used
    for inference) and any other networks in `__init__`, and implement the four methods below.
    Networks that the Trainer may wrap (DDP, channels_last) are listed by `networks()`.
    """

    name: ClassVar[str] = ""
    loss_names: ClassVar[tuple[str, ...]] = ()
    visual_names: ClassVar[tuple[str, ...]] = ("gray", "fake", "real")
    colour_space: ClassVar[str] = "rgb"
    default_lr: ClassVar[dict[str, float]] = {}

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    def networks(self) -> dict[str, nn.Module]:
        """Named networks (e.g. {"g": ..., "d": ...}); the Trainer may replace them via `set_network`."""
        raise NotImplementedError

    def set_network(self, key: str, module: nn.Module) -> None:
        """Replace a network (used by the Trainer to install DDP wrappers)."""
        raise NotImplementedError

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Fresh optimisers keyed like `networks()` (only trainable parameters)."""
        raise NotImplementedError

    def training_step(
        self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer], ctx: StepContext
    ) -> dict[str, Tensor]:
        """One full update (D then G for GANs). Returns detached scalar losses keyed by `loss_names`."""
        raise NotImplementedError

    @torch.no_grad()
    def predict(self, gray: Tensor) -> dict[str, Tensor]:
        """Inference on a (B, 3, H, W) gray batch in [-1, 1].

        Returns at least ``rgb`` (B, 3, H, W) in [-1, 1]; models with auxiliary outputs add
        ``saliency`` and ``edge`` (B, 1, H, W) in [0, 1].
        """
        raise NotImplementedError

    @torch.no_grad()
    def visuals(self, batch: Batch) -> dict[str, Tensor]:
        """Images named by `visual_names`, each (B, 3, H, W) in [-1, 1], for sample grids."""
        out = self.predict(batch["gray"])
        return {"gray": batch["gray"], "fake": out["rgb"], "real": batch["rgb"]}


FUSED_ADAM_DEVICES = ("cpu", "cuda")  # one fused kernel per parameter instead of ~10 small ops


class GANColorModel(ColorModel):
    """A generator and a discriminator, each with its own Adam (the paper's model, the scgan baseline).

    Subclasses build `self.generator` and `self.discriminator` in `__init__` and write `training_step`.
    """

    generator: nn.Module
    discriminator: nn.Module

    def networks(self) -> dict[str, nn.Module]:
        return {"g": self.generator, "d": self.discriminator}

    def set_network(self, key: str, module: nn.Module) -> None:
        setattr(self, {"g": "generator", "d": "discriminator"}[key], module)

    @contextlib.contextmanager
    def frozen_discriminator(self) -> Iterator[nn.Module]:
        """The bare discriminator (no DDP wrapper) with its weights' gradients off, for the G step.

        The G step needs gradients with respect to D's input only: computing D's weight gradients
        there (and syncing them under DDP) is about a third of D's backward spent for nothing.
        """
        plain = getattr(self.discriminator, "module", self.discriminator)
        plain.requires_grad_(False)
        try:
            yield plain
        finally:
            plain.requires_grad_(True)

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.config
        betas = (cfg.beta1, cfg.beta2)
        lr_g = cfg.lr_g if cfg.lr_g is not None else self.default_lr["g"]
        lr_d = cfg.lr_d if cfg.lr_d is not None else self.default_lr["d"]
        g_params = [p for p in self.generator.parameters() if p.requires_grad]
        d_params = list(self.discriminator.parameters())
        fused = all(p.device.type in FUSED_ADAM_DEVICES for p in g_params + d_params)
        return {
            "g": torch.optim.Adam(g_params, lr=lr_g, betas=betas, fused=fused),
            "d": torch.optim.Adam(d_params, lr=lr_d, betas=betas, fused=fused),
        }


def optimizer_step(loss: Tensor, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    """Backward `loss` and step `opt`, through the GradScaler when there is one.

    With a scaler the caller calls `scaler.update()` once after all of the iteration's steps.
    """
    opt.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        opt.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(opt)


ModelFactory = Callable[[ModelConfig], ColorModel]
MODEL_REGISTRY: dict[str, type[ColorModel]] = {}


def register(cls: type[ColorModel]) -> type[ColorModel]:
    """Class decorator adding a model to `MODEL_REGISTRY` under `cls.name`."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} has no name")
    MODEL_REGISTRY[cls.name] = cls
    return cls


def build_model(config: ModelConfig) -> ColorModel:
    """Instantiate a registered model; a clear error lists the known names."""
    from colorcore import models  # noqa: F401  (importing the package registers every model)

    try:
        cls = MODEL_REGISTRY[config.name]
    except KeyError:
        known = ", ".join(sorted(MODEL_REGISTRY))
        raise ValueError(f"unknown model {config.name!r}; known models: {known}") from None
    return cls(config)
