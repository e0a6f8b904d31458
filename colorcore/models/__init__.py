"""Colourisation models, their losses, calibration, and the one way to open a model file (`checkpoint`).

Models register themselves by name in `colorcore.models.base.MODEL_REGISTRY` (the built-in ones are
imported when the registry is first read).
"""
