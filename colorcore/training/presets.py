"""Names of the optimisation presets and other training defaults that must be known without torch.

"default": ours, values measured to learn at small batches on real photos
(benchmarks/bench_learning.py); "paper": the paper's stated values. Each model's `presets` class
attribute holds the numbers.
"""

PRESETS = ("default", "paper")

# a dataset whose epochs last fewer steps than this would validate and write a checkpoint every step or
# two: `colorcore train` (unless --min-epoch-interval is given) and the Training tab (unless "save every"
# is set) then run that end-of-epoch work at most every SHORT_EPOCH_INTERVAL_S
SHORT_EPOCH_STEPS = 5
SHORT_EPOCH_INTERVAL_S = 30.0


def short_epoch_steps(training_photos: int, batch_size: int) -> int | None:
    """Steps per epoch when a dataset's epochs are short (< SHORT_EPOCH_STEPS), else None."""
    steps = max(1, training_photos // max(1, batch_size))
    return steps if steps < SHORT_EPOCH_STEPS else None

# fine-tuning (a new run started from trained weights: `colorcore train --init`, the Training tab's "From
# the starter model"): the learning rates its preset gives are multiplied by FINETUNE_LR_SCALE (a rate set
# explicitly is used as it is), so that a few hundred steps on a handful of photos adjust the model instead
# of overwriting what it knew; measured with benchmarks/bench_finetune.py (docs/learning.md)
FINETUNE_LR_SCALE = 0.1
FINETUNE_RATES = ("lr_g", "lr_d")


def finetune_rates(preset_values: dict[str, float]) -> dict[str, float]:
    """The learning rates a fine-tuning run uses where `preset_values` (a model's preset) gives them."""
    return {key: preset_values[key] * FINETUNE_LR_SCALE for key in FINETUNE_RATES if key in preset_values}
