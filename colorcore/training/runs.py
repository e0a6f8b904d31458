"""The run-folder format: one owner for what a training run writes and what everyone reads back.

A run folder, written by `colorcore.training.trainer.Trainer`, holds:

    config.json              the TrainConfig, the versions and device, the preset values used
    metrics.csv              one row per logged step: step, epoch, time_s, img_per_s, loss_<name>...
    eval.csv                 one row per validation: epoch, step, psnr, ssim, colourfulness; a run
                             started from trained weights (`init`) first scores its starting model:
                             the row with epoch -1 (START_EPOCH) and step 0
    samples/epoch_NNNN.png   gray | fake | real grids
    checkpoints/last.pt      the resumable state (and epoch_NNNN.pt copies)
    checkpoints/best.pt      the state with the best held-out PSNR so far (when validation runs)
    model.safetensors        the generator, exported when the run finishes or is stopped: from best.pt
                             when there is one (`keep_best`, the default), else from last.pt

`RunFolder` reads a run for the command line (compare), the GUI tabs and any other tool. The module
imports neither torch nor Qt (the GUI reads runs before the engine is loaded), so the file names are
defined here; only `RunFolder.train_config` imports the engine.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from colorcore.training.config import TrainConfig

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.csv"
EVAL_FILE = "eval.csv"
SAMPLES_DIR = "samples"
SAMPLE_PATTERN = "epoch_{:04d}.png"
LOSS_PREFIX = "loss_"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
START_EPOCH = -1  # eval.csv's epoch for the starting model's score (a run started from trained weights)
MODEL_FILE_NAME = "model.safetensors"
RUN_MARKERS = (CONFIG_FILE, METRICS_FILE, CHECKPOINT_DIR, MODEL_FILE_NAME)  # any of them makes a folder a run
SAMPLE_NAME = re.compile(r"epoch_(\d+)\.png")

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class StepRecord:
    """One row of metrics.csv: the losses (names without `LOSS_PREFIX`) and the speed at a logged step."""

    step: int
    epoch: int
    img_per_s: float
    losses: dict[str, float]


@dataclass(frozen=True)
class EvalRecord:
    """One row of eval.csv: the validation metrics (psnr, ssim, colourfulness) after an epoch."""

    epoch: int
    step: int
    metrics: dict[str, float]


def _number(text: str | None) -> float | None:
    """A CSV cell as a float; None when empty or not a number."""
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _read_rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except (OSError, ValueError, csv.Error):  # missing, unreadable or not text: no history
        return []


def is_unused_folder(folder: Path) -> bool:
    """True when a new run may be written into `folder`: it does not exist or is empty."""
    return not folder.exists() or (folder.is_dir() and not any(folder.iterdir()))


def fresh_run_folder(folder: Path) -> Path:
    """`folder` when it is unused, else the first unused of folder-2, folder-3, ..."""
    if is_unused_folder(folder):
        return folder
    counter = 2
    while not is_unused_folder(folder.with_name(f"{folder.name}-{counter}")):
        counter += 1
    return folder.with_name(f"{folder.name}-{counter}")


class RunFolder:
    """A training run's folder (it may be partly written, or not be a run at all: see `is_run`)."""

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @classmethod
    def containing(cls, path: PathLike) -> "RunFolder | None":
        """The run `path` is or lies in: a run folder itself, or a model file or checkpoint in one
        (run/model.safetensors, run/checkpoints/last.pt); None when it belongs to no run."""
        source = Path(path)
        candidates = [source] if source.is_dir() else [source.parent, source.parent.parent]
        return next((cls(folder) for folder in candidates if cls(folder).is_run()), None)

    def is_run(self) -> bool:
        """True when the folder holds (part of) a training run."""
        return any((self.path / name).exists() for name in RUN_MARKERS)

    @property
    def last_checkpoint(self) -> Path:
        """checkpoints/last.pt, where a stopped run is resumed from."""
        return self.path / CHECKPOINT_DIR / LAST_CHECKPOINT

    @property
    def exported_model(self) -> Path:
        """model.safetensors, written when the run finishes or is stopped."""
        return self.path / MODEL_FILE_NAME

    @property
    def best_checkpoint(self) -> Path:
        """checkpoints/best.pt, the state with the best held-out PSNR (what is exported by default)."""
        return self.path / CHECKPOINT_DIR / BEST_CHECKPOINT

    def can_resume(self) -> bool:
        """True when the run has a last checkpoint to continue from."""
        return self.last_checkpoint.is_file()

    def export_source(self) -> Path:
        """The checkpoint `colorcore export` and the end of training write the model from: best.pt
        when it exists, else last.pt (which may not exist yet)."""
        return self.best_checkpoint if self.best_checkpoint.is_file() else self.last_checkpoint

    def model_file(self) -> Path | None:
        """The file to colourise or evaluate with: the exported model, else the best checkpoint, else
        the last one (None: none exists yet)."""
        candidates = (self.exported_model, self.best_checkpoint, self.last_checkpoint)
        return next((f for f in candidates if f.is_file()), None)

    # -- config.json ------------------------------------------------------------------------------
    def _config_data(self) -> dict[str, Any]:
        try:
            data = json.loads((self.path / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def train_config(self) -> "TrainConfig | None":
        """The run's settings as a `TrainConfig` (None when config.json is missing, damaged or holds
        settings this version rejects). Imports the engine (torch)."""
        from colorcore.training.config import TrainConfig

        data = self._config_data()
        if not data:
            return None
        try:
            return TrainConfig.from_dict(data)
        except (TypeError, ValueError):
            return None

    def hyperparameters(self) -> dict[str, Any]:
        """The values the run's preset gave the optimisation settings its config left unset
        (lr_g, lr_d, beta1, ...), as recorded in config.json."""
        used = self._config_data().get("hyperparameters")
        return dict(used) if isinstance(used, dict) else {}

    def trained_on(self) -> Path | None:
        """The prepared dataset the run was trained on (None when config.json does not say).

        A relative path was relative to the folder training ran in. That folder is recovered from the
        run folder's recorded (relative) `run_dir`, so the dataset is found from any working folder;
        when the run was moved or renamed since, the path is taken relative to the current folder.
        """
        config = self._config_data()
        data = config.get("data")
        if not isinstance(data, str) or not data:
            return None
        dataset = Path(data)
        if dataset.is_absolute():
            return dataset
        base = self._training_folder(config.get("run_dir"))
        return base / dataset if base is not None else dataset

    def _training_folder(self, run_dir: Any) -> Path | None:
        """The working folder training ran in, when the recorded relative `run_dir` names this folder."""
        if not isinstance(run_dir, str) or not run_dir:
            return None
        recorded = Path(run_dir)
        if recorded.is_absolute() or ".." in recorded.parts:
            return None
        here = self.path.absolute()
        depth = len(recorded.parts)
        if depth == 0:
            return here
        if depth >= len(here.parts) or here.parts[-depth:] != recorded.parts:
            return None
        return here.parents[depth - 1]

    # -- history ----------------------------------------------------------------------------------
    def steps(self) -> list[StepRecord]:
        """The logged steps of metrics.csv, in order (rows without a readable step and epoch are
        left out, as are empty or unreadable loss values)."""
        records = []
        for row in _read_rows(self.path / METRICS_FILE):
            step, epoch = _number(row.get("step")), _number(row.get("epoch"))
            if step is None or epoch is None:
                continue
            losses = {key[len(LOSS_PREFIX):]: value for key, value in
                      ((k, _number(v)) for k, v in row.items() if k and k.startswith(LOSS_PREFIX))
                      if value is not None}
            img_per_s = _number(row.get("img_per_s"))
            records.append(StepRecord(int(step), int(epoch), math.nan if img_per_s is None else img_per_s, losses))
        return records

    def evaluations(self) -> list[EvalRecord]:
        """The validations of eval.csv, in order (rows without a readable epoch and step are left out,
        as are empty or unreadable metric values)."""
        records = []
        for row in _read_rows(self.path / EVAL_FILE):
            epoch, step = _number(row.get("epoch")), _number(row.get("step"))
            if epoch is None or step is None:
                continue
            metrics = {k: value for k, value in ((k, _number(v)) for k, v in row.items() if k not in ("epoch", "step"))
                       if k and value is not None}
            records.append(EvalRecord(int(epoch), int(step), metrics))
        return records

    def starting_score(self) -> EvalRecord | None:
        """The starting model's held-out score (eval.csv's START_EPOCH row), for a run started from
        trained weights; None otherwise."""
        return next((record for record in self.evaluations() if record.epoch == START_EPOCH), None)

    def latest_samples(self) -> Path | None:
        """The sample grid of the latest epoch (None when there is none yet)."""
        grids = [(int(match.group(1)), path) for path in (self.path / SAMPLES_DIR).glob("epoch_*.png")
                 if (match := SAMPLE_NAME.fullmatch(path.name))]
        return max(grids)[1] if grids else None


def dataset_of_run(path: PathLike) -> Path | None:
    """The prepared dataset the run that `path` is or lies in was trained on (see `RunFolder.containing`
    and `RunFolder.trained_on`); None when unknown."""
    run = RunFolder.containing(path)
    return run.trained_on() if run is not None else None
