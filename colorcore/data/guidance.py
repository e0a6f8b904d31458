"""Guidance maps the paper's generator learns to predict: a Canny edge map and a saliency map.

Both are computed on the small (e.g. 64x64) training image: edges on its BT.601 luma (`imageio.luma`), saliency on
its colour image with OpenCV contrib's `cv2.saliency` (spectral residual by default, fine-grained
as an option). No torch import here, so `colorcore prepare` and the GUI preview start fast.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from colorcore.data.imageio import as_uint8, luma
from colorcore.data.settings import CANNY_SIGMA, SALIENCY_METHODS  # the auto Canny rule's sigma, the methods

U8_MAX = 255

_saliency_objects = threading.local()


def canny_thresholds(gray_u8: np.ndarray) -> tuple[float, float]:
    """Canny (low, high) derived from the image median: (1 -/+ 0.33) * median, within 0..255."""
    if not gray_u8.size:
        median = 0.0
    else:
        median = _median_u8(gray_u8) if gray_u8.dtype == np.uint8 else float(np.median(gray_u8))
    return max(0.0, (1.0 - CANNY_SIGMA) * median), min(float(U8_MAX), (1.0 + CANNY_SIGMA) * median)


def _median_u8(values: np.ndarray) -> float:
    """np.median of a uint8 array, exactly, from its histogram (several times faster on small images)."""
    counts = np.cumsum(np.bincount(values.ravel(), minlength=U8_MAX + 1))
    total = int(counts[-1])
    upper = int(np.searchsorted(counts, total // 2, side="right"))  # the (total // 2)-th smallest, 0-based
    if total % 2:
        return float(upper)
    lower = int(np.searchsorted(counts, total // 2 - 1, side="right"))
    return (lower + upper) / 2.0


def _canny_u8(gray_u8: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    """Canny edges of a gray image as uint8 {0, 255}; a threshold left as None comes from the median."""
    gray = _gray_2d(gray_u8)
    if low is None or high is None:
        auto_low, auto_high = canny_thresholds(gray)
        low = auto_low if low is None else low
        high = auto_high if high is None else high
    return cv2.Canny(np.ascontiguousarray(gray), float(low), float(high))


def edge_map(gray_u8: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
    """Canny edges of a gray image as float32 (H, W) in {0, 1}.

    A threshold left as None is derived from the image median (`canny_thresholds`). Non-uint8
    input is converted with `as_uint8`; an (H, W, 1) input is accepted.
    """
    return (_canny_u8(gray_u8, low, high) > 0).astype(np.float32)


def saliency_map(rgb_u8: np.ndarray, method: str = "spectral") -> np.ndarray:
    """Saliency of a colour image as float32 (H, W) in [0, 1], min-max normalised.

    `method` is "spectral" (spectral residual, the default) or "fine" (fine-grained). A constant
    image gives zeros; the result never holds NaN. Gray (H, W) and RGBA input are accepted.
    """
    if method not in SALIENCY_METHODS:
        raise ValueError(f"unknown saliency method {method!r}: choose one of {', '.join(SALIENCY_METHODS)}")
    rgb = as_uint8(rgb_u8)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    if rgb.ndim != 3 or rgb.shape[2] not in (1, 3, 4) or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"expected a non-empty (H, W, 3) image, got shape {np.shape(rgb_u8)}")
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    if rgb.min() == rgb.max():
        return np.zeros(rgb.shape[:2], np.float32)
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR if rgb.shape[2] == 3 else cv2.COLOR_RGBA2BGR)
    ok, raw = _saliency_object(method).computeSaliency(bgr)
    if not ok or raw is None:
        return np.zeros(rgb.shape[:2], np.float32)
    values = np.asarray(raw).reshape(rgb.shape[:2])
    if not np.isfinite(values).all():
        values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lowest, highest = (float(v) for v in cv2.minMaxLoc(values)[:2])
    if highest - lowest <= np.finfo(np.float32).eps:
        return np.zeros(rgb.shape[:2], np.float32)
    # in float64, as the maps stored by earlier versions were computed (byte-identical uint8 storage)
    normalised = np.subtract(values, lowest, dtype=np.float64)
    normalised /= highest - lowest
    return normalised.astype(np.float32)


def storage_maps(
    rgb_u8: np.ndarray,
    *,
    saliency: str = "spectral",
    canny_low: float | None = None,
    canny_high: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Edge and saliency maps of a small RGB uint8 image in storage form (colorcore.core.tensors):
    edge uint8 {0, 255} on the BT.601 luma, saliency uint8 0..255."""
    edges = _canny_u8(luma(rgb_u8), canny_low, canny_high)  # already {0, 255}
    sal = saliency_map(rgb_u8, saliency)
    sal *= U8_MAX
    return edges, np.rint(sal, out=sal).astype(np.uint8)


def _gray_2d(gray: np.ndarray) -> np.ndarray:
    values = as_uint8(gray)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[..., 0]
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"expected a non-empty 2-D gray image, got shape {np.shape(gray)}")
    return values


def _saliency_object(method: str) -> cv2.saliency.StaticSaliency:
    """One OpenCV saliency object per method and thread (they are not thread-safe)."""
    cache = getattr(_saliency_objects, "by_method", None)
    if cache is None:
        cache = _saliency_objects.by_method = {}
    if method not in cache:
        if method == "spectral":
            cache[method] = cv2.saliency.StaticSaliencySpectralResidual_create()
        else:
            cache[method] = cv2.saliency.StaticSaliencyFineGrained_create()
    return cache[method]
