"""Events the engine emits and the callback protocol that listens to them.

The engine never calls a view: long jobs (prepare, train, downstream, a batch to colourise) take a
list of callbacks and call the hooks below. Every hook is optional; a callback implements only what
it needs. The GUI's workers turn these calls into Qt signals; the CLI turns them into tqdm bars.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Sequence

from colorcore.core.advice import Advice

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class ProgressEvent:
    """Generic progress of a job measured in items (photos, batches, configurations)."""

    done: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class StepEvent:
    """One optimisation step (rate-limited by the emitter)."""

    step: int
    epoch: int
    total_steps: int
    losses: dict[str, float]
    img_per_s: float
    time_s: float
    eta_s: float | None = None


@dataclass(frozen=True)
class EpochEvent:
    """End of an epoch with validation metrics (NaN when not computed)."""

    epoch: int
    step: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class SamplesEvent:
    """A small uint8 RGB image grid (rows of the model's visual names, e.g. gray | fake | real)."""

    epoch: int
    step: int
    image: np.ndarray
    path: str | None = None


@dataclass(frozen=True)
class CheckpointEvent:
    """A checkpoint was written atomically to `path`."""

    epoch: int
    step: int
    path: str


@dataclass(frozen=True)
class ErrorEvent:
    """A job failed; `message` is for humans, `suggestion` says what to try in words every front end
    shows as they are, `advice` which settings to change (each front end words it: `core.advice`)."""

    message: str
    suggestion: str = ""
    exception: BaseException | None = None
    advice: tuple[Advice, ...] = ()


@dataclass(frozen=True)
class NoticeEvent:
    """Something the user should know about a running job, once: `kind` names it (e.g. "resnet",
    "diverging"), `message` says what happened in plain words, `suggestion` what to try, `advice` which
    settings to change (as in `ErrorEvent`)."""

    kind: str
    message: str
    suggestion: str = ""
    step: int = 0
    advice: tuple[Advice, ...] = ()


@dataclass(frozen=True)
class ItemEvent:
    """One photo or video of a batch (`colorcore.inference.batch.colorize_many`) started, was done, failed or was
    stopped. `index` is its position in the batch; `message` names the file and the reason of a failure;
    `before`/`after` are uint8 RGB previews (its gray input and the result) of a done item when the
    batch was asked for them; `advice` which settings would let a failed one run (`core.advice`)."""

    STARTED: ClassVar[str] = "started"
    DONE: ClassVar[str] = "done"
    FAILED: ClassVar[str] = "failed"
    STOPPED: ClassVar[str] = "stopped"

    index: int
    status: str
    source: Path
    target: Path
    message: str = ""
    before: np.ndarray | None = None
    after: np.ndarray | None = None
    advice: tuple[Advice, ...] = ()


@dataclass(frozen=True)
class EndEvent:
    """A job ended: `status` is "finished", "stopped" or "failed"."""

    status: str
    summary: dict[str, Any] = field(default_factory=dict)


class Callback(Protocol):
    """Any object with some of these methods; missing ones are simply not called. A batch's
    `on_progress` counts its files and `on_item_progress` the current file's own steps (a video's frames)."""

    def on_progress(self, event: ProgressEvent) -> None: ...
    def on_step(self, event: StepEvent) -> None: ...
    def on_epoch_end(self, event: EpochEvent) -> None: ...
    def on_samples(self, event: SamplesEvent) -> None: ...
    def on_checkpoint(self, event: CheckpointEvent) -> None: ...
    def on_error(self, event: ErrorEvent) -> None: ...
    def on_notice(self, event: NoticeEvent) -> None: ...
    def on_item(self, event: ItemEvent) -> None: ...
    def on_item_progress(self, event: ProgressEvent) -> None: ...
    def on_end(self, event: EndEvent) -> None: ...


def emit(callbacks: Sequence[object], hook: str, event: object) -> None:
    """Call `hook(event)` on every callback that defines it."""
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(event)


class StopFlag:
    """Cooperative stop and pause, shared between a job and whoever controls it (thread-safe)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def request_stop(self) -> None:
        """Ask the job to stop at the next safe point (also releases a pause)."""
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        """Ask the job to wait at the next safe point until `resume` or `request_stop`."""
        self._running.clear()

    def resume(self) -> None:
        """Release a pause."""
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        """True once `request_stop` was called."""
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        """True while paused."""
        return not self._running.is_set()

    def wait_if_paused(self, timeout: float | None = None) -> None:
        """Block while paused (returns at once when not paused or when stopped)."""
        self._running.wait(timeout)


def should_stop(stop: StopFlag | None) -> bool:
    """A job's safe point: wait while `stop` is paused, then True when a stop was asked (False for None)."""
    if stop is None:
        return False
    stop.wait_if_paused()
    return stop.stop_requested
