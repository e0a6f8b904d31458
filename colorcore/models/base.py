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
import importlib
from collections.abc import MutableMapping
from dataclasses import dataclass, field, fields
from typing import Any, Callable, ClassVar, ContextManager, Iterator

import torch
from torch import Tensor, nn

from colorcore.models import losses
from colorcore.models.calibration import ChromaCalibration
from colorcore.core.options import OptionSpec, option, option_specs
from colorcore.models.settings import MAX_NETWORK_SIZE, PRESETS

Batch = dict[str, Tensor]
HYPERPARAMETERS = ("lr_g", "lr_d", "beta1", "lr_warmup_steps")  # ModelConfig fields a preset fills in


def _at_least_zero(value: float) -> str:
    return "" if value >= 0 else "must be 0 or more"


@dataclass(frozen=True)
class ModelOptions:
    """A model's own options: none here. A model declares its own in a subclass (fields made with
    `colorcore.core.options.option`) named by its `ColorModel.options_class`; the `colorcore train` flags,
    the Training tab's form and the saved `ModelConfig` follow from that one declaration."""


@dataclass(frozen=True)
class GANOptions(ModelOptions):
    """The options every GAN model of ours takes (`GANColorModel`)."""

    gan_loss: str = option("paper", "adversarial loss", label="GAN loss", choices=losses.GAN_LOSSES)
    lambda_l1: float = option(1.0, "weight of the L1 colour loss", label="\u03bb L1",
                              low=0.0, high=100.0, step=0.1, decimals=3)
    lambda_gan: float = option(0.5, "weight of the adversarial loss", label="\u03bb GAN",
                               low=0.0, high=100.0, step=0.1, decimals=3)


@dataclass(frozen=True, init=False)
class ModelConfig:
    """Everything needed to rebuild a model; saved in config.json and in exported model files.

    The fields are the settings every model shares; `options` holds the model's own (its
    `ColorModel.options_class`, e.g. the multipath loss weights and ResNet-18 path), also readable as
    attributes (`config.lambda_sal` is `config.options.lambda_sal`). `preset` picks the optimisation
    values a field left at None takes: "default" (ours: values that learn at small batches, measured by
    benchmarks/bench_learning.py) or "paper" (the paper's own values where it states them). `lr_g`,
    `lr_d`, `beta1` and `lr_warmup_steps` override the preset. `width` is the first encoder level's
    channel count (the paper's 64); tests and the demo use smaller widths.
    """

    name: str = "multipath"
    image_size: int = 64
    width: int = option(64, "first encoder level's channels", label="Width", low=4, high=256)
    preset: str = "default"
    lr_g: float | None = option(None, "generator learning rate", label="LR G", low=1e-6, high=1.0, step=1e-4,
                                decimals=6)
    lr_d: float | None = option(None, "discriminator learning rate", label="LR D", low=1e-6, high=1.0,
                                step=1e-5, decimals=6)
    beta1: float | None = option(None, "Adam beta1", label="Adam beta1", low=0.0, high=0.999, step=0.05,
                                 decimals=3)
    beta2: float = 0.999
    lr_warmup_steps: int | None = option(None, "steps over which the learning rates rise linearly from 0",
                                         label="LR warm-up steps", low=0, high=10**6, check=_at_least_zero)
    options: ModelOptions = field(default_factory=ModelOptions)

    def __init__(self, **settings: Any) -> None:
        """Shared settings and the model's options by name (or its options as `options=`). An option
        that another registered model declares but this one does not is dropped: files written before
        the options were per model carry the multipath ones for every model. Other names: TypeError."""
        given = settings.pop("options", None)
        for f in _shared_fields():
            object.__setattr__(self, f.name, settings.pop(f.name, f.default))
        unknown = set(settings) - _declared_option_names()
        if unknown:
            raise TypeError(f"ModelConfig got unknown setting(s): {', '.join(sorted(unknown))}")
        if given is not None:
            settings = {**_as_dict(given), **settings}
        options_class = _options_class(self.name)
        own = {f.name for f in fields(options_class)}
        object.__setattr__(self, "options", options_class(**{k: v for k, v in settings.items() if k in own}))
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}")

    def __getattr__(self, name: str) -> Any:
        """A model option by name; None for an option only other models declare (it does not apply)."""
        options = self.__dict__.get("options")
        if options is not None and name in _as_dict(options):
            return getattr(options, name)
        if not name.startswith("__") and name in _declared_option_names():
            return None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict: the shared settings and the model's options side by side."""
        return {**{f.name: getattr(self, f.name) for f in _shared_fields()}, **_as_dict(self.options)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """Inverse of `to_dict`; unknown keys, and options the model does not take, are ignored so
        older/newer files still load."""
        known = {f.name for f in _shared_fields()} | _declared_option_names()
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_(self, **changes: Any) -> "ModelConfig":
        """A copy with some settings or options changed (a new `name` keeps the options both models take)."""
        kept = self.to_dict()
        if "options" in changes:
            kept = {k: v for k, v in kept.items() if k not in _as_dict(self.options)}
        return ModelConfig(**{**kept, **changes})


def _shared_fields() -> tuple[Any, ...]:
    return tuple(f for f in fields(ModelConfig) if f.name != "options")


def _as_dict(options: ModelOptions) -> dict[str, Any]:
    return {f.name: getattr(options, f.name) for f in fields(options)}


def _options_class(name: str) -> type[ModelOptions]:
    """The options class of the registered model `name` (none for an unknown name: `build_model` says so)."""
    model_class = MODEL_REGISTRY.get(name)
    return model_class.options_class if model_class is not None else ModelOptions


def _declared_option_names() -> set[str]:
    return {f.name for model_class in MODEL_REGISTRY.values() for f in fields(model_class.options_class)}


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
    options_class: ClassVar[type[ModelOptions]] = ModelOptions  # the model's own options (`ModelConfig.options`)

    def __init__(self, config: ModelConfig, pretrained: bool = True) -> None:
        """`pretrained=False` builds the architecture without fetching pretrained parts (their
        weights are about to be loaded from a checkpoint or model file)."""
        super().__init__()
        self.config = config
        # smoothing and shrink of the chroma this model predicts when it colourises photos and videos
        # (`chroma.predict_chroma`); a model file's metadata may set it (`checkpoint.load_model`)
        self.calibration = ChromaCalibration()

    @classmethod
    def preset_epochs(cls, preset: str) -> int:
        """The number of epochs `preset` gives this model."""
        return int(cls.presets[preset]["epochs"])

    @classmethod
    def preset_values(cls, preset: str) -> dict[str, float]:
        """The hyperparameters `preset` gives this model."""
        return dict(cls.presets[preset])

    @classmethod
    def declared_options(cls) -> tuple[OptionSpec, ...]:
        """The options this model takes: the shared `ModelConfig` ones it uses (a preset-filled one
        only when its presets give it a value: lr_d and beta1 belong to the models with an Adam-trained
        discriminator), then its own (`options_class`)."""
        preset_keys = {key for values in cls.presets.values() for key in values}
        shared = [spec for spec in option_specs(ModelConfig)
                  if spec.name not in HYPERPARAMETERS or spec.name in preset_keys]
        return (*shared, *option_specs(cls.options_class))

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


def network_size(model: ColorModel, size: int | None = None) -> int:
    """The one size rule: the network input side `model` runs at for `size` (None: its trained size).

    A model runs at its trained size or, when fully convolutional, at a multiple of it up to
    `MAX_NETWORK_SIZE` (the multipath model trained at 64 runs at 128, 192, 256...); ValueError otherwise.
    This checks the numbers only; `check_inference_size` also proves that the model runs there."""
    trained = int(model.config.image_size)
    if size is None:
        return trained
    if size <= 0 or size % trained or size > MAX_NETWORK_SIZE:
        raise ValueError(f"inference size must be a positive multiple of the model's trained size {trained} up "
                         f"to {MAX_NETWORK_SIZE}, got {size}")
    return size


def check_inference_size(model: ColorModel, size: int | None = None) -> int:
    """`network_size`, proven: at a size other than the trained one a trial prediction must give an output
    of that size (a model that is not fully convolutional cannot run there). Raises ValueError otherwise;
    evaluation, comparison, colourisation and calibration all ask this."""
    size = network_size(model, size)
    if size == model.config.image_size:
        return size
    device = next((param.device for param in model.parameters()), torch.device("cpu"))
    was_training = model.training
    model.eval()
    try:
        rgb = model.predict(torch.zeros(1, 3, size, size, device=device))["rgb"]
    except RuntimeError as exc:
        raise ValueError(f"model {model.name!r} cannot run at inference size {size}: {exc}") from None
    finally:
        model.train(was_training)
    if tuple(rgb.shape[-2:]) != (size, size):
        raise ValueError(
            f"model {model.name!r} is not fully convolutional: input {size}x{size} gave "
            f"{rgb.shape[-2]}x{rgb.shape[-1]}; use its trained size {model.config.image_size}"
        )
    return size


FUSED_ADAM_DEVICES = ("cpu", "cuda")  # one fused kernel per parameter instead of ~10 small ops


class GANColorModel(ColorModel):
    """A generator and a discriminator, each with its own Adam (the paper's model, the scgan baseline).

    Subclasses build `self.generator` and `self.discriminator` (called as ``D(rgb, condition, logits=...)``)
    in `__init__` and write `training_step` from the shared parts: `discriminator_step`, then the
    generator's loss with `adversarial_loss` in it, then `generator_step`.
    """

    options_class: ClassVar[type[ModelOptions]] = GANOptions
    generator: nn.Module
    discriminator: nn.Module

    def __init__(self, config: ModelConfig, pretrained: bool = True) -> None:
        super().__init__(config, pretrained)
        self.uses_logits, self.d_loss, self.g_adversarial = losses.gan_loss_fns(config.options.gan_loss)

    def discriminator_step(self, real: Tensor, fake: Tensor, condition: Tensor,
                           optimizer: torch.optim.Optimizer, ctx: StepContext) -> Tensor:
        """One update of D on `real` and (detached) `fake` colour images, both conditioned on `condition`
        (the gray input), with the WGAN-GP penalty under that loss. Returns D's loss."""
        fake = fake.detach()
        n = real.shape[0]
        with ctx.autocast():
            # real and fake in one D call: the same result as two calls (D has no batch statistics)
            both = self.discriminator(torch.cat([real, fake]), torch.cat([condition, condition]),
                                      logits=self.uses_logits)
            loss = self.d_loss(both[:n].float(), both[n:].float())
        if self.config.options.gan_loss == "wgan-gp":
            loss = loss + losses.WGAN_GP_WEIGHT * losses.gradient_penalty(
                lambda x: self.plain_discriminator(x, condition, logits=True), real, fake.float()
            )
        optimizer_step(loss, optimizer, ctx.scaler)
        return loss

    def adversarial_loss(self, fake: Tensor, condition: Tensor) -> Tensor:
        """The generator's adversarial loss for `fake` (D's weights frozen: only D's input gets a
        gradient); call it inside ``ctx.autocast()`` with the rest of the generator's loss."""
        with self.frozen_discriminator() as plain_d:
            return self.g_adversarial(plain_d(fake, condition, logits=self.uses_logits).float())

    @staticmethod
    def generator_step(loss: Tensor, optimizer: torch.optim.Optimizer, ctx: StepContext) -> None:
        """Update G with `loss` and end the step (the GradScaler's update, when there is one)."""
        optimizer_step(loss, optimizer, ctx.scaler)
        if ctx.scaler is not None:
            ctx.scaler.update()

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
BUILTIN_MODEL_MODULES = ("colorcore.models.multipath", "colorcore.models.scgan", "colorcore.models.zhang")


class ModelRegistry(MutableMapping[str, type[ColorModel]]):
    """Model name -> class; the built-in models are imported (and so registered) when it is first read."""

    def __init__(self) -> None:
        self._classes: dict[str, type[ColorModel]] = {}
        self._loaded = False

    def _load(self) -> dict[str, type[ColorModel]]:
        if not self._loaded:
            self._loaded = True
            for module in BUILTIN_MODEL_MODULES:
                importlib.import_module(module)
        return self._classes

    def __setitem__(self, name: str, cls: type[ColorModel]) -> None:
        self._classes[name] = cls

    def __delitem__(self, name: str) -> None:
        del self._classes[name]

    def __getitem__(self, name: str) -> type[ColorModel]:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


MODEL_REGISTRY = ModelRegistry()


def register(cls: type[ColorModel]) -> type[ColorModel]:
    """Class decorator adding a model to `MODEL_REGISTRY` under `cls.name`."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} has no name")
    MODEL_REGISTRY[cls.name] = cls
    return cls


def registered_options() -> dict[str, dict[str, OptionSpec]]:
    """Every option the registered models take: option name -> {model name: that model's spec}
    (defaults may differ between models), shared options first: what the `colorcore train` flags
    and the Training tab's controls are made from."""
    table: dict[str, dict[str, OptionSpec]] = {}
    for model_name in sorted(MODEL_REGISTRY):
        for spec in MODEL_REGISTRY[model_name].declared_options():
            table.setdefault(spec.name, {})[model_name] = spec
    return table


def build_model(config: ModelConfig, pretrained: bool = True) -> ColorModel:
    """Instantiate a registered model; a clear error lists the known names. `pretrained=False`:
    the architecture only (weights come from a file next), nothing is downloaded or read."""
    try:
        cls = MODEL_REGISTRY[config.name]
    except KeyError:
        known = ", ".join(sorted(MODEL_REGISTRY))
        raise ValueError(f"unknown model {config.name!r}; known models: {known}") from None
    return cls(config, pretrained=pretrained)
