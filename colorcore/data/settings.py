"""The choices and defaults of dataset preparation, with no heavy import (no torch, no cv2, no numpy), so
the command line's parser and the GUI's Dataset tab read them from the engine instead of copying them.
`colorcore.data.prepare` uses them; `colorcore.data.prepared` checks manifests against them.
"""

from __future__ import annotations

SALIENCY_METHODS = ("spectral", "fine")  # spectral residual (the paper's), fine-grained
DEFAULT_SALIENCY = SALIENCY_METHODS[0]
DEFAULT_SIZE = 64  # side of the square samples, px (the paper's)
MIN_SIZE = 8
DEFAULT_TEST_FRACTION = 0.25
DEFAULT_SEED = 0
DEFAULT_CROPS_PER_PHOTO = 0
MAX_CROPS_PER_PHOTO = 10_000
CROP_MIN_SCALE = 0.3  # smallest random crop side, as a share of the photo's shorter side
CANNY_SIGMA = 0.33  # automatic Canny thresholds: (1 -/+ sigma) times the median luma
CANNY_MAX = 1000  # Canny thresholds are in 0..CANNY_MAX; None derives them from each sample's median
