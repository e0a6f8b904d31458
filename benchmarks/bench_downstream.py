"""Speed of the CIFAR-10 experiment (Table 1) on CPU; prints JSON.

Measured (`measured`): the six-configuration, one-seed table run for real (`run_downstream`, as the CLI
runs it) for each preset (`paper`: until validation stops improving; `quick`: 5 epochs) at a reduced size:
`--scale` times the default image counts, on synthetic CIFAR-format batches with a learnable class signal.
Each preset reports its wall-clock minutes, the epochs each configuration ran, and
`minutes_per_table_epoch` (one epoch of all six configurations). A run's cost grows with its image count,
so `full_size_minutes` scales the measured minutes by 1 / `--scale`; for the paper preset the number of
epochs depends on the data (when validation stops improving), so on real CIFAR-10 it is
`minutes_per_table_epoch` / `--scale` times the epochs it runs, between patience + 1 and the cap.

Speed of the step against a plain reference: builds each configuration's classifier from a full-width
(64) multipath encoder on the default subset sizes and times what one run does: the frozen-feature
cache (once per configuration), training steps, the per-epoch validation pass and the final test
pass. The fastest of `steps` timed steps per configuration (best of N, the least disturbed by other
jobs) is extrapolated to a full epoch; `table_minutes` estimates the quick table from that.

The reference, measured in the same run, is a plain loop: fp32, contiguous (not channels_last)
tensors, frozen blocks recomputed for every batch (no feature cache). Wall-clock numbers are the
headline; `cpu_seconds_*` divide process CPU time by the thread count, an estimate of the wall time
on idle cores when other jobs share the machine (see `load_average_1min`).

    python benchmarks/bench_downstream.py [--scale 0.1] [--presets paper quick] [--steps 8] [--threads N]
                                          [--work DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorcore.downstream import experiment as ds  # noqa: E402
from colorcore.downstream.cifar import CIFAR_FOLDER, NUM_CLASSES, TEST_BATCH, TRAIN_BATCHES, load_cifar10, stratified_subset  # noqa: E402
from colorcore.core.device import describe_device  # noqa: E402
from colorcore.models.base import ModelConfig, build_model  # noqa: E402

WARMUP_STEPS = 2
GOAL_TABLE_MINUTES = 20


def write_synthetic_cifar(root: Path, settings: ds.DownstreamSettings) -> None:
    """CIFAR-format batches just large enough for the subset (training and validation images, test images):
    noisy pixels with a faint class-dependent brightness, so a classifier learns slowly, as on real photos."""
    folder = root / CIFAR_FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    labelled = settings.train_size + settings.val_size
    per_train_batch = -(-labelled // len(TRAIN_BATCHES) // NUM_CLASSES) * NUM_CLASSES + NUM_CLASSES
    for name, count in [(n, per_train_batch) for n in TRAIN_BATCHES] + [(TEST_BATCH, settings.test_size)]:
        labels = rng.permutation(np.arange(count) % NUM_CLASSES)
        noise = rng.normal(128.0, 60.0, (count, 3072)) + (labels[:, None] - 4.5) * 4.0
        data = np.clip(noise, 0, 255).astype(np.uint8)
        (folder / name).write_bytes(pickle.dumps({b"data": data, b"labels": labels.tolist()}, protocol=2))


def measure_preset(preset: str, scale: float, encoder: ds.Encoder, root: Path) -> dict[str, object]:
    """The one-seed table of `preset` run for real at `scale` times the default image counts."""
    full = ds.DownstreamSettings.for_protocol(preset, seeds=1)
    size = {k: max(NUM_CLASSES, round(getattr(full, k) * scale / NUM_CLASSES) * NUM_CLASSES)
            for k in ("train_size", "val_size", "test_size")}
    settings = ds.DownstreamSettings.for_protocol(preset, seeds=1, **size)
    cifar_root = root / f"cifar-{preset}"
    write_synthetic_cifar(cifar_root, settings)
    cifar = load_cifar10(cifar_root, verify=False)
    with Clock() as clock:
        result = ds.run_downstream(settings, encoder, cifar, root / f"out-{preset}", device="cpu")
    runs = json.loads((root / f"out-{preset}" / "runs.json").read_text())["runs"]
    epochs = {r["config"]: r["epochs"] for r in runs}
    table_epochs = sum(epochs.values()) / len(epochs)
    minutes = clock.wall / 60.0
    return {
        "status": result.status, "images": size, "scale": scale, "epochs_run": epochs,
        "best_epochs": {r["config"]: r["best_epoch"] for r in runs},
        "wall_minutes": round(minutes, 2), "cpu_minutes_per_thread": round(clock.cpu / 60.0 / torch.get_num_threads(), 2),
        "minutes_per_table_epoch": round(minutes / table_epochs, 3),
        "full_size_minutes": round(minutes / scale, 1),
        "full_size_minutes_per_table_epoch": round(minutes / table_epochs / scale, 2),
        "patience": settings.patience, "max_epochs": settings.epochs,
    }


class Clock:
    """Wall and process-CPU seconds of a block (CPU time stays meaningful when other jobs share the cores)."""

    def __enter__(self) -> "Clock":
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def time_config(
    encoder: ds.Encoder, config: str, splits: ds.SplitTensors, settings: ds.DownstreamSettings,
    steps: int, optimised: bool,
) -> dict[str, dict[str, float]]:
    """{"wall"|"cpu": {"epoch_s", "once_s"}}: the once-per-run work (cache + test pass) and one epoch
    (training steps extrapolated to the epoch's batches + the validation pass)."""
    device = splits.train_x.device
    autocast = ds.autocast_for(device) if optimised else (lambda: torch.autocast(device.type, enabled=False))
    model = ds.build_classifier(encoder, config, 0, settings)
    data = splits
    if optimised:
        model.to(memory_format=torch.channels_last)
    else:
        data = ds.SplitTensors(*(t.contiguous() for t in (data.train_x, data.train_y, data.val_x, data.val_y,
                                                            data.test_x, data.test_y)))
    with Clock() as cache_clock:
        cached = ds.cache_frozen_features(model, splits, autocast) if optimised else None
    data = cached if cached is not None else data
    forward = model.trainable_forward if cached is not None else model
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=settings.lr)
    model.train()
    n = data.train_x.shape[0]
    order = torch.randperm(n)
    clocks = []
    for k in range(WARMUP_STEPS + steps):
        idx = order[(k * settings.batch_size) % n:][: settings.batch_size]
        with Clock() as clock:
            with autocast():
                logits = forward(data.train_x[idx]).float()
            loss = F.cross_entropy(logits, data.train_y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        clocks.append(clock)
    model.eval()
    with Clock() as val_clock:
        ds.evaluate(forward, data.val_x, data.val_y, autocast)
    with Clock() as test_clock:
        ds.evaluate(forward, data.test_x, data.test_y, autocast)
    steps_per_epoch = len(ds.epoch_batches(torch.arange(n), settings.batch_size))
    result = {}
    for kind in ("wall", "cpu"):
        step_s = min(getattr(c, kind) for c in clocks[WARMUP_STEPS:])  # best of N: least disturbed
        result[kind] = {
            "epoch_s": steps_per_epoch * step_s + getattr(val_clock, kind),
            "once_s": getattr(cache_clock, kind) + getattr(test_clock, kind),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="timed training steps per configuration")
    parser.add_argument("--scale", type=float, default=0.1,
                        help="image counts of the measured tables, as a share of the defaults (default %(default)s)")
    parser.add_argument("--presets", nargs="*", default=["paper", "quick"],
                        help="presets whose table is run for real (none: skip)")
    parser.add_argument("--work", type=Path, default=None,
                        help="a new folder for the synthetic batches and the tables (default: a temporary one)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = ds.DownstreamSettings.for_protocol("quick", seeds=1)
    device = torch.device("cpu")
    torch.manual_seed(0)
    encoder = ds.encoder_from_generator(build_model(ModelConfig(resnet_weights="none")).generator)
    with tempfile.TemporaryDirectory() if args.work is None else contextlib.nullcontext(args.work) as tmp:
        Path(tmp).mkdir(parents=True, exist_ok=True)
        load_before = round(os.getloadavg()[0], 2)
        measured = {preset: measure_preset(preset, args.scale, encoder, Path(tmp)) for preset in args.presets}
        write_synthetic_cifar(Path(tmp) / "step", settings)
        cifar = load_cifar10(Path(tmp) / "step", verify=False)
    subset = stratified_subset(cifar.train_labels, cifar.test_labels, train_size=settings.train_size,
                               val_size=settings.val_size, test_size=settings.test_size, seed=0)
    splits = ds.prepare_splits(cifar, subset, settings, device)
    per_config = {}
    for config in settings.configs:
        ours = time_config(encoder, config, splits, settings, args.steps, optimised=True)
        plain = time_config(encoder, config, splits, settings, args.steps, optimised=False)
        per_config[config] = {"ours": ours, "reference": plain}

    def table_minutes(side: str, clock: str) -> float:
        return sum(settings.epochs * t[side][clock]["epoch_s"] + t[side][clock]["once_s"]
                   for t in per_config.values()) / 60.0

    def epoch_seconds(side: str, clock: str) -> dict[str, float]:
        return {c: round(t[side][clock]["epoch_s"], 2) for c, t in per_config.items()}

    threads = torch.get_num_threads()
    ours, ref = epoch_seconds("ours", "wall"), epoch_seconds("reference", "wall")
    print(json.dumps({
        "device": describe_device(device),
        "threads": threads,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "load_average_1min_before_measured": load_before,
        "measured": measured,
        "settings": {"train": settings.train_size, "val": settings.val_size,
                     "test": settings.test_size, "epochs": settings.epochs, "batch_size": settings.batch_size,
                     "image_size": settings.image_size, "input": settings.input, "width": encoder.width,
                     "timed_steps_per_config": args.steps},
        "seconds_per_config_epoch": round(float(np.mean(list(ours.values()))), 2),
        "table_minutes": round(table_minutes("ours", "wall"), 2),
        "reference_seconds_per_config_epoch": round(float(np.mean(list(ref.values()))), 2),
        "reference_table_minutes": round(table_minutes("reference", "wall"), 2),
        "speedup_vs_reference": round(table_minutes("reference", "wall") / table_minutes("ours", "wall"), 2),
        "cpu_seconds_table_minutes": round(table_minutes("ours", "cpu") / threads, 2),
        "cpu_seconds_reference_table_minutes": round(table_minutes("reference", "cpu") / threads, 2),
        "goal_table_minutes": GOAL_TABLE_MINUTES,
        "per_config_epoch_seconds": ours,
        "reference_per_config_epoch_seconds": ref,
        "per_config_epoch_cpu_seconds": epoch_seconds("ours", "cpu"),
        "reference_per_config_epoch_cpu_seconds": epoch_seconds("reference", "cpu"),
    }, indent=2))


if __name__ == "__main__":
    main()
