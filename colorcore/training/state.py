"""`TrainState`: where a training run is, the one object a checkpoint saves and a resume restores.

After ignite's `State`: the step and epoch counters, the last losses and scores, the best validation, the
starting model's score, the chroma calibration a fine-tuned run keeps and the watchdog's memory. Its
`state_dict()` is the run's part of a checkpoint (the Trainer adds the networks, optimisers and RNG
states); `load_state_dict` reads it back, also from checkpoints written before this class existed (no
watchdog memory: nothing was reported yet). Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from colorcore.core.events import EpochEvent
from colorcore.training.watchdog import WatchdogMemory


@dataclass
class TrainState:
    """A training run's progress. Saved in checkpoints: `step`, `epoch`, `epoch_pos` (steps done in the
    current epoch), `elapsed_s` (seconds trained over every session), `losses` (the last logged step's,
    names without the loss_ prefix), `metrics` (the last validation's), `start_metrics` (the starting
    model's score, runs with `init`), `best` ({"step", "epoch", "psnr"} of checkpoints/best.pt), `init`
    (what such a run started from), `inference` (the chroma calibration it inherited) and `watchdog`.
    This session's only: `output` (the last step's losses as the model returned them, on its device),
    `img_per_s` (speed since the previous log), `validation` (the latest held-out score),
    `improved` (it beat `best`), `checkpoint` (the last checkpoint written) and `model_file`."""

    step: int = 0
    epoch: int = 0
    epoch_pos: int = 0
    elapsed_s: float = 0.0
    losses: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    start_metrics: dict[str, float] = field(default_factory=dict)
    best: dict[str, float] = field(default_factory=dict)
    init: str | None = None
    inference: dict[str, Any] | None = None
    watchdog: WatchdogMemory = field(default_factory=WatchdogMemory)
    output: dict[str, Any] = field(default_factory=dict)
    img_per_s: float = 0.0
    validation: EpochEvent | None = None
    improved: bool = False
    checkpoint: str | None = None
    model_file: str | None = None

    @property
    def work_epoch(self) -> int:
        """The epoch the end-of-epoch work is about: the one just completed, or the unfinished one a run
        ended in (`max_steps` reached mid-epoch)."""
        return self.epoch - 1 if self.epoch_pos == 0 else self.epoch

    def summary(self) -> dict[str, Any]:
        """What a model file records of its training (`model_metadata`'s "training")."""
        summary: dict[str, Any] = {"epochs": self.epoch, "steps": self.step, "losses": dict(self.losses),
                                   "metrics": dict(self.metrics)}
        if self.init:
            summary["starting_model"] = {"init": self.init, "metrics": dict(self.start_metrics)}
        return summary

    def state_dict(self) -> dict[str, Any]:
        """The saved fields as a checkpoint's top-level entries (plain values: loads with weights_only)."""
        saved: dict[str, Any] = {
            "step": self.step, "epoch": self.epoch, "epoch_pos": self.epoch_pos, "elapsed_s": self.elapsed_s,
            "summary": self.summary(), "start_metrics": dict(self.start_metrics), "best": dict(self.best),
            "watchdog": self.watchdog.state_dict(),
        }
        if self.inference:
            saved["inference"] = self.inference
        return saved

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Restore the saved fields from a checkpoint (this session's fields are left as they are)."""
        summary = saved.get("summary") or {}
        self.step, self.epoch, self.epoch_pos = int(saved["step"]), int(saved["epoch"]), int(saved["epoch_pos"])
        self.elapsed_s = float(saved.get("elapsed_s", 0.0))
        self.losses = dict(summary.get("losses") or {})
        self.metrics = dict(summary.get("metrics") or {})
        self.start_metrics = dict(saved.get("start_metrics") or {})
        self.best = dict(saved.get("best") or {})
        self.init = (summary.get("starting_model") or {}).get("init")
        self.inference = saved.get("inference")
        self.watchdog = WatchdogMemory.from_state_dict(saved.get("watchdog"))
