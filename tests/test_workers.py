"""`app.workers.JobWorker`: engine jobs in a thread, step coalescing, pause/resume/stop, errors, torch
thread caps (offscreen Qt, real threads)."""

from __future__ import annotations

import threading
import time

from tests.gui_fixtures import *  # noqa: F401,F403

from colorcore.core.events import EndEvent, EpochEvent, ErrorEvent, ProgressEvent, StepEvent, StopFlag, emit
from app.workers import JobWorker

HANG_GUARD_MS = 120000  # how long a wait may take before the test calls it a hang: not a speed check


def _counting_job(n_steps: int, per_step_s: float = 0.0):
    """An engine-like job: emits steps and progress, an epoch end, honours stop and pause."""

    def job(callbacks: list, stop: StopFlag) -> int:
        done = 0
        for i in range(n_steps):
            stop.wait_if_paused()
            if stop.stop_requested:
                emit(callbacks, "on_end", EndEvent("stopped", {"steps": done}))
                return done
            if per_step_s:
                time.sleep(per_step_s)
            done += 1
            emit(callbacks, "on_step", StepEvent(i + 1, 0, n_steps, {"g": 1.0 / (i + 1)}, 10.0, 0.1))
            emit(callbacks, "on_progress", ProgressEvent(i + 1, n_steps))
        emit(callbacks, "on_epoch_end", EpochEvent(0, n_steps, {"psnr": 20.0}))
        emit(callbacks, "on_config_end", {"config": "frozen-1"})
        emit(callbacks, "on_end", EndEvent("finished", {"steps": done}))
        return done

    return job


def test_worker_coalesces_steps_but_keeps_last_and_every_epoch_end(qtbot):
    worker = JobWorker(_counting_job(2000), "count", min_interval_s=10.0)
    steps, hooks = [], []
    worker.step.connect(steps.append)
    worker.event.connect(lambda hook, _event: hooks.append(hook))
    with qtbot.waitSignal(worker.finished, timeout=HANG_GUARD_MS) as blocker:
        worker.start()
    assert blocker.args == [2000, None]
    assert not worker.is_running()
    # the first step goes out at once, the latest one is flushed before the epoch end
    assert [s.step for s in steps] == [1, 2000]
    assert hooks.count("on_epoch_end") == 1 and hooks.count("on_config_end") == 1
    assert hooks[-1] == "on_end"
    assert hooks.index("on_epoch_end") > max(i for i, h in enumerate(hooks) if h == "on_step")


def test_worker_pause_resume_stop(qtbot):
    worker = JobWorker(_counting_job(100000, per_step_s=0.001), "count")
    steps = []
    worker.step.connect(steps.append)
    worker.start()
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=HANG_GUARD_MS)
    worker.pause()
    assert worker.is_paused()
    qtbot.wait(200)
    frozen = steps[-1].step
    qtbot.wait(300)
    assert steps[-1].step - frozen <= 1  # at most the one in flight when paused
    worker.resume()
    qtbot.waitUntil(lambda: steps[-1].step > frozen + 1, timeout=HANG_GUARD_MS)
    ends = []
    worker.end.connect(ends.append)
    assert worker.stop_and_wait(HANG_GUARD_MS)
    assert ends and ends[0].status == "stopped"
    assert not worker.is_running()


def test_worker_reports_an_exception_as_error_then_finished(qtbot):
    def failing(callbacks: list, stop: StopFlag) -> None:
        raise OSError(28, "No space left on device")

    worker = JobWorker(failing, "fail")
    errors = []
    worker.error.connect(errors.append)
    with qtbot.waitSignal(worker.finished, timeout=HANG_GUARD_MS) as blocker:
        worker.start()
    result, exc = blocker.args
    assert result is None and isinstance(exc, OSError)
    assert len(errors) == 1 and isinstance(errors[0], ErrorEvent)
    assert "No space left" in errors[0].message and errors[0].exception is exc


def test_worker_does_not_duplicate_an_engine_error(qtbot):
    def failing(callbacks: list, stop: StopFlag) -> None:
        emit(callbacks, "on_error", ErrorEvent("bad dataset", "prepare it again"))
        raise ValueError("bad dataset")

    worker = JobWorker(failing, "fail")
    errors = []
    worker.error.connect(errors.append)
    with qtbot.waitSignal(worker.finished, timeout=HANG_GUARD_MS):
        worker.start()
    assert [e.message for e in errors] == ["bad dataset"]


def test_overlapping_jobs_cap_torch_threads_then_restore_them(qtbot):
    import torch

    original = torch.get_num_threads()
    seen: list[int] = []
    gate = threading.Event()

    def job(callbacks: list, stop: StopFlag) -> None:
        seen.append(torch.get_num_threads())
        gate.wait(30)

    first, second = JobWorker(job, "first", torch_threads=1), JobWorker(job, "second", torch_threads=1)
    first.start()
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=HANG_GUARD_MS)
    second.start()
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=HANG_GUARD_MS)
    from app.workers import uncapped_torch_threads
    from colorcore.core.device import describe_device

    uncapped = uncapped_torch_threads()  # what the status bar reports while jobs hold the cap
    gate.set()
    assert first.wait() and second.wait()
    assert seen == [1, 1] and torch.get_num_threads() == original
    assert uncapped == original
    assert describe_device("cpu", cpu_threads=uncapped).startswith(f"CPU, {original} thread")
