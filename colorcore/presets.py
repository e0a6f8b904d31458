"""Names of the optimisation presets (torch-free, so the CLI can list them without importing torch).

"default": ours, values measured to learn at small batches on real photos
(benchmarks/bench_learning.py); "paper": the paper's stated values. Each model's `presets` class
attribute holds the numbers.
"""

PRESETS = ("default", "paper")
