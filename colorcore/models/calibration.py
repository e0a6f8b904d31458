"""How a model's predicted chroma is calibrated before it colours a photo: averaged, smoothed, shrunk.

A network trained on few photos predicts plausible but often wrong, speckled chroma on photos it never
saw. Three settings, fitted on held-out photos and stored in a model file's metadata under "inference",
correct that: `flip_average`, the prediction averaged with the prediction for the mirrored photo
(mirrored back; `chroma.predict_chroma` does it), `sigma`, a Gaussian blur (in pixels of the
network's output) that removes speckle, and `scale`, the shrink towards gray
(`colorcore.models.starter.calibrate_chroma`). A model without them (every model a user trains) uses the
neutral calibration: its chroma as predicted.
No torch import here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAX_CHROMA_SCALE = 4.0
MAX_CHROMA_SIGMA = 16.0


class CalibrationError(ValueError):
    """A model file's calibration values are unusable."""


@dataclass(frozen=True)
class ChromaCalibration:
    """Predicted chroma (averaged with the mirrored photo's when `flip_average`) -> `scale` *
    Gaussian(`sigma`)(chroma); the default changes nothing."""

    scale: float = 1.0
    sigma: float = 0.0
    flip_average: bool = False

    @property
    def neutral(self) -> bool:
        """True when the prediction is used as it is."""
        return self.scale == 1.0 and self.sigma == 0.0 and not self.flip_average

    def apply(self, chroma: np.ndarray) -> np.ndarray:
        """The calibrated copy (or `chroma` itself when neutral) of an (h, w, 2) float32 a*b* array."""
        if self.sigma > 0:
            import cv2

            chroma = cv2.GaussianBlur(chroma, (0, 0), self.sigma, borderType=cv2.BORDER_REFLECT)
        return chroma * np.float32(self.scale) if self.scale != 1.0 else chroma

    def to_metadata(self) -> dict[str, float | bool]:
        """The values as stored under a model file's "inference" metadata."""
        return {"chroma_scale": self.scale, "chroma_sigma": self.sigma, "flip_average": self.flip_average}

    @classmethod
    def from_metadata(cls, inference: Any, file: Path | str) -> "ChromaCalibration":
        """Read a model file's "inference" metadata (None: neutral); CalibrationError names `file`."""
        if inference is None:
            return cls()
        if not isinstance(inference, dict):
            raise CalibrationError(f"{file}: its inference metadata is not an object")
        scale = _number(inference, "chroma_scale", 1.0, file)
        if not 0 < scale <= MAX_CHROMA_SCALE:
            raise CalibrationError(f"{file}: inference.chroma_scale must be in (0, {MAX_CHROMA_SCALE:g}], got {scale:g}")
        sigma = _number(inference, "chroma_sigma", 0.0, file)
        if not 0 <= sigma <= MAX_CHROMA_SIGMA:
            raise CalibrationError(f"{file}: inference.chroma_sigma must be in [0, {MAX_CHROMA_SIGMA:g}], got {sigma:g}")
        flip = inference.get("flip_average", False)
        if not isinstance(flip, bool):
            raise CalibrationError(f"{file}: inference.flip_average must be true or false, got {flip!r}")
        return cls(scale=scale, sigma=sigma, flip_average=flip)


def _number(inference: dict[str, Any], key: str, default: float, file: Path | str) -> float:
    value = inference.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CalibrationError(f"{file}: inference.{key} must be a number, got {value!r}")
    return float(value)
