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

from colorcore.calibration import ChromaCalibration
from colorcore.presets import PRESETS

Batch = dict[str, Tensor]
HYPERPARAMETERS = ("lr_g", "lr_d", "beta1", "lr_warmup_steps")  # ModelConfig fields a preset fills in


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; saved in config.json and in exported model files.

    `preset` picks the optimisation values a field left at None takes: "default" (ours: values that
    learn at small batches, measured by benchmarks/bench_learning.py) or "paper" (the paper's own
    values where it states them). `lr_g`, `lr_d`, `beta1` and `lr_warmup_steps` override the preset.
    `width` is the first encoder level's channel count (the paper's 64); tests and the demo use
    smaller widths. `resnet_weights` ("auto", "imagenet", "none" or a file) is resolved to a concrete
    source before training ("auto": ImageNet when it can be had, else "none"); with "none" the
    multipath ResNet-18 path is left out unless `finetune_resnet` trains it from random weights.
    """

    name: str = "multipath"
    image_size: int = 64
    width: int = 64
    preset: str = "default"
    resnet_weights: str = "auto"
    finetune_resnet: bool = False
    gan_loss: str = "paper"
    lambda_l1: float = 1.0
    lambda_gan: float = 0.5
    lambda_sal: float = 0.5
    lambda_edge: float = 0.05
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float | None = None
    beta2: float = 0.999
    lr_warmup_steps: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}")

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
    # preset name -> values of HYPERPARAMETERS (lr_d only for models with a discriminator) and "epochs"
    # (the training length a run gets when it asks for none); docs/hyperparameters.md lists their sources
    presets: ClassVar[dict[str, dict[str, float]]] = {}
    uses_resnet: ClassVar[bool] = False  # has a ResNet-18 path whose `resnet_weights` are resolved

    def __init__(self, config: ModelConfig, pretrained: bool = True) -> None:
        """`pretrained=False` builds the architecture without fetching pretrained parts (their
        weights are about to be loaded from a checkpoint or model file)."""
        super().__init__()
        self.config = config
        # smoothing and shrink of the chroma this model predicts when it colourises photos and videos
        # (`colorize.predict_chroma`); a model file's metadata may set it (`checkpoint.load_model`)
        self.calibration = ChromaCalibration()

    @classmethod
    def preset_epochs(cls, preset: str) -> int:
        """The number of epochs `preset` gives this model."""
        return int(cls.presets[preset]["epochs"])

    @classmethod
    def preset_values(cls, preset: str) -> dict[str, float]:
        """The hyperparameters `preset` gives this model."""
        return dict(cls.presets[preset])

    def hyperparameter(self, key: str) -> float:
        """The value in use for a `HYPERPARAMETERS` field: the config's, else its preset's."""
        value = getattr(self.config, key)
        return value if value is not None else self.presets[self.config.preset][key]

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

    @property
    def plain_discriminator(self) -> nn.Module:
        """The discriminator without its DDP wrapper (the same weights).

        The WGAN-GP penalty differentiates D's output with respect to its input with
        `autograd.grad(create_graph=True)`, a double backward that DDP does not support: it runs on
        this module, and its weight gradients join the D loss's one backward, where DDP averages them.
        """
        return getattr(self.discriminator, "module", self.discriminator)

    @contextlib.contextmanager
    def frozen_discriminator(self) -> Iterator[nn.Module]:
        """The bare discriminator (no DDP wrapper) with its weights' gradients off, for the G step.

        The G step needs gradients with respect to D's input only: computing D's weight gradients
        there (and syncing them under DDP) is about a third of D's backward spent for nothing.
        """
        plain = self.plain_discriminator
        plain.requires_grad_(False)
        try:
            yield plain
        finally:
            plain.requires_grad_(True)

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.hyperparameter("beta1"), self.config.beta2)
        lr_g, lr_d = self.hyperparameter("lr_g"), self.hyperparameter("lr_d")
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


def build_model(config: ModelConfig, pretrained: bool = True) -> ColorModel:
    """Instantiate a registered model; a clear error lists the known names. `pretrained=False`:
    the architecture only (weights come from a file next), nothing is downloaded or read."""
    from colorcore import models  # noqa: F401  (importing the package registers every model)

    try:
        cls = MODEL_REGISTRY[config.name]
    except KeyError:
        known = ", ".join(sorted(MODEL_REGISTRY))
        raise ValueError(f"unknown model {config.name!r}; known models: {known}") from None
    return cls(config, pretrained=pretrained)
