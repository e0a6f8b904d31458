"""Names of the optimisation presets and other training defaults that must be known without torch.

"default": ours, values measured to learn at small batches on real photos
(benchmarks/bench_learning.py); "paper": the paper's stated values. Each model's `presets` class
attribute holds the numbers.
"""

PRESETS = ("default", "paper")

# a dataset whose epochs last fewer steps than this would validate and write a checkpoint every step or
# two: the CLI suggests --min-epoch-interval, the Training tab rate-limits that work by default
SHORT_EPOCH_STEPS = 5
