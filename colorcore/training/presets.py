"""Names of the optimisation presets and other training defaults that must be known without torch.

"default": ours, values measured to learn at small batches on real photos
(benchmarks/bench_learning.py); "paper": the paper's stated values. Each model's `presets` class
attribute holds the numbers.
"""

from dataclasses import dataclass

from colorcore.core.options import field_default
from colorcore.models.settings import PRESETS  # noqa: F401 (the names; each model gives their values)
from colorcore.training.config import TrainConfig


# a dataset whose epochs last fewer steps than this would validate and write a checkpoint every step or
# two: `epoch_schedule` then runs that end-of-epoch work at most every SHORT_EPOCH_INTERVAL_S (unless an
# interval is given) and keeps only the last checkpoint (unless a count is given); `colorcore train` and
# the Training tab both ask it
SHORT_EPOCH_STEPS = 5
SHORT_EPOCH_INTERVAL_S = 30.0
SHORT_EPOCH_KEEP = 0  # epoch checkpoints kept besides the last one (what resuming needs)


@dataclass(frozen=True)
class EpochSchedule:
    """When a run does its end-of-epoch work and how many epoch checkpoints it keeps (`TrainConfig`'s
    `min_epoch_interval_s` and `keep_checkpoints`); `short_steps` is the steps of an epoch when epochs
    are short (< SHORT_EPOCH_STEPS), else None."""

    min_epoch_interval_s: float
    keep_checkpoints: int
    short_steps: int | None = None


def epoch_schedule(training_photos: int | None, batch_size: int, interval_s: float | None = None,
                   keep_checkpoints: int | None = None, processes: int = 1) -> EpochSchedule:
    """The end-of-epoch schedule for `training_photos` (None: unknown) at `batch_size` per process over
    `processes`: an interval or count given is used as it is; otherwise short epochs validate and save at
    most every SHORT_EPOCH_INTERVAL_S and keep SHORT_EPOCH_KEEP, others after every epoch and keep
    `TrainConfig`'s default."""
    steps = max(1, training_photos // max(1, batch_size * processes)) if training_photos else None
    short = steps if steps is not None and steps < SHORT_EPOCH_STEPS else None
    if interval_s is None:
        interval_s = SHORT_EPOCH_INTERVAL_S if short else 0.0
    if keep_checkpoints is None:
        keep_checkpoints = SHORT_EPOCH_KEEP if short else field_default(TrainConfig, "keep_checkpoints")
    return EpochSchedule(interval_s, keep_checkpoints, short)

# fine-tuning (a new run started from trained weights: `colorcore train --init`, the Training tab's "From
# the starter model"): the learning rates its preset gives are multiplied by FINETUNE_LR_SCALE (a rate set
# explicitly is used as it is), so that a few hundred steps on a handful of photos adjust the model instead
# of overwriting what it knew; measured with benchmarks/bench_finetune.py (docs/learning.md)
FINETUNE_LR_SCALE = 0.1
FINETUNE_RATES = ("lr_g", "lr_d")


def finetune_rates(preset_values: dict[str, float]) -> dict[str, float]:
    """The learning rates a fine-tuning run uses where `preset_values` (a model's preset) gives them."""
    return {key: preset_values[key] * FINETUNE_LR_SCALE for key in FINETUNE_RATES if key in preset_values}
