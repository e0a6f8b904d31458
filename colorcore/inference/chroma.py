"""The network's chroma and its way back to full resolution: prediction, guided upsampling, recombination.

Pipeline: BT.601 luma of the whole photo -> INTER_AREA to the network's size (aspect ratio squashed
by default, or letterboxed) -> `model.predict` -> predicted RGB -> Lab -> chroma (a, b) only ->
upsampled to full resolution -> recombined with the photo's own Lab L -> RGB. The default
upsampling is a fast guided filter (He & Sun 2015): coefficients from box filters on a grid a few
times the network's size, guided by the photo's luminance, applied as ``ab = A * L + B`` at up to
`APPLY_LONG_SIDE` px, then resized to full size. ``guided=False`` upsamples the predicted chroma
bilinearly. Which bleeds less is measured by ``benchmarks/bench_colorize.py`` (see the README).

At full resolution only uint8 buffers exist (8-bit L, 8-bit chroma, the output, which may be the
input itself), and the Lab -> RGB conversion runs in horizontal tiles, so a 40-megapixel photo
stays well inside 2 GB. Pixels whose L would move through gamut clipping get their chroma reduced,
so the output's L matches the input's within `L_TOLERANCE` levels (8-bit L scale).

`colorize` (photos and files) and `colour_control` (hints, reference colours, saturation) both build
on this module.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import cv2
import numpy as np
import torch

from colorcore.core.device import flushed_denormals
from colorcore.core.tensors import gray_input_from_luma
from colorcore.data.imageio import fit_long_side
from colorcore.models.base import ColorModel

FITS = ("squash", "letterbox")
TILE_ROWS = 256
APPLY_LONG_SIDE = 2048  # guided chroma is computed up to this size, then resized bilinearly
# guided filter: coefficients on a grid GUIDE_SCALE times the prediction's, box radius GUIDE_RADIUS
# there, regularisation GUIDE_EPS on luminance in [0, 1]; chosen by the oracle bleeding measurement
# in benchmarks/bench_colorize.py (larger radii smear colour more than they follow edges)
GUIDE_SCALE = 4
GUIDE_RADIUS = 1
GUIDE_EPS = 1e-4
L_TOLERANCE = 2
GAMUT_CHROMA_STEPS = (0.5, 0.5, 0.5, 0.0)  # chroma factors tried in turn where clipping moved L
UNCLIPPED_LOW, UNCLIPPED_HIGH = (1, 1, 1), (254, 254, 254)
CHROMA_OFFSET = 128.0  # cv2's 8-bit Lab stores a, b + 128


def _gray_to_l8_table() -> np.ndarray:
    """8-bit Lab L of each gray level 0..255 (R = G = B)."""
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[:, None, None], 3, axis=2)
    return cv2.cvtColor(ramp, cv2.COLOR_RGB2Lab)[:, 0, 0].copy()


GRAY_TO_L8 = _gray_to_l8_table()


def model_device(model: ColorModel) -> torch.device:
    """The device of the model's parameters (CPU for a model without parameters)."""
    for param in model.parameters():
        return param.device
    return torch.device("cpu")


@contextlib.contextmanager
def eval_mode(model: ColorModel) -> Iterator[ColorModel]:
    """The model in eval mode inside the block, its previous mode restored after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def as_image(image: np.ndarray) -> np.ndarray:
    """A checked, C-contiguous gray (H, W), RGB (H, W, 3) or RGBA (H, W, 4) uint8 array."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"expected a gray (H, W), RGB (H, W, 3) or RGBA (H, W, 4) image, got {image.shape}")
    if min(image.shape[:2]) < 1:
        raise ValueError(f"empty image {image.shape}")
    return np.ascontiguousarray(image)


def lab_l8(image: np.ndarray) -> np.ndarray:
    """8-bit Lab L (cv2 scale 0..255) of a gray, RGB or RGBA uint8 image, computed in tiles."""
    image = as_image(image)
    if image.ndim == 2:
        return GRAY_TO_L8[image]
    out = np.empty(image.shape[:2], np.uint8)
    for y0 in range(0, image.shape[0], TILE_ROWS):
        tile = np.ascontiguousarray(image[y0:y0 + TILE_ROWS, :, :3])
        out[y0:y0 + TILE_ROWS] = cv2.cvtColor(tile, cv2.COLOR_RGB2Lab)[:, :, 0]
    return out


def _model_input(gray: np.ndarray, size: int, fit: str) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Luma at size x size for the network, and the (y, x, h, w) box the photo occupies in it."""
    h, w = gray.shape
    if fit == "squash":
        return cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA), (0, 0, size, size)
    scale = size / max(h, w)
    ch, cw = max(1, round(h * scale)), max(1, round(w * scale))
    small = cv2.resize(gray, (cw, ch), interpolation=cv2.INTER_AREA)
    top, left = (size - ch) // 2, (size - cw) // 2
    boxed = cv2.copyMakeBorder(small, top, size - ch - top, left, size - cw - left, cv2.BORDER_REPLICATE)
    return boxed, (top, left, ch, cw)


def predict_chroma(
    gray: np.ndarray, model: ColorModel, *, size: int, fit: str = "squash", device: torch.device | None = None
) -> np.ndarray:
    """Lab chroma (h, w, 2) float32 (a, b) the model predicts for a full-resolution uint8 luma image.

    The result covers the whole photo at the network's resolution (the letterbox border removed),
    calibrated as the model's file says (`colorcore.models.calibration`: averaged with the mirrored photo's
    prediction, blurred, scaled; unchanged for models without one).
    """
    if fit not in FITS:
        raise ValueError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
    small, (top, left, ch, cw) = _model_input(gray, size, fit)
    calibration = model.calibration
    inputs = gray_input_from_luma(small)
    if calibration.flip_average:  # the mirrored photo in the same forward pass
        inputs = torch.cat([inputs, inputs.flip(-1)])
    with eval_mode(model), flushed_denormals():
        rgb = model.predict(inputs.to(device or model_device(model)))["rgb"]
    if tuple(rgb.shape[-2:]) != (size, size):
        raise ValueError(f"model {model.name!r} gave {tuple(rgb.shape[-2:])} for a {size}x{size} input")
    if not bool(torch.isfinite(rgb).all()):
        raise ValueError(f"model {model.name!r} predicted NaN or infinite colours: its weights are broken")
    chroma = _lab_chroma(rgb[0])
    if calibration.flip_average:
        chroma = 0.5 * (chroma + _lab_chroma(rgb[1])[:, ::-1])
    return calibration.apply(np.ascontiguousarray(chroma[top:top + ch, left:left + cw]))


def _lab_chroma(rgb: torch.Tensor) -> np.ndarray:
    """Lab a*b* (h, w, 2) float32 of one predicted (3, h, w) RGB tensor in [-1, 1]."""
    rgb01 = ((rgb.float().clamp(-1, 1) + 1.0) * 0.5).permute(1, 2, 0).cpu().numpy()
    return cv2.cvtColor(np.ascontiguousarray(rgb01), cv2.COLOR_RGB2Lab)[:, :, 1:3]


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def resize(image: np.ndarray, hw: tuple[int, int], interpolation: int) -> np.ndarray:
    out = cv2.resize(image, (hw[1], hw[0]), interpolation=interpolation)
    return out if out.ndim == image.ndim else out[:, :, None]


def guided_chroma(
    l8: np.ndarray, chroma: np.ndarray, *, radius: int = GUIDE_RADIUS, eps: float = GUIDE_EPS,
    scale: int = GUIDE_SCALE,
) -> np.ndarray:
    """Predicted chroma (a, b) upsampled with a fast guided filter guided by the luminance `l8`.

    Coefficients come from box filters (`radius`, `eps`) on a grid `scale` times the prediction's and
    are applied as ``A * L + B`` at a long side of at most `APPLY_LONG_SIDE` px (He & Sun's fast
    guided filter); returns float32 (h, w, 2) at that apply resolution.
    """
    # ours, not cv2.ximgproc.guidedFilter (benchmarks/bench_guided.py, 20 real photos): its fast form (scale=) is
    # 1.3-1.6x slower at 1/12/24 MP and 0.01 dB lower in oracle PSNR (up to 0.14 dB on 4-6 MP photos: it
    # subsamples the guide with INTER_LINEAR, not INTER_AREA), its plain form 2.7-3.7x slower
    apply_hw = fit_long_side(l8.shape, APPLY_LONG_SIDE)
    guide = cv2.resize(l8, apply_hw[::-1], interpolation=cv2.INTER_AREA).astype(np.float32)
    guide *= 1.0 / 255.0
    filter_hw = (min(apply_hw[0], scale * chroma.shape[0]), min(apply_hw[1], scale * chroma.shape[1]))
    small_guide = cv2.resize(guide, filter_hw[::-1], interpolation=cv2.INTER_AREA)
    src = resize(chroma, filter_hw, cv2.INTER_LINEAR)
    mean_i = _box(small_guide, radius)
    var_i = _box(small_guide * small_guide, radius) - mean_i * mean_i
    mean_p = _box(src, radius)
    cov_ip = _box(src * small_guide[:, :, None], radius) - mean_p * mean_i[:, :, None]
    a = cov_ip / (var_i + eps)[:, :, None]
    b = mean_p - a * mean_i[:, :, None]
    ab = cv2.multiply(resize(_box(a, radius), apply_hw, cv2.INTER_LINEAR), cv2.merge([guide] * a.shape[2]))
    return cv2.add(ab, resize(_box(b, radius), apply_hw, cv2.INTER_LINEAR), dst=ab)


def chroma_u8(chroma: np.ndarray) -> np.ndarray:
    """Float (a, b) -> cv2's 8-bit chroma (a + 128, b + 128), rounded and saturated."""
    return np.clip(np.rint(chroma + CHROMA_OFFSET), 0, 255).astype(np.uint8)


def _lab8_to_rgb_keeping_l(lab: np.ndarray, l8: np.ndarray) -> np.ndarray:
    """8-bit Lab (h, w, 3) with L channel `l8` -> RGB uint8; chroma is reduced where gamut
    clipping would move L by more than `L_TOLERANCE` (only possible where a channel clipped).
    """
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    unclipped = cv2.inRange(rgb, UNCLIPPED_LOW, UNCLIPPED_HIGH)
    if cv2.countNonZero(unclipped) == unclipped.size:
        return rgb
    l_out = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[:, :, 0]
    # a numpy comparison: cv2.compare takes a 1x1 array for a scalar and answers 4x1 (a 1-pixel photo)
    moved = cv2.absdiff(l_out, l8) > L_TOLERANCE
    if not moved.any():
        return rgb
    ys, xs = np.nonzero(moved)
    sub_lab = lab[ys, xs][:, None]
    for keep in GAMUT_CHROMA_STEPS:
        ab = sub_lab[:, :, 1:].astype(np.float32)
        sub_lab[:, :, 1:] = np.rint((ab - CHROMA_OFFSET) * keep + CHROMA_OFFSET).astype(np.uint8)
        sub_rgb = cv2.cvtColor(sub_lab, cv2.COLOR_Lab2RGB)
        rgb[ys, xs] = sub_rgb[:, 0]
        l_sub = cv2.cvtColor(sub_rgb, cv2.COLOR_RGB2Lab)[:, 0, 0]
        still = np.abs(l_sub.astype(np.int16) - sub_lab[:, 0, 0]) > L_TOLERANCE
        if not still.any():
            break
        ys, xs, sub_lab = ys[still], xs[still], sub_lab[still]
    return rgb


def recombine(l8: np.ndarray, ab8: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write RGB = Lab(l8, bilinear-upsampled 8-bit chroma `ab8`) into `out[..., :3]`, tile by tile."""
    ab_full = cv2.resize(ab8, (l8.shape[1], l8.shape[0]), interpolation=cv2.INTER_LINEAR)
    for y0 in range(0, l8.shape[0], TILE_ROWS):
        y1 = min(y0 + TILE_ROWS, l8.shape[0])
        lab = cv2.merge([l8[y0:y1], ab_full[y0:y1]])
        out[y0:y1, :, :3] = _lab8_to_rgb_keeping_l(lab, l8[y0:y1])
    return out
