"""Training failures as the user reads them: `TrainingError` and the table turning any exception raised
while training into an `ErrorEvent`: a message, a suggestion and structured advice (which settings to
change), which the CLI words with its flags and the Training tab with its controls' labels."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import Sequence

import torch

from colorcore.core.advice import LOWER, OFF, OTHER, REDO, Advice, AdvisedError, advice_of
from colorcore.core.events import ErrorEvent
from colorcore.models.checkpoint import ModelFileError
from colorcore.data.prepared import DatasetError
from colorcore.core.device import DeviceError
from colorcore.models.generator import ResNetWeightsError
from colorcore.training.runs import CHECKPOINT_DIR, LAST_CHECKPOINT
from colorcore.training.config import TrainConfig

# what torch.save's zip writer says when a write fails (it raises RuntimeError, not OSError)
TORCH_WRITER_FAILURES = ("PytorchStreamWriter", "inline_container", "unexpected pos")


class TrainingError(AdvisedError):
    """A user-facing training failure (bad dataset, resume mismatch...): `suggestion` says what to try in
    words every front end shows as they are, `advice` which settings to change."""

    def __init__(self, message: str, suggestion: str = "", advice: Sequence[Advice] = ()) -> None:
        super().__init__(message, advice)
        self.suggestion = suggestion


# what changes after a failure the table below recognises
SMALLER_RUN = (Advice("batch_size", LOWER), Advice("width", LOWER), Advice("device", OTHER))
ANOTHER_RUN_FOLDER = (Advice("run_dir", OTHER),)
PREPARE_AGAIN = (Advice("data", REDO),)
FRESH_RUN = (Advice("run_dir", OTHER), Advice("resume", OFF))


def error_event(exc: BaseException, config: TrainConfig) -> ErrorEvent:
    """The `ErrorEvent` of an exception raised while training: a message, a suggestion in plain words and
    the advice (the exception's own first)."""
    message, suggestion, advice = _explain(exc, config)
    return ErrorEvent(message, suggestion, exc, tuple(dict.fromkeys(advice_of(exc) + advice)))


def _explain(exc: BaseException, config: TrainConfig) -> tuple[str, str, tuple[Advice, ...]]:
    if isinstance(exc, torch.OutOfMemoryError):
        return f"out of memory on {config.device} at batch size {config.batch_size}", "", SMALLER_RUN
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return (f"the disk is full: cannot write in {config.run_dir} ({_free_space(config.run_dir)}); "
                f"{_what_is_kept(config)}", "free some space", ANOTHER_RUN_FOLDER)
    if isinstance(exc, RuntimeError) and any(text in str(exc) for text in TORCH_WRITER_FAILURES):
        return (f"cannot write a checkpoint in {Path(config.run_dir) / CHECKPOINT_DIR}: the disk is full or "
                f"failing ({_free_space(config.run_dir)}); {_what_is_kept(config)}", "free some space",
                ANOTHER_RUN_FOLDER)
    if isinstance(exc, TrainingError):
        return str(exc), exc.suggestion, ()
    if isinstance(exc, DatasetError):
        return str(exc), "check the prepared dataset folder", PREPARE_AGAIN
    if isinstance(exc, ModelFileError):
        return str(exc), "", FRESH_RUN
    if isinstance(exc, (ResNetWeightsError, DeviceError)):  # their advice is their own
        return str(exc), "", ()
    if isinstance(exc, OSError):
        return f"cannot write in {config.run_dir}: {exc}", "check the run folder's permissions and free space", ()
    return f"{type(exc).__name__}: {exc}", "", ()


def _free_space(folder: str) -> str:
    try:
        return f"{shutil.disk_usage(folder).free / 1e6:.1f} MB free"
    except OSError:
        return "free space unknown"


def _what_is_kept(config: TrainConfig) -> str:
    """Whether a checkpoint survives the failure (resuming continues from it) or none was written yet."""
    if (Path(config.run_dir) / CHECKPOINT_DIR / LAST_CHECKPOINT).is_file():
        return f"the last checkpoint written ({CHECKPOINT_DIR}/{LAST_CHECKPOINT}) is kept: resuming continues from it"
    return "no checkpoint had been written yet, so the run starts again from the beginning"
