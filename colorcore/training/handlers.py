"""What happens around the training steps, as handlers the Trainer attaches to its events (`engine.Events`).

- `StepLog`: which steps are logged (every `log_interval_s`, and the last) and the one host sync that
  reads a logged step's losses and speed into the `TrainState`;
- `CsvLogging`: metrics.csv (a row per logged step) and eval.csv (a row per validation);
- `Validation`: the held-out score after an epoch (and of the starting model of a run with `init`), the
  sample grid, the best score so far; fires `VALIDATION_COMPLETED`;
- `Checkpointing`: checkpoints/last.pt, best.pt (the best held-out PSNR), epoch_NNNN.pt, and the model
  file when the run ends;
- `Watchdog`: the `LearningMonitor` fed every logged step and every validation (its memory is the
  state's, so it survives a resume);
- `EpochWork`: when the end-of-epoch work runs (`min_epoch_interval_s`; the last epoch always), the same
  on every process under torchrun.

The handlers reach the trainer only through `TrainingRun`, the part of it they use.
"""

from __future__ import annotations

import math
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import torch

from colorcore.core.atomic import atomic_link
from colorcore.core.events import CheckpointEvent, EpochEvent, SamplesEvent
from colorcore.core.tensors import gray_input, to_uint8_images
from colorcore.data.imageio import write_image
from colorcore.data.prepared import PreparedDataset
from colorcore.evaluation.evaluate import comparison_grid, evaluate_model
from colorcore.evaluation.metrics import psnr
from colorcore.models.base import ColorModel
from colorcore.models.checkpoint import (
    EPOCH_CHECKPOINT_GLOB,
    EPOCH_CHECKPOINT_PATTERN,
    export_model,
    save_checkpoint,
)
from colorcore.training.config import TrainConfig
from colorcore.training.csv_log import CsvLog
from colorcore.training.distributed import DistInfo, barrier, rank_zero_decides
from colorcore.training.engine import Events
from colorcore.training.runs import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    LOSS_PREFIX,
    SAMPLE_PATTERN,
    START_EPOCH,
    RunFolder,
)
from colorcore.training.state import TrainState
from colorcore.training.watchdog import SATURATION_LEVEL, LearningMonitor

STEP_COLUMNS = ("step", "epoch", "time_s", "img_per_s")  # metrics.csv's first columns (then loss_<name>...)
EVAL_COLUMNS = ("epoch", "step", "psnr", "ssim", "colourfulness")
EVAL_SPLIT = "test"  # the held-out images (the train split when a dataset has none)


class TrainingRun(Protocol):
    """The part of the Trainer its handlers use."""

    config: TrainConfig
    state: TrainState
    dataset: PreparedDataset
    device: torch.device
    batch_size: int
    total_steps: int

    def emit(self, hook: str, event: object) -> None:
        """Call `hook(event)` on the run's callbacks."""

    def fire(self, event: Events, count: int | None = None) -> None:
        """Run `event`'s handlers."""

    def plain_model(self) -> AbstractContextManager[ColorModel]:
        """The model with its plain networks, in eval mode, for the duration of a `with`."""

    def checkpoint_state(self) -> dict[str, Any]:
        """The checkpoint of the run as it is now."""


def eval_split(dataset: PreparedDataset) -> str:
    """The split validations score: the test split, or the train split when there is no test split."""
    return EVAL_SPLIT if len(dataset.split(EVAL_SPLIT)) else "train"


class StepLog:
    """Which steps are logged (`due`: one every `interval_s` seconds, and the last) and, for each, the
    losses read to the host (the one sync per log) and the speed since the previous log (`read`)."""

    def __init__(self, run: TrainingRun, interval_s: float, images_per_step: int) -> None:
        self.run, self.interval_s, self.images_per_step = run, interval_s, images_per_step
        self.clock = time.perf_counter()
        self.logged_step = run.state.step

    def due(self, step: int) -> bool:
        """A filter for `STEP_COMPLETED`: whether `step` is logged."""
        return step >= self.run.total_steps or time.perf_counter() - self.clock >= self.interval_s

    def read(self) -> None:
        """Put the step's losses (floats, names without the prefix) and speed (images/s) in the state."""
        state = self.run.state
        values = torch.stack([v.detach().float() for v in state.output.values()]).tolist()
        now = time.perf_counter()
        state.losses = dict(zip(state.output, values))
        state.img_per_s = (state.step - self.logged_step) * self.images_per_step / max(now - self.clock, 1e-9)
        self.clock, self.logged_step = now, state.step


class CsvLogging:
    """metrics.csv and eval.csv; a resumed run (`keep_until_step`) first drops the rows its checkpoint
    does not cover, a new one starts them afresh."""

    def __init__(self, state: TrainState, metrics_path: Path, eval_path: Path, loss_names: Sequence[str],
                 keep_until_step: int | None) -> None:
        self.state = state
        columns = [*STEP_COLUMNS, *(LOSS_PREFIX + name for name in loss_names)]
        self.metrics = CsvLog(metrics_path, columns, keep_until_step)
        self.evals = CsvLog(eval_path, EVAL_COLUMNS, keep_until_step)

    def log_step(self) -> None:
        """A metrics.csv row for the logged step."""
        state = self.state
        self.metrics.append({"step": state.step, "epoch": state.epoch, "time_s": round(state.elapsed_s, 3),
                             "img_per_s": state.img_per_s,
                             **{LOSS_PREFIX + k: v for k, v in state.losses.items()}})

    def log_validation(self) -> None:
        """An eval.csv row for the latest validation."""
        scored = self.state.validation
        if scored is not None:
            self.evals.append({"epoch": scored.epoch, "step": scored.step, **scored.metrics})


class Validation:
    """Scores `eval_subset` held-out images (the state's `metrics`, `best`, `improved`, `validation`, then
    `VALIDATION_COMPLETED`) and writes the sample grid of `sample_count` of them to `samples_dir`."""

    def __init__(self, run: TrainingRun, samples_dir: Path) -> None:
        self.run, self.samples_dir = run, samples_dir
        self.split = eval_split(run.dataset)

    def score_start(self) -> None:
        """Score the starting model (a run with `init`) before the first step: `start_metrics` and a
        validation with epoch START_EPOCH."""
        run, state = self.run, self.run.state
        if not run.config.eval_subset:
            return
        with run.plain_model() as model:
            result = evaluate_model(model, run.dataset, self.split, batch_size=run.batch_size, device=run.device,
                                    limit=run.config.eval_subset, grid_count=0)
        state.start_metrics = dict(result.summary)
        state.validation = EpochEvent(START_EPOCH, state.step, dict(result.summary))
        run.fire(Events.VALIDATION_COMPLETED)

    def validate(self) -> None:
        """Score the model after the state's `work_epoch`, then write the sample grid."""
        run, state, cfg = self.run, self.run.state, self.run.config
        epoch = state.work_epoch
        state.improved = False
        grid = None
        with run.plain_model() as model:
            if cfg.eval_subset:
                result = evaluate_model(model, run.dataset, self.split, batch_size=run.batch_size, device=run.device,
                                        limit=cfg.eval_subset, grid_count=cfg.sample_count)
                grid = result.grid
                state.metrics = dict(result.summary)
                score = float(result.summary.get("psnr", math.nan))
                state.improved = math.isfinite(score) and score > state.best.get("psnr", -math.inf)
                if state.improved:
                    state.best = {"step": state.step, "epoch": epoch, "psnr": score}
                state.validation = EpochEvent(epoch, state.step, dict(result.summary))
            elif cfg.sample_count:
                arrays = run.dataset.split(self.split)
                n = cfg.sample_count
                grid = comparison_grid(model, arrays.rgb[:n], arrays.edge[:n], arrays.saliency[:n], run.device)
        if cfg.eval_subset:
            run.fire(Events.VALIDATION_COMPLETED)
        if grid is not None:
            path = self.samples_dir / SAMPLE_PATTERN.format(epoch)
            write_image(path, grid)
            run.emit("on_samples", SamplesEvent(epoch, state.step, grid, str(path)))

    def announce(self) -> None:
        """`on_epoch_end` with the latest validation."""
        scored = self.run.state.validation
        if scored is not None:
            self.run.emit("on_epoch_end", scored)


class Checkpointing:
    """checkpoints/last.pt (`save_last`), best.pt when the validation just improved (`keep_best`), the
    epoch's epoch_NNNN.pt, `keep_checkpoints` of them (`keep_epoch`), and the model file (`export`)."""

    def __init__(self, run: TrainingRun, run_dir: Path, folder: Path, model_file: Path) -> None:
        self.run, self.run_dir, self.folder, self.model_file = run, run_dir, folder, model_file

    def save_last(self) -> None:
        """Write the run's checkpoint to last.pt."""
        state = self.run.state
        path = save_checkpoint(self.folder / LAST_CHECKPOINT, self.run.checkpoint_state())
        state.checkpoint = str(path)
        self.run.emit("on_checkpoint", CheckpointEvent(state.epoch, state.step, str(path)))

    def keep_best(self) -> None:
        """last.pt is also best.pt when the validation just improved (and the run keeps its best)."""
        if self.run.state.improved and self.run.config.keep_best:
            atomic_link(self.folder / LAST_CHECKPOINT, self.folder / BEST_CHECKPOINT)

    def keep_epoch(self) -> None:
        """The completed epoch's epoch_NNNN.pt (a link to last.pt, just written); older ones beyond
        `keep_checkpoints` are removed."""
        keep = self.run.config.keep_checkpoints
        if keep == 0:
            return
        state, epoch = self.run.state, self.run.state.work_epoch
        path = atomic_link(self.folder / LAST_CHECKPOINT, self.folder / EPOCH_CHECKPOINT_PATTERN.format(epoch))
        self.run.emit("on_checkpoint", CheckpointEvent(epoch, state.step, str(path)))
        for old in sorted(self.folder.glob(EPOCH_CHECKPOINT_GLOB))[:-keep]:
            old.unlink(missing_ok=True)

    def export(self) -> None:
        """The model file, from best.pt (`keep_best`, when there is one) or the last checkpoint, when this
        session wrote a checkpoint."""
        state = self.run.state
        if state.checkpoint is None:
            return
        source = RunFolder(self.run_dir).export_source() if self.run.config.keep_best else state.checkpoint
        state.model_file = str(export_model(source, self.model_file))


class Watchdog:
    """Feeds `monitor` (whose memory is the state's `watchdog`) every logged step's losses and every
    validation after the start, and emits its notices."""

    def __init__(self, run: TrainingRun, monitor: LearningMonitor) -> None:
        self.run, self.monitor = run, monitor
        self.split = eval_split(run.dataset)
        self.gray_psnr = self.held_out_gray_psnr()

    def held_out_gray_psnr(self) -> float:
        """Mean PSNR of the gray photos of the validation images: the floor a model must beat."""
        limit = self.run.config.eval_subset or self.run.config.sample_count
        if not limit:
            return math.nan
        real = torch.from_numpy(np.array(self.run.dataset.split(self.split).rgb[:limit], dtype=np.uint8))
        return float(psnr(to_uint8_images(gray_input(real)), real).mean()) if len(real) else math.nan

    def saturation(self) -> float:
        """Share of the colour outputs beyond +/-SATURATION_LEVEL on the first validation images."""
        real = np.array(self.run.dataset.split(self.split).rgb[:self.run.batch_size], dtype=np.uint8)
        if not len(real):
            return 0.0
        with self.run.plain_model() as model, torch.no_grad():
            rgb = model.predict(gray_input(torch.from_numpy(real).to(self.run.device)))["rgb"]
        return float((rgb.float().abs() > SATURATION_LEVEL).float().mean())

    def check_losses(self) -> None:
        """Check the logged step's losses."""
        state = self.run.state
        notice = self.monitor.on_losses(state.step, state.losses)
        if notice is not None:
            self.run.emit("on_notice", notice)

    def check_validation(self) -> None:
        """Check the latest validation (not the starting model's: it says nothing about this run)."""
        scored = self.run.state.validation
        if scored is None or scored.epoch == START_EPOCH:
            return
        notice = self.monitor.on_validation(scored.step, scored.metrics["psnr"], self.gray_psnr, self.saturation())
        if notice is not None:
            self.run.emit("on_notice", notice)


class EpochWork:
    """When the end-of-epoch work runs: `due` (a filter for `EPOCH_COMPLETED`) at the end of the last
    epoch, and at other epoch ends once `interval_s` seconds passed since it last ran (under torchrun
    every process follows rank 0's clock); `pending` (a filter for `COMPLETED`) when the run ended
    mid-epoch (`max_steps`) after the last work; `done` (attached after the work) restarts the clock and
    waits for every process."""

    def __init__(self, run: TrainingRun, interval_s: float, dist: DistInfo) -> None:
        self.run, self.interval_s, self.dist = run, interval_s, dist
        self.clock = time.perf_counter()
        self.done_at_step = run.state.step

    def due(self, epochs: int) -> bool:
        """Whether the end of an epoch gets the work (a collective under torchrun, unless it is the last)."""
        if self.run.state.step >= self.run.total_steps:
            return True
        due = time.perf_counter() - self.clock >= self.interval_s
        return rank_zero_decides(due, self.run.device) if self.dist.enabled else due

    def pending(self, step: int) -> bool:
        """Whether the run's end (`step`) still needs the work (it did not run at this step)."""
        return step != self.done_at_step

    def done(self) -> None:
        """The work ran: restart the clock; every process waits here for rank 0."""
        self.clock = time.perf_counter()
        self.done_at_step = self.run.state.step
        barrier(self.dist)
