"""The colourisation-as-pretext experiment: CIFAR-10, its runs, tables and the paper's Table 1.

(`colorcore.downstream` was a module in 0.1: its names still resolve here, from `experiment`, with a warning.)
"""

from colorcore import moved_names

__getattr__ = moved_names(__name__)
