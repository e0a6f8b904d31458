"""GUI responsiveness while a CPU training run is going; prints one JSON object.

A 10 ms QTimer runs on the GUI thread of the real main window (offscreen); its lateness (time
between firings minus 10 ms) is recorded in three phases of the same run:

- `idle`: nothing running (the timer's own jitter on this machine);
- `reference`: a plain set-up, the Trainer in a bare Python thread with torch's default threads
  (all cores) and no GUI updates;
- the Training tab's own set-up (top-level keys): started with its Start button logic, i.e. a
  JobWorker with torch threads capped at cores - 1, rate-limited step signals, live curves.

Keys: `p50_ms`, `p99_ms`, `max_ms` (the Training tab), the same for `idle` and `reference`,
and the training speed of both runs in img/s. Goal: p99 under 50 ms on 2 cores. Usage:

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_latency.py [--seconds 15] [--width 64]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

TIMER_MS = 10
PHOTO_PX = 96


def make_dataset(root: Path, photos: int) -> Path:
    """Write `photos` structured colour photos and prepare them at 64 px; returns the dataset."""
    from colorcore.data.prepare import prepare

    rng = np.random.default_rng(0)
    src = root / "photos"
    src.mkdir()
    ys, xs = np.mgrid[0:PHOTO_PX, 0:PHOTO_PX].astype(np.float32) / PHOTO_PX
    for i in range(photos):
        base, slope = rng.uniform(40, 215, 3), rng.uniform(-80, 80, (2, 3))
        image = np.clip(base + xs[..., None] * slope[0] + ys[..., None] * slope[1], 0, 255).astype(np.uint8)
        centre = tuple(int(v) for v in rng.integers(20, PHOTO_PX - 20, 2))
        cv2.circle(image, centre, int(rng.integers(8, 24)), tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
        cv2.imwrite(str(src / f"photo_{i:03d}.png"), image)
    out = root / "prepared"
    prepare(src, out, size=64, test_fraction=0.1, seed=0, workers=1)
    return out


def measure_lateness(seconds: float) -> list[float]:
    """Run the GUI event loop for `seconds` with a 10 ms timer; lateness of each firing in ms."""
    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, (now - last[0]) * 1000 - TIMER_MS))
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TIMER_MS)
    timer.timeout.connect(tick)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    last[0] = time.perf_counter()
    timer.start()
    loop.exec()
    timer.stop()
    return lateness


def summary(lateness: list[float]) -> dict[str, float]:
    """p50/p99/max in ms and the number of timer firings."""
    values = np.asarray(lateness) if lateness else np.zeros(1)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "max_ms": round(float(values.max()), 2),
        "ticks": len(lateness),
    }


class RateCollector:
    """Engine callback keeping the img/s of every logged step."""

    def __init__(self, rates: list[float]) -> None:
        self.rates = rates

    def on_step(self, event) -> None:  # noqa: ANN001 (a colorcore.core.events.StepEvent)
        self.rates.append(event.img_per_s)


def wait_until(app: QApplication, condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measuring time per phase")
    parser.add_argument("--width", type=int, default=32, help="model width (the paper: 64; smaller = more steps per second)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--photos", type=int, default=96)
    args = parser.parse_args()

    from app.main_window import MainWindow
    from app.devices import gui_torch_threads, usable_cores
    from colorcore.models.base import ModelConfig
    from colorcore.training.trainer import TrainConfig, Trainer
    from colorcore.core.events import StopFlag

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dataset = make_dataset(root, args.photos)
        window = MainWindow(QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(1280, 820)
        window.show()
        wait_until(app, window.is_engine_loaded, 120)
        idle = summary(measure_lateness(min(args.seconds, 5.0)))

        model = ModelConfig(width=args.width, resnet_weights="none")
        plain_config = TrainConfig(data=str(dataset), run_dir=str(root / "plain_run"), model=model, epochs=10_000,
                                   batch_size=args.batch_size, device="cpu")
        stop = StopFlag()
        reference_rates: list[float] = []
        collector = RateCollector(reference_rates)
        thread = threading.Thread(target=lambda: Trainer(plain_config, callbacks=[collector], stop=stop).run())
        thread.start()
        wait_until(app, lambda: bool(reference_rates), 300)  # past set-up, into the steps
        reference_rates.clear()
        reference = summary(measure_lateness(args.seconds))
        stop.request_stop()
        while thread.is_alive():
            app.processEvents()
            thread.join(0.05)

        tab = window.training_tab
        tab.set_dataset(str(dataset))
        tab.run_edit.setText(str(root / "gui_run"))
        tab.width_spin.setValue(args.width)
        tab.resnet_combo.setCurrentText("none")
        tab.batch_spin.setValue(args.batch_size)
        tab.epochs_spin.setValue(10_000)
        gui_rates: list[float] = []
        if not tab.start_training():
            raise SystemExit("the Training tab refused to start")
        wait_until(app, lambda: tab.steps_seen >= 1, 300)
        tab._worker.step.connect(lambda event: gui_rates.append(event.img_per_s))
        ours = summary(measure_lateness(args.seconds))
        tab.stop_training()
        wait_until(app, lambda: not tab.is_busy(), 120)
        window.shutdown()

    print(json.dumps({
        **ours,
        "idle": idle,
        "reference": reference,
        "gui_train_img_s": round(float(np.mean(gui_rates)) if gui_rates else 0.0, 1),
        "reference_train_img_s": round(float(np.mean(reference_rates)) if reference_rates else 0.0, 1),
        "gui_steps_shown": tab.steps_seen,
        "torch_threads_gui": gui_torch_threads(),
        "torch_threads_reference": torch.get_num_threads(),
        "usable_cores": usable_cores(),
        "timer_ms": TIMER_MS,
        "seconds_per_phase": args.seconds,
        "model": {"name": "multipath", "width": args.width, "batch_size": args.batch_size, "image_size": 64},
        "device": window.device_description,
    }, indent=2))


if __name__ == "__main__":
    main()
