"""Training failures as the user reads them: `TrainingError` and the table turning any exception raised
while training into a message and a suggestion (the CLI prints both, the Training tab shows both)."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import torch

from colorcore.models.checkpoint import CheckpointError
from colorcore.data.prepare import DatasetError
from colorcore.core.device import DeviceError
from colorcore.models.generator import ResNetWeightsError
from colorcore.training.runs import CHECKPOINT_DIR, LAST_CHECKPOINT
from colorcore.training.config import TrainConfig

# what torch.save's zip writer says when a write fails (it raises RuntimeError, not OSError)
TORCH_WRITER_FAILURES = ("PytorchStreamWriter", "inline_container", "unexpected pos")


class TrainingError(Exception):
    """A user-facing training failure with a suggestion (bad dataset, resume mismatch...)."""

    def __init__(self, message: str, suggestion: str = "") -> None:
        super().__init__(message)
        self.suggestion = suggestion


def error_message(exc: BaseException, config: TrainConfig) -> tuple[str, str]:
    """A human message and a suggestion for an exception raised while training."""
    if isinstance(exc, torch.OutOfMemoryError):
        return (f"out of memory on {config.device} at batch size {config.batch_size}",
                "lower --batch-size (or --width), or train on another device")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return (f"the disk is full: cannot write in {config.run_dir} ({_free_space(config.run_dir)})",
                f"free some space, or choose a run folder on another disk; {_what_is_kept(config)}")
    if isinstance(exc, RuntimeError) and any(text in str(exc) for text in TORCH_WRITER_FAILURES):
        return (f"cannot write a checkpoint in {Path(config.run_dir) / CHECKPOINT_DIR}: the disk is full or "
                f"failing ({_free_space(config.run_dir)})",
                f"free some space, or choose a run folder on another disk; {_what_is_kept(config)}")
    if isinstance(exc, TrainingError):
        return str(exc), exc.suggestion
    if isinstance(exc, DatasetError):
        return str(exc), "check the prepared dataset folder, or prepare it again with `colorcore prepare`"
    if isinstance(exc, CheckpointError):
        return str(exc), "start a new run in another folder, or train without --resume"
    if isinstance(exc, ResNetWeightsError):
        return str(exc), "use --resnet-weights none, or a local ResNet-18 file"
    if isinstance(exc, DeviceError):
        return str(exc), "use --device cpu or auto"
    if isinstance(exc, OSError):
        return f"cannot write in {config.run_dir}: {exc}", "check the run folder's permissions and free space"
    return f"{type(exc).__name__}: {exc}", ""


def _free_space(folder: str) -> str:
    try:
        return f"{shutil.disk_usage(folder).free / 1e6:.1f} MB free"
    except OSError:
        return "free space unknown"


def _what_is_kept(config: TrainConfig) -> str:
    """Whether a checkpoint survives the failure (--resume continues from it) or none was written yet."""
    if (Path(config.run_dir) / CHECKPOINT_DIR / LAST_CHECKPOINT).is_file():
        return f"the last checkpoint written ({CHECKPOINT_DIR}/{LAST_CHECKPOINT}) is kept: --resume continues from it"
    return "no checkpoint had been written yet, so the run starts again from the beginning"
