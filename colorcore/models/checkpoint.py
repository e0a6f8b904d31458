"""The one way to open a model, and checkpoints and model files: atomic writes, safe loading, export.

`load_model(source, device)` opens "starter" (the bundled starter model), a run folder (its model file:
`RunFolder.model_file`), a `.pt` checkpoint or a `.safetensors` model file; `resolve_model_path` says which
file that is. Anything unusable is a `ModelFileError` naming the file and the problem, so every front end
words it one way. The size a model runs at is `colorcore.models.base.network_size`'s rule.

A checkpoint (`checkpoints/last.pt`, `checkpoints/epoch_NNNN.pt`) is a dict of tensors and plain
Python values only (RNG states included, converted to tensors and lists), so it loads with
``torch.load(..., weights_only=True)``; anything that needs more than that is refused, never run.
A model file (`model.safetensors`) holds the generator's weights and a JSON metadata entry; loading
one never executes code.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from colorcore import __version__
from colorcore.core.atomic import atomic_write
from colorcore.core.device import resolve_device
from colorcore.models.base import MODEL_REGISTRY, ColorModel, ModelConfig, build_model
from colorcore.models.calibration import CalibrationError, ChromaCalibration
from colorcore.models.settings import MAX_NETWORK_SIZE, MODEL_SUFFIXES, STARTER, starter_model_path
from colorcore.training.runs import CHECKPOINT_DIR, LAST_CHECKPOINT, MODEL_FILE_NAME, RunFolder

CHECKPOINT_FORMAT = "colorcore-checkpoint"
CHECKPOINT_VERSION = 1
METADATA_KEY = "colorcore"
EPOCH_CHECKPOINT_PATTERN = "epoch_{:04d}.pt"
EPOCH_CHECKPOINT_GLOB = "epoch_*.pt"

PathLike = str | os.PathLike[str]


class ModelFileError(Exception):
    """A model cannot be opened from `path`: missing, corrupt, unsafe, not a ColorCore model, weights that
    do not fit... `problem` says which; the text is "PATH: PROBLEM"."""

    def __init__(self, path: PathLike, problem: str) -> None:
        super().__init__(str(path), problem)
        self.path = str(path)
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


CheckpointError = ModelFileError  # its name in 0.1, kept for code that imports it (goes in 0.3)


def save_checkpoint(path: PathLike, state: dict[str, Any]) -> Path:
    """Write a checkpoint dict atomically (see `make_checkpoint` for its contents)."""
    return atomic_write(path, lambda handle: torch.save(state, handle))


def unwrap(module: nn.Module) -> nn.Module:
    """The plain network inside a DistributedDataParallel (or compiled) wrapper."""
    while True:
        inner = getattr(module, "module", None) or getattr(module, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return module
        module = inner


def network_states(model: ColorModel) -> dict[str, dict[str, torch.Tensor]]:
    """State dicts of every network of `model`, unwrapped from DDP."""
    return {key: unwrap(net).state_dict() for key, net in model.networks().items()}


def make_checkpoint(
    model: ColorModel, optimizers: dict[str, torch.optim.Optimizer], **extra: Any
) -> dict[str, Any]:
    """A checkpoint dict: format, version, model config, networks, optimisers and `extra` fields."""
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "version": __version__,
        "model_config": model.config.to_dict(),
        "networks": network_states(model),
        "optimizers": {key: opt.state_dict() for key, opt in optimizers.items()},
        **extra,
    }


def load_checkpoint(path: PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a ColorCore checkpoint with ``weights_only=True``; `ModelFileError` for anything else."""
    file = Path(path)
    if not file.is_file():
        raise ModelFileError(file, "checkpoint not found")
    try:
        state = torch.load(file, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelFileError(
            file, "refused: the file needs code execution to load, not only weights "
            f"(only weights_only checkpoints are accepted) [{str(exc).splitlines()[0]}]"
        ) from None
    except Exception as exc:  # weights-only loading runs no code: any other failure means a damaged file
        detail = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ModelFileError(file, f"corrupt or not a checkpoint ({detail})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ModelFileError(file, "not a ColorCore checkpoint")
    return state


def _model_config(data: Any, source: Path) -> ModelConfig:
    if not isinstance(data, dict) or "name" not in data:
        raise ModelFileError(source, "no model configuration inside")
    config = ModelConfig.from_dict(data)
    if config.name not in MODEL_REGISTRY:
        known = ", ".join(sorted(MODEL_REGISTRY))
        raise ModelFileError(source, f"unknown architecture {config.name!r} (known: {known})")
    size = config.image_size
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_NETWORK_SIZE:
        raise ModelFileError(source, f"its model configuration has image_size {size!r}; a model is trained at "
                                     f"a whole number of pixels from 1 to {MAX_NETWORK_SIZE}")
    return config


def _check_finite(model: ColorModel, source: Path) -> None:
    """ModelFileError when the generator's weights hold NaN or infinity (it would colour every photo gray)."""
    broken = [name for name, tensor in model.generator.state_dict().items()
              if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
    if broken:
        raise ModelFileError(
            source, f"{len(broken)} of the generator's weight tensors hold NaN or infinite values (first: "
            f"{broken[0]}); the training that wrote it diverged: use an earlier checkpoint"
        )


def _build(config: ModelConfig, source: Path) -> ColorModel:
    # the weights come from the file: never download or read pretrained (ResNet) weights at load time
    try:
        return build_model(config, pretrained=False)
    except (ValueError, TypeError) as exc:
        raise ModelFileError(source, f"cannot build model {config.name!r}: {exc}") from None


def _load_state(net: nn.Module, state: dict[str, torch.Tensor], source: Path, what: str) -> None:
    try:
        net.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(source, f"{what} weights do not fit the model ({first})") from None


def resolve_model_path(source: PathLike | None) -> Path:
    """The file `load_model` reads for `source`: the bundled starter model for "starter" (or None), a run
    folder's model.safetensors, else its best.pt, else its last.pt (`RunFolder.model_file`), else the
    `.pt` or `.safetensors` file itself. ModelFileError when there is none."""
    if source is None or str(source) == STARTER:
        try:
            return starter_model_path()
        except FileNotFoundError as exc:
            raise ModelFileError(STARTER, str(exc)) from None
    path = Path(source).expanduser()
    if path.is_dir():
        found = RunFolder(path).model_file()
        if found is not None:
            return found
        raise ModelFileError(path, f"no {MODEL_FILE_NAME} or {CHECKPOINT_DIR}/{LAST_CHECKPOINT} in this folder "
                                   "(is it a run folder?)")
    if not path.exists():
        raise ModelFileError(path, "file not found")
    if path.suffix not in MODEL_SUFFIXES:
        raise ModelFileError(path, "not a model file (expected a run folder, .pt or .safetensors)")
    return path


def _read_safetensors(file: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        from safetensors import safe_open

        with safe_open(str(file), framework="pt") as handle:
            raw = (handle.metadata() or {}).get(METADATA_KEY)
        tensors = load_file(str(file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(file, f"corrupt or not a safetensors file ({exc})") from None
    if raw is None:
        raise ModelFileError(file, f"not a ColorCore model (no '{METADATA_KEY}' metadata)")
    try:
        meta = json.loads(raw)
    except ValueError:
        raise ModelFileError(file, "its ColorCore metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise ModelFileError(file, "its ColorCore metadata is not an object")
    return meta, tensors


def load_model(source: PathLike | None, device: str | torch.device = "cpu") -> ColorModel:
    """A ready model (eval mode, on `device`) from "starter" (or None), a run folder, a `.pt` checkpoint or a
    `.safetensors` file (`resolve_model_path`). `device` is a torch device or a name ("auto", "cpu",
    "cuda:1"...: `resolve_device`, whose `DeviceError` says when it is not there).

    ModelFileError for anything unusable, checked here rather than mid-batch: a missing, unsafe, damaged or
    foreign file, weights that do not fit, an image size no model can have, NaN or infinite weights, and
    any other failure to load it (a damaged file can fail deep inside torch)."""
    target = resolve_device(device) if isinstance(device, str) else device
    file = resolve_model_path(source)
    try:
        return _read_model(file).to(target).eval()
    except ModelFileError:
        raise
    except Exception as exc:  # weights-only loading runs no code: whatever else fails is the file's problem
        raise ModelFileError(file, f"cannot be loaded ({type(exc).__name__}: {exc})") from exc


def _read_model(file: Path) -> ColorModel:
    """The model of a resolved `.pt` or `.safetensors` file, on the CPU (ModelFileError)."""
    if file.suffix == ".safetensors":
        meta, tensors = _read_safetensors(file)
        model = _build(_model_config(meta.get("model_config"), file), file)
        _load_state(model.generator, tensors, file, "generator")
        model.calibration = _calibration(meta.get("inference"), file)
    else:
        state = load_checkpoint(file)
        model = _build(_model_config(state.get("model_config"), file), file)
        nets = state.get("networks")
        if not isinstance(nets, dict):
            raise ModelFileError(file, "no network weights inside")
        for key, net in model.networks().items():
            if key not in nets:
                raise ModelFileError(file, f"no weights for network {key!r}")
            _load_state(net, nets[key], file, f"network {key!r}")
        model.calibration = _calibration(state.get("inference"), file)
    _check_finite(model, file)
    return model


def _calibration(inference: Any, file: Path) -> ChromaCalibration:
    """The chroma calibration of a model file's or checkpoint's "inference" entry (ModelFileError)."""
    try:
        return ChromaCalibration.from_metadata(inference, file)
    except CalibrationError as exc:
        raise ModelFileError(file, str(exc).removeprefix(f"{file}: ")) from None


def model_metadata(config: ModelConfig, summary: dict[str, Any]) -> dict[str, Any]:
    """The JSON metadata stored with an exported model."""
    cls = MODEL_REGISTRY.get(config.name)
    meta = {
        "architecture": config.name,
        "model_config": config.to_dict(),
        "image_size": config.image_size,
        "colour_space": cls.colour_space if cls is not None else "rgb",
        "training": summary,
        "version": __version__,
    }
    if getattr(cls, "uses_resnet", False):
        from colorcore.models.generator import resnet_role

        from colorcore.models.generator import resolve_trunk
        from colorcore.models.trunks import TRUNK_DESCRIPTIONS

        meta["resnet"] = {"weights": config.resnet_weights,
                          "role": resnet_role(config.resnet_weights, config.finetune_resnet)}
        trunk = resolve_trunk(config.trunk, config.resnet_weights, config.finetune_resnet)
        meta["trunk"] = {"name": trunk, "description": TRUNK_DESCRIPTIONS[trunk]}
    return meta


def read_metadata(path: PathLike | None) -> dict[str, Any]:
    """The model metadata of "starter", a run folder, `.pt` checkpoint or `.safetensors` model file."""
    file = resolve_model_path(path)
    if file.suffix == ".safetensors":
        return _read_safetensors(file)[0]
    state = load_checkpoint(file)
    config = state.get("model_config")
    if not isinstance(config, dict) or "name" not in config:
        raise ModelFileError(file, "no model configuration inside")
    return _with_inference(model_metadata(ModelConfig.from_dict(config), state.get("summary") or {}), state)


def _with_inference(meta: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """`meta` with the checkpoint's "inference" entry (the chroma calibration a run started from trained
    weights inherits from them), when it has one."""
    inference = state.get("inference")
    return {**meta, "inference": inference} if isinstance(inference, dict) else meta


def export_model(src: PathLike, out: PathLike) -> Path:
    """Write the generator of a run folder (its `RunFolder.export_source`: best.pt, else last.pt) or of a
    `.pt` checkpoint to `out` (.safetensors), atomically, with the checkpoint's chroma calibration."""
    from safetensors.torch import save

    source = Path(src)
    file = RunFolder(source).export_source() if source.is_dir() else source
    if file.suffix != ".pt":
        raise ModelFileError(source, "export needs a run folder or a .pt checkpoint")
    state = load_checkpoint(file)
    config_data = state.get("model_config")
    model = _build(_model_config(config_data, file), file)
    generator_state = (state.get("networks") or {}).get("g")
    if not isinstance(generator_state, dict):
        raise ModelFileError(file, "no generator weights inside")
    _load_state(model.generator, generator_state, file, "generator")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.generator.state_dict().items()}
    meta = _with_inference(model_metadata(ModelConfig.from_dict(config_data), state.get("summary") or {}), state)
    _calibration(meta.get("inference"), file)  # refuse what load_model would refuse
    data = save(tensors, metadata={METADATA_KEY: json.dumps(meta)})
    return atomic_write(out, lambda handle: handle.write(data))
