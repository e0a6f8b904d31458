"""`colorcore demo [--out DIR]`: prepare the bundled samples, fine-tune the starter model on them briefly,
colourise a held-out photo."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any, Sequence

from colorcore.cli import CLIError
from colorcore.training.presets import SHORT_EPOCH_INTERVAL_S

DEMO_WIDTH = 16  # only when the starter model is missing (then a small model trains from scratch)
DEMO_BATCH = 8
DEMO_STEPS = 300
DEMO_CROPS_PER_PHOTO = 8
DEMO_TIME_BUDGET_S = 360.0  # training stops cleanly after this long, whatever the step
DEMO_SIZE = 64
DEMO_TEST_FRACTION = 0.2
PREVIEW_HEIGHT = 480
PANEL_LABELS = ("gray input", "colourised", "original")
LABEL_HEIGHT = 40  # the white strip above the panels that holds their labels
LABEL_SCALE = 0.8  # OpenCV Hershey font scale (about 18 px tall letters)
BEFORE_AFTER = "before_after.png"
DATA, RUN = "data", "run"
COLOURISED_GLOB = "colourised_*.png"
PROGRESS_INTERVAL_S = 10.0


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
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier demo's results in OUT (its data, run and images); without it such "
                   "a folder is refused, and a folder holding anything else is refused always")
    p.set_defaults(func=run)


def format_rate(img_per_s: float) -> str:
    """A training speed with the digits that matter: "0.42", "3.1", "57"."""
    if img_per_s >= 10:
        return f"{img_per_s:.0f}"
    return f"{img_per_s:.1f}" if img_per_s >= 1 else f"{img_per_s:.2f}"


def earlier_demo(out: Path) -> tuple[list[Path], list[Path]]:
    """What `out` already holds: (an earlier demo's outputs, anything else), each sorted."""
    if not out.is_dir():
        return [], []
    ours, others = [], []
    for entry in sorted(out.iterdir()):
        is_demo = entry.name in (DATA, RUN, BEFORE_AFTER) or entry.match(COLOURISED_GLOB)
        (ours if is_demo else others).append(entry)
    return ours, others


def clear_earlier_demo(out: Path, overwrite: bool) -> None:
    """Refuse (CLIError) an --out that holds anything but an earlier demo, or an earlier demo without
    `overwrite`; with it, remove that demo's outputs first, so a run stopped part-way leaves no mix of
    the two."""
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} exists and is not a folder")
    ours, others = earlier_demo(out)
    if others:
        names = ", ".join(p.name for p in others[:5]) + (", ..." if len(others) > 5 else "")
        raise CLIError(f"--out {out} holds files that are not the demo's ({names}): give an empty or new folder")
    if not ours:
        return
    if not overwrite:
        raise CLIError(f"--out {out} holds an earlier demo ({', '.join(p.name for p in ours)}): "
                       "add --overwrite to replace it, or give another --out")
    for entry in ours:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    print(f"removed the earlier demo in {out} (--overwrite)", flush=True)


class _TimeBudget:
    """Stops the run once `budget_s` have passed (saying so); prints a progress line now and then."""

    def __init__(self, stop: Any, budget_s: float) -> None:
        self.stop, self.budget_s, self.started = stop, budget_s, time.perf_counter()
        self.last_print = -PROGRESS_INTERVAL_S

    def on_step(self, event: Any) -> None:
        now = time.perf_counter() - self.started
        if now - self.last_print >= PROGRESS_INTERVAL_S or event.step == event.total_steps:
            self.last_print = now
            print(f"  step {event.step}/{event.total_steps}  L1 {event.losses.get('loss_l1', float('nan')):.3f}  "
                  f"{format_rate(event.img_per_s)} img/s", flush=True)
        if now >= self.budget_s and not self.stop.stop_requested and event.step < event.total_steps:
            print(f"  time budget of {self.budget_s:.0f} s reached after {event.step} of {event.total_steps} "
                  "steps: stopping here (--time-budget gives more)", flush=True)
            self.stop.request_stop()


class _Notices:
    """Prints the engine's notices (ResNet path, not learning) once each."""

    def on_notice(self, event: Any) -> None:
        print(f"  {event.message}" + (f" (try: {event.suggestion})" if event.suggestion else ""), flush=True)


def side_by_side(images: list[Any], labels: Sequence[str] = (), height: int = PREVIEW_HEIGHT) -> Any:
    """Images (RGB or gray uint8) resized to one height and placed left to right with a white gap; with
    `labels` (one per image), each label centred in a white strip above its image."""
    import cv2
    import numpy as np

    if labels and len(labels) != len(images):
        raise ValueError(f"{len(labels)} labels for {len(images)} images")
    resized = []
    for image in images:
        rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
        h, w = rgb.shape[:2]
        panel = cv2.resize(rgb[..., :3], (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)
        resized.append(panel)
    if labels:
        resized = [np.concatenate([_label_strip(text, panel.shape[1]), panel]) for text, panel in zip(labels, resized)]
    gap = np.full((resized[0].shape[0], 8, 3), 255, np.uint8)
    parts = [part for image in resized for part in (image, gap)][:-1]
    return np.concatenate(parts, axis=1)


def _label_strip(text: str, width: int) -> Any:
    """A white strip LABEL_HEIGHT tall and `width` wide with `text` centred on it in dark gray."""
    import cv2
    import numpy as np

    strip = np.full((LABEL_HEIGHT, width, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = LABEL_SCALE
    (text_w, text_h), baseline = cv2.getTextSize(text, font, scale, 2)
    if text_w > width - 4:  # a narrow panel: smaller letters
        scale *= (width - 4) / text_w
        (text_w, text_h), baseline = cv2.getTextSize(text, font, scale, 2)
    origin = ((width - text_w) // 2, (LABEL_HEIGHT + text_h) // 2)
    cv2.putText(strip, text, origin, font, scale, (40, 40, 40), 2, cv2.LINE_AA)
    return strip


def run(args: argparse.Namespace) -> int:
    """Prepare, train, colourise, and print where the results are."""
    from colorcore.models.checkpoint import load_model
    from colorcore.inference.colorize import colorize_file
    from colorcore.data.imageio import luma
    from colorcore.data.prepare import prepare
    from colorcore.data.prepared import DatasetError, is_prepared_dataset, load_prepared
    from colorcore.core.events import StopFlag
    from colorcore.data.imageio import ImageReadError, read_image, write_image
    from colorcore.models.base import ModelConfig
    from colorcore.core.resources import samples_dir
    from colorcore.models.settings import starter_model_path
    from colorcore.training.trainer import TrainConfig, Trainer

    out = Path(args.out)
    data, run_dir = out / DATA, out / RUN
    if args.time_budget < 0:
        raise CLIError(f"--time-budget must be 0 or more seconds, got {args.time_budget:g}")
    clear_earlier_demo(out, args.overwrite)
    try:
        samples = samples_dir()
        if not is_prepared_dataset(data):
            print(f"preparing the bundled sample photos from {samples} ...", flush=True)
            prepared = prepare(samples, data, size=DEMO_SIZE, test_fraction=DEMO_TEST_FRACTION, seed=0,
                               crops_per_photo=DEMO_CROPS_PER_PHOTO)
            photos = load_prepared(data).manifest.photos
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
    print(f"training {args.steps} steps (batch {batch}) into {run_dir}, for at most {args.time_budget:.0f} s "
          "(--time-budget: training stops there, whatever the step) ...", flush=True)
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
    before_after = out / BEFORE_AFTER
    write_image(before_after, side_by_side([luma(original), after, original], PANEL_LABELS))
    metrics = ", ".join(f"{k} {v:.2f}" for k, v in result.metrics.items())
    budget = f" (stopped by the {args.time_budget:.0f} s time budget)" if result.status == "stopped" else ""
    print(f"trained {result.step} of {args.steps} steps in {result.elapsed_s:.0f} s "
          f"({format_rate(result.img_per_s)} img/s){budget}" + (f"; held-out {metrics}" if metrics else ""))
    print(f"colourised {photo.name} at full resolution: {colourised}")
    print(f"{' | '.join(PANEL_LABELS)}: {before_after}")
    return 0
