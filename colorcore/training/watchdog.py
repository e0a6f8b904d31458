"""Notice a training run that is not learning, and say so in plain words (once per kind).

The Trainer feeds a `LearningMonitor` the losses of every logged step and the validation results
of every epoch end; the monitor returns a `NoticeEvent` the first time one of these holds:

- a loss is NaN or infinite ("nan");
- the reconstruction loss (L1, or the model's first loss) rises over a window: the mean of the last
  `window` logged values exceeds the best earlier window's mean by `RISE_FACTOR` ("rising");
- the generator's outputs sit at the ends of their range (+/-1) for most pixels ("saturated");
- after the warm-up, the held-out PSNR stays below the gray photo's, the trivial answer ("below_gray").

What it remembers (the kinds already reported, the recent losses) is a `WatchdogMemory`, part of the
run's `TrainState`: it is saved in every checkpoint, so a resumed run does not repeat a notice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from colorcore.core.advice import LOWER, SET, Advice
from colorcore.core.events import NoticeEvent

LEARNING_NOTICE = "learning"  # NoticeEvent.kind of every notice this module emits
RISE_FACTOR = 1.25
DEFAULT_WINDOW = 20
SATURATED_FRACTION = 0.5  # share of output values beyond SATURATION_LEVEL that means saturated
SATURATION_LEVEL = 0.98
LEARNING_ADVICE = (Advice("lr_g", LOWER),)
PAPER_PRESET_ADVICE = (Advice("lr_g", LOWER), Advice("preset", SET, "default"))


@dataclass
class WatchdogMemory:
    """What the watchdog has seen: the notice kinds already given, the last logged reconstruction losses
    (at most a window of them) and the lowest window mean so far."""

    reported: set[str] = field(default_factory=set)
    recent: list[float] = field(default_factory=list)
    best_window: float = math.inf

    def state_dict(self) -> dict[str, Any]:
        """Plain values for a checkpoint (loads with weights_only)."""
        return {"reported": sorted(self.reported), "recent": list(self.recent), "best_window": self.best_window}

    @classmethod
    def from_state_dict(cls, saved: dict[str, Any] | None) -> WatchdogMemory:
        """Inverse of `state_dict`; None (a checkpoint written before the memory was saved) is a fresh memory."""
        if not saved:
            return cls()
        return cls(set(saved.get("reported", ())), [float(v) for v in saved.get("recent", ())],
                   float(saved.get("best_window", math.inf)))


@dataclass
class LearningMonitor:
    """Watches losses and validation scores; `warmup_steps` must pass before "below_gray" counts;
    `advice` is what every notice advises (the Trainer chooses it for the preset in use); `memory`
    is what it has seen (the run's `TrainState.watchdog`)."""

    warmup_steps: int = 100
    window: int = DEFAULT_WINDOW
    advice: tuple[Advice, ...] = LEARNING_ADVICE
    memory: WatchdogMemory = field(default_factory=WatchdogMemory)

    def _notice(self, kind: str, message: str, step: int) -> NoticeEvent | None:
        if kind in self.memory.reported:
            return None
        self.memory.reported.add(kind)
        return NoticeEvent(LEARNING_NOTICE, message, "", step, self.advice)

    def on_losses(self, step: int, losses: dict[str, float]) -> NoticeEvent | None:
        """Check one logged step's losses (keys without the loss_ prefix)."""
        bad = [k for k, v in losses.items() if not math.isfinite(v)]
        if bad:
            return self._notice("nan", f"training is diverging: the {', '.join(bad)} loss became "
                                f"{'NaN' if math.isnan(losses[bad[0]]) else 'infinite'} at step {step}", step)
        key = "l1" if "l1" in losses else next(iter(losses), None)
        if key is None:
            return None
        recent = self.memory.recent
        recent.append(float(losses[key]))
        del recent[:-self.window]
        if len(recent) < self.window:
            return None
        mean = sum(recent) / len(recent)
        best = self.memory.best_window
        if step > self.warmup_steps and mean > RISE_FACTOR * best:
            return self._notice("rising", f"training is not learning: the {key} loss rose from "
                                f"{best:.3f} to {mean:.3f} (mean of {self.window} logged steps) "
                                f"by step {step}", step)
        self.memory.best_window = min(best, mean)
        return None

    def on_validation(self, step: int, psnr: float, gray_psnr: float, saturated: float) -> NoticeEvent | None:
        """Check one validation: mean PSNR of the predictions and of the gray photos, and the share
        of saturated output values."""
        if saturated > SATURATED_FRACTION:
            return self._notice("saturated", f"training is diverging: {saturated:.0%} of the generator's "
                                f"outputs sit at the ends of their range at step {step} (wild colours)", step)
        if step > self.warmup_steps and math.isfinite(psnr) and psnr < gray_psnr:
            return self._notice("below_gray", f"the model is not learning yet: its held-out PSNR "
                                f"{psnr:.1f} dB is below the gray photo's {gray_psnr:.1f} dB at step {step}", step)
        return None
