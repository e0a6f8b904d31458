"""Run engine jobs in a QThread and turn their callback hooks into rate-limited Qt signals.

An engine job is any callable `job(callbacks: list, stop: StopFlag) -> object` (a prepare, a
training run, a downstream experiment, a batch to colourise). The worker hands it one bridge callback
that forwards every `on_*` hook to the GUI thread, where `JobWorker` re-emits it as a Qt signal; so
every public signal is emitted from the GUI thread and any connected slot, lambda included, may touch
widgets.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable, Iterator

from PySide6.QtCore import QCoreApplication, QObject, QThread, Qt, Signal, Slot

from colorcore.core.events import ErrorEvent, StopFlag

Job = Callable[[list, StopFlag], Any]

# hooks that fire often and carry only "the latest state": coalesced to at most one per interval
COALESCED_HOOKS = frozenset({"on_step", "on_progress", "on_frame", "on_item_progress"})
DEFAULT_MIN_INTERVAL_S = 0.05  # at most ~20 step/progress signals per second
_FINISHED = "__finished__"


class _Bridge:
    """The engine-side callback: forwards hooks to the worker, coalescing the frequent ones.

    Called only from the job's thread. A coalesced event that arrives too soon after the previous
    one is kept as pending and delivered before the next other event or at the end of the job, so
    the GUI always sees the latest step/progress.
    """

    def __init__(self, forward: Callable[[str, object], None], min_interval_s: float) -> None:
        self._forward = forward
        self._min_interval_s = min_interval_s
        self._last_sent: dict[str, float] = {}
        self._pending: dict[str, object] = {}
        self.error_seen = False

    def __getattr__(self, hook: str) -> Callable[[object], None]:
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        return lambda event: self.deliver(hook, event)

    def deliver(self, hook: str, event: object) -> None:
        """Forward one hook call (coalescing the frequent ones, `COALESCED_HOOKS`)."""
        if hook in COALESCED_HOOKS:
            now = time.monotonic()
            if now - self._last_sent.get(hook, float("-inf")) < self._min_interval_s:
                self._pending[hook] = event
                return
            self._pending.pop(hook, None)
            self._last_sent[hook] = now
            self._forward(hook, event)
            return
        self.flush()
        if hook == "on_error":
            self.error_seen = True
        self._forward(hook, event)

    def flush(self) -> None:
        """Deliver the coalesced events still pending."""
        pending, self._pending = self._pending, {}
        for hook, event in pending.items():
            self._last_sent[hook] = time.monotonic()
            self._forward(hook, event)


class _TorchThreadCap:
    """Caps torch's CPU threads while at least one job asks for it; restores the original number
    when the last such job ends (jobs may overlap)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._original = 0

    @contextlib.contextmanager
    def capped(self, threads: int) -> Iterator[None]:
        import torch

        with self._lock:
            if self._holders == 0:
                self._original = torch.get_num_threads()
            self._holders += 1
            torch.set_num_threads(max(1, min(threads, self._original)))
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    torch.set_num_threads(self._original)


    def uncapped(self) -> int:
        """torch's thread count without any job's cap."""
        import torch

        with self._lock:
            return self._original if self._holders else torch.get_num_threads()


_TORCH_THREADS = _TorchThreadCap()


def uncapped_torch_threads() -> int:
    """torch's CPU thread count as it is when no job caps it (for the status bar's device line)."""
    return _TORCH_THREADS.uncapped()


class _JobThread(QThread):
    def __init__(self, body: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._body = body

    def run(self) -> None:
        self._body()


class JobWorker(QObject):
    """One engine job in its own QThread, with its hooks as Qt signals (emitted on the GUI thread).

    Signals carry the engine's event objects unchanged (`ProgressEvent`, `StepEvent`, a video's
    `FrameEvent`, a colourise batch's `ItemEvent`, ...).
    `event(hook, obj)` fires for every hook, including ones without a named signal (e.g. the
    downstream experiment's `on_config_end`). `finished(result, error)` fires once, last, with the
    job's return value or the exception it raised (the other one is None). A job that raises without
    having emitted `on_error` gets a synthesised `ErrorEvent` on `error` first.
    """

    progress = Signal(object)
    step = Signal(object)
    epoch_end = Signal(object)
    samples = Signal(object)
    checkpoint = Signal(object)
    error = Signal(object)
    notice = Signal(object)
    frame = Signal(object)
    item = Signal(object)
    end = Signal(object)
    event = Signal(str, object)
    finished = Signal(object, object)

    _relay = Signal(str, object)

    def __init__(
        self,
        job: Job,
        name: str = "",
        parent: QObject | None = None,
        *,
        min_interval_s: float = DEFAULT_MIN_INTERVAL_S,
        torch_threads: int | None = None,
    ) -> None:
        """`name` labels the job in the status bar; `torch_threads` (if set) caps torch's CPU
        threads while the job runs, leaving a core to the GUI."""
        super().__init__(parent)
        self.name = name
        self._job = job
        self._stop = StopFlag()
        self._torch_threads = torch_threads
        self._min_interval_s = min_interval_s
        self._running = False
        self._result: Any = None
        self._exception: BaseException | None = None
        self._relay.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._thread = _JobThread(self._run_job, self)
        self._signals = {
            "on_progress": self.progress,
            "on_step": self.step,
            "on_epoch_end": self.epoch_end,
            "on_samples": self.samples,
            "on_checkpoint": self.checkpoint,
            "on_error": self.error,
            "on_notice": self.notice,
            "on_frame": self.frame,
            "on_item": self.item,
            "on_end": self.end,
        }

    # control (GUI thread)
    def start(self) -> None:
        """Start the job in its thread (once)."""
        if self._running or self._thread.isFinished():
            raise RuntimeError("a JobWorker runs its job once")
        self._running = True
        self._thread.start()

    def stop(self) -> None:
        """Ask the job to stop at its next safe point (also releases a pause)."""
        self._stop.request_stop()

    def pause(self) -> None:
        """Ask the job to wait at its next safe point."""
        self._stop.pause()

    def resume(self) -> None:
        """Release a pause."""
        self._stop.resume()

    @property
    def stop_flag(self) -> StopFlag:
        """The flag the job checks (shared)."""
        return self._stop

    def is_paused(self) -> bool:
        """True while a pause is requested."""
        return self._stop.paused

    def is_running(self) -> bool:
        """True from `start` until `finished` has been emitted."""
        return self._running

    def wait(self, timeout_ms: int = 10000) -> bool:
        """Block until the thread has ended (True) or the timeout passed (False); then deliver
        the signals still queued, so `finished` has fired when this returns True."""
        if not self._thread.isRunning():
            ended = True
        else:
            ended = self._thread.wait(timeout_ms)
        if ended:
            QCoreApplication.sendPostedEvents(self)
        return ended

    def stop_and_wait(self, timeout_ms: int = 10000) -> bool:
        """Stop the job and wait for its thread (see `wait`)."""
        self.stop()
        return self.wait(timeout_ms)

    # job thread
    def _run_job(self) -> None:
        bridge = _Bridge(self._relay.emit, self._min_interval_s)
        result: Any = None
        exception: BaseException | None = None
        try:
            with _TORCH_THREADS.capped(self._torch_threads) if self._torch_threads else contextlib.nullcontext():
                result = self._job([bridge], self._stop)
        except BaseException as exc:  # reported to the GUI, never lost in the thread
            exception = exc
        bridge.flush()
        if exception is not None and not bridge.error_seen:
            bridge.deliver("on_error", ErrorEvent(message=f"{type(exception).__name__}: {exception}", exception=exception))
        self._relay.emit(_FINISHED, (result, exception))

    # GUI thread
    @Slot(str, object)
    def _dispatch(self, hook: str, payload: object) -> None:
        if hook == _FINISHED:
            self._result, self._exception = payload  # type: ignore[misc]
            self._running = False
            self.finished.emit(self._result, self._exception)
            return
        signal = self._signals.get(hook)
        if signal is not None:
            signal.emit(payload)
        self.event.emit(hook, payload)

