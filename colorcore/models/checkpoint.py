"""Checkpoints and model files: atomic writes, safe loading, `.safetensors` export.

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
from colorcore.models.calibration import CalibrationError, ChromaCalibration
from colorcore.training.runs import CHECKPOINT_DIR, LAST_CHECKPOINT, MODEL_FILE_NAME, RunFolder  # noqa: F401 (re-exported)
from colorcore.models.base import ColorModel, ModelConfig, build_model

CHECKPOINT_FORMAT = "colorcore-checkpoint"
CHECKPOINT_VERSION = 1
METADATA_KEY = "colorcore"
EPOCH_CHECKPOINT_PATTERN = "epoch_{:04d}.pt"
EPOCH_CHECKPOINT_GLOB = "epoch_*.pt"
MAX_IMAGE_SIZE = 2048  # the largest trained size a model file may declare

PathLike = str | os.PathLike[str]


class CheckpointError(Exception):
    """A checkpoint or model file is missing, corrupt, unsafe or not a ColorCore model."""


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
    """Load a ColorCore checkpoint with ``weights_only=True``; `CheckpointError` for anything else."""
    file = Path(path)
    if not file.is_file():
        raise CheckpointError(f"{file}: checkpoint not found")
    try:
        state = torch.load(file, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{file}: refused: the file needs code execution to load, not only weights "
            f"(only weights_only checkpoints are accepted) [{str(exc).splitlines()[0]}]"
        ) from None
    except Exception as exc:  # weights-only loading runs no code: any other failure means a damaged file
        detail = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{file}: corrupt or not a checkpoint ({detail})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{file}: not a ColorCore checkpoint")
    return state


def _model_config(data: Any, source: Path) -> ModelConfig:
    from colorcore.models.base import MODEL_REGISTRY

    if not isinstance(data, dict) or "name" not in data:
        raise CheckpointError(f"{source}: no model configuration inside")
    config = ModelConfig.from_dict(data)
    if config.name not in MODEL_REGISTRY:
        known = ", ".join(sorted(MODEL_REGISTRY))
        raise CheckpointError(f"{source}: unknown architecture {config.name!r} (known: {known})")
    size = config.image_size
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_IMAGE_SIZE:
        raise CheckpointError(f"{source}: its model configuration has image_size {size!r}; a model is trained at a "
                              f"whole number of pixels from 1 to {MAX_IMAGE_SIZE}")
    return config


def _check_finite(model: ColorModel, source: Path) -> None:
    """CheckpointError when the generator's weights hold NaN or infinity (it would colour every photo gray)."""
    broken = [name for name, tensor in model.generator.state_dict().items()
              if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
    if broken:
        raise CheckpointError(
            f"{source}: {len(broken)} of the generator's weight tensors hold NaN or infinite values (first: "
            f"{broken[0]}); the training that wrote it diverged: use an earlier checkpoint"
        )


def _build(config: ModelConfig, source: Path) -> ColorModel:
    # the weights come from the file: never download or read pretrained (ResNet) weights at load time
    try:
        return build_model(config, pretrained=False)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{source}: cannot build model {config.name!r}: {exc}") from None


def _load_state(net: nn.Module, state: dict[str, torch.Tensor], source: Path, what: str) -> None:
    try:
        net.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{source}: {what} weights do not fit the model ({first})") from None


def resolve_model_path(path: PathLike) -> Path:
    """The file `load_model` reads for `path`: a run folder's model.safetensors, else its best.pt,
    else its last.pt (`RunFolder.model_file`)."""
    source = Path(path)
    if source.is_dir():
        found = RunFolder(source).model_file()
        if found is not None:
            return found
        raise CheckpointError(
            f"{source}: no {MODEL_FILE_NAME} or {CHECKPOINT_DIR}/{LAST_CHECKPOINT} in this folder "
            "(is it a run folder?)"
        )
    if not source.exists():
        raise CheckpointError(f"{source}: file not found")
    if source.suffix not in (".pt", ".safetensors"):
        raise CheckpointError(f"{source}: not a model file (expected a run folder, .pt or .safetensors)")
    return source


def _read_safetensors(file: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        from safetensors import safe_open

        with safe_open(str(file), framework="pt") as handle:
            raw = (handle.metadata() or {}).get(METADATA_KEY)
        tensors = load_file(str(file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{file}: corrupt or not a safetensors file ({exc})") from None
    if raw is None:
        raise CheckpointError(f"{file}: not a ColorCore model (no '{METADATA_KEY}' metadata)")
    try:
        meta = json.loads(raw)
    except ValueError:
        raise CheckpointError(f"{file}: its ColorCore metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{file}: its ColorCore metadata is not an object")
    return meta, tensors


def load_model(path: PathLike, device: str | torch.device = "cpu") -> ColorModel:
    """A ready model (eval mode, on `device`) from a run folder, a `.pt` checkpoint or a `.safetensors` file.

    CheckpointError for anything unusable, checked here rather than mid-batch: an unsafe, damaged or
    foreign file, weights that do not fit, an image size no model can have, NaN or infinite weights."""
    file = resolve_model_path(path)
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
            raise CheckpointError(f"{file}: no network weights inside")
        for key, net in model.networks().items():
            if key not in nets:
                raise CheckpointError(f"{file}: no weights for network {key!r}")
            _load_state(net, nets[key], file, f"network {key!r}")
        model.calibration = _calibration(state.get("inference"), file)
    _check_finite(model, file)
    return model.to(device).eval()


def _calibration(inference: Any, file: Path) -> ChromaCalibration:
    """The chroma calibration of a model file's or checkpoint's "inference" entry (CheckpointError)."""
    try:
        return ChromaCalibration.from_metadata(inference, file)
    except CalibrationError as exc:
        raise CheckpointError(str(exc)) from None


def model_metadata(config: ModelConfig, summary: dict[str, Any]) -> dict[str, Any]:
    """The JSON metadata stored with an exported model."""
    from colorcore.models.base import MODEL_REGISTRY

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


def read_metadata(path: PathLike) -> dict[str, Any]:
    """The model metadata of a run folder, `.pt` checkpoint or `.safetensors` model file."""
    file = resolve_model_path(path)
    if file.suffix == ".safetensors":
        return _read_safetensors(file)[0]
    state = load_checkpoint(file)
    config = state.get("model_config")
    if not isinstance(config, dict) or "name" not in config:
        raise CheckpointError(f"{file}: no model configuration inside")
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
        raise CheckpointError(f"{source}: export needs a run folder or a .pt checkpoint")
    state = load_checkpoint(file)
    config_data = state.get("model_config")
    model = _build(_model_config(config_data, file), file)
    generator_state = (state.get("networks") or {}).get("g")
    if not isinstance(generator_state, dict):
        raise CheckpointError(f"{file}: no generator weights inside")
    _load_state(model.generator, generator_state, file, "generator")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.generator.state_dict().items()}
    meta = _with_inference(model_metadata(ModelConfig.from_dict(config_data), state.get("summary") or {}), state)
    _calibration(meta.get("inference"), file)  # refuse what load_model would refuse
    data = save(tensors, metadata={METADATA_KEY: json.dumps(meta)})
    return atomic_write(out, lambda handle: handle.write(data))
