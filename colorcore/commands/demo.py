"""`colorcore demo [--out DIR]`: prepare the bundled samples, fine-tune the starter model on them briefly,
colourise a held-out photo."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from colorcore.cli import CLIError
from colorcore.presets import SHORT_EPOCH_INTERVAL_S

DEMO_WIDTH = 16  # only when the starter model is missing (then a small model trains from scratch)
DEMO_BATCH = 8
DEMO_STEPS = 300
DEMO_CROPS_PER_PHOTO = 8
DEMO_TIME_BUDGET_S = 360.0  # training stops cleanly after this long, whatever the step
DEMO_SIZE = 64
DEMO_TEST_FRACTION = 0.2
PREVIEW_HEIGHT = 480


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `demo` command."""
    p = subparsers.add_parser(
        "demo",
        help="the whole pipeline on the bundled sample photos in a few CPU minutes",
        description="Prepare the bundled sample photos into OUT/data (with a few random crops each), fine-tune "
        "the bundled starter model on them for a few CPU minutes into OUT/run, colourise a held-out photo at "
        "full resolution and write a before/after image (OUT/before_after.png). Works offline.",
    )
    p.add_argument("--out", default="demo_out", help="output folder (default: %(default)s)")
    p.add_argument("--steps", type=int, default=DEMO_STEPS, help="training steps (default: %(default)s)")
    p.add_argument("--time-budget", type=float, default=DEMO_TIME_BUDGET_S,
                   help="stop training after this many seconds (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps (default: %(default)s)")
    p.set_defaults(func=run)


class _TimeBudget:
    """Stops the run once `budget_s` have passed; prints a line now and then."""

    def __init__(self, stop: Any, budget_s: float) -> None:
        self.stop, self.budget_s, self.started = stop, budget_s, time.perf_counter()
        self.last_print = 0.0

    def on_step(self, event: Any) -> None:
        now = time.perf_counter() - self.started
        if now - self.last_print >= 10 or event.step == event.total_steps:
            self.last_print = now
            print(f"  step {event.step}/{event.total_steps}  L1 {event.losses.get('loss_l1', float('nan')):.3f}  "
                  f"{event.img_per_s:.0f} img/s", flush=True)
        if now > self.budget_s and not self.stop.stop_requested:
            print(f"  time budget of {self.budget_s:.0f} s reached, stopping", flush=True)
            self.stop.request_stop()


class _Notices:
    """Prints the engine's notices (ResNet path, not learning) once each."""

    def on_notice(self, event: Any) -> None:
        print(f"  {event.message}" + (f" (try: {event.suggestion})" if event.suggestion else ""), flush=True)


def side_by_side(images: list[Any], height: int = PREVIEW_HEIGHT) -> Any:
    """Images (RGB or gray uint8) resized to one height and placed left to right with a white gap."""
    import cv2
    import numpy as np

    resized = []
    for image in images:
        rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
        h, w = rgb.shape[:2]
        resized.append(cv2.resize(rgb[..., :3], (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA))
    gap = np.full((height, 8, 3), 255, np.uint8)
    parts = [part for image in resized for part in (image, gap)][:-1]
    return np.concatenate(parts, axis=1)


def run(args: argparse.Namespace) -> int:
    """Prepare, train, colourise, and print where the results are."""
    from colorcore.checkpoint import load_model
    from colorcore.colorize import colorize_file, luma
    from colorcore.dataset import DatasetError, is_prepared_dataset, load_prepared, prepare
    from colorcore.events import StopFlag
    from colorcore.imageio import ImageReadError, read_image, write_image
    from colorcore.models import ModelConfig
    from colorcore.resources import samples_dir
    from colorcore.starter import starter_model_path
    from colorcore.training import TrainConfig, Trainer

    out = Path(args.out)
    data, run_dir = out / "data", out / "run"
    try:
        samples = samples_dir()
        if not is_prepared_dataset(data):
            print(f"preparing the bundled sample photos from {samples} ...", flush=True)
            prepared = prepare(samples, data, size=DEMO_SIZE, test_fraction=DEMO_TEST_FRACTION, seed=0,
                               crops_per_photo=DEMO_CROPS_PER_PHOTO)
            photos = load_prepared(data).manifest["photos"]
            print(f"  {len(photos['train'])} training and {len(photos['test'])} held-out photos "
                  f"({prepared.n_train} + {prepared.n_test} samples with crops) in {data}")
        dataset = load_prepared(data)
    except (FileNotFoundError, DatasetError, ValueError) as exc:
        raise CLIError(str(exc)) from None

    try:
        init: str | None = str(starter_model_path())
        print(f"fine-tuning the starter model ({init})")
    except FileNotFoundError as exc:
        init = None
        print(f"{exc}; training a small model from scratch instead")
    if run_dir.exists():
        shutil.rmtree(run_dir)  # the demo's own run folder from an earlier demo
    n_train = len(dataset.split("train"))
    batch = min(DEMO_BATCH, n_train)
    steps_per_epoch = max(1, n_train // batch)
    config = TrainConfig(
        data=str(data), run_dir=str(run_dir),
        model=ModelConfig(width=DEMO_WIDTH, resnet_weights="auto"), init=init,
        epochs=-(-args.steps // steps_per_epoch), batch_size=batch, device=args.device,
        max_steps=args.steps, keep_checkpoints=1, eval_subset=len(dataset.split("test")), sample_count=4,
        log_interval_s=1.0, min_epoch_interval_s=SHORT_EPOCH_INTERVAL_S,
    )
    print(f"training {args.steps} steps (batch {batch}) into {run_dir} ...", flush=True)
    stop = StopFlag()
    result = Trainer(config, callbacks=[_TimeBudget(stop, args.time_budget), _Notices()], stop=stop).run()
    if result.status == "failed":
        raise CLIError(f"training failed: {result.error}", 1)

    held_out = dataset.source_paths("test")
    photo = next((p for p in held_out if p.is_file()), None)
    if photo is None:
        raise CLIError(f"no held-out sample photo found (looked for {', '.join(map(str, held_out))})")
    try:
        model = load_model(run_dir, device="cpu")
        colourised = colorize_file(photo, model, out / f"colourised_{photo.stem}.png")
        original = read_image(photo)
        after = read_image(colourised)
    except (ImageReadError, OSError) as exc:
        raise CLIError(f"could not colourise {photo}: {exc}") from None
    before_after = out / "before_after.png"
    write_image(before_after, side_by_side([luma(original), after, original]))
    metrics = ", ".join(f"{k} {v:.2f}" for k, v in result.metrics.items())
    print(f"trained {result.step} steps in {result.elapsed_s:.0f} s ({result.img_per_s:.0f} img/s)"
          + (f"; held-out {metrics}" if metrics else ""))
    print(f"colourised {photo.name} at full resolution: {colourised}")
    print(f"before | after | original: {before_after}")
    return 0
