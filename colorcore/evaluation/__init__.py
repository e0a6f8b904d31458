"""Evaluation: metrics, evaluating a run on its prepared test split, comparing runs.

(`colorcore.evaluation` was a module in 0.1: its names still resolve here, from `evaluate`, with a warning.)
"""

from colorcore import moved_names

__getattr__ = moved_names(__name__)
