"""Training: the Trainer, its configuration, presets, run folders, logs, distributed runs, the watchdog.

(`colorcore.training` was a module in 0.1: its names still resolve here, from `trainer`, with a warning.)
"""

from colorcore import moved_names

__getattr__ = moved_names(__name__)
