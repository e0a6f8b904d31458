"""The user's control over a colourised photo's chroma: colour hints, a reference photo, saturation.

All three act on the chroma layer (Lab a, b) that `colorcore.inference.colorize` recombines with the photo's own
luminance, so they work with any model and never change the photo's L (beyond the usual gamut
safety). In order:

1. **Reference photo** (`ReferenceColours`): the model's chroma is moved per channel towards the
   reference's mean and standard deviation of a and b (Reinhard et al. 2001, in Lab), the gain capped
   at `REFERENCE_MAX_GAIN` so a nearly gray prediction is not blown up into noise.
2. **Hints** (`colorcore.inference.hints`): painted on a grid of `SOLVE_LONG_SIDE` px and propagated by an
   edge-aware random walk with absorption, solved exactly with a sparse LU factorisation
   (`HintPropagation`): a pixel's confidence is min(1, `CONFIDENCE_GAIN` x the probability that a walk
   from it, stepping to neighbours with affinity exp(-dL^2 / 2 EDGE_SIGMA^2) on the bilateral-filtered
   grid luminance (texture smoothed, edges kept), reaches a hint before it is absorbed; one absorption
   length is `HINT_REACH` of the grid's long side); its colour is the hints' colour it reaches. A
   hint's colour is a luma-keeping chroma (`hint_chroma`: B - Y', R - Y'
   of its BT.601 luma Y'), so a pixel takes the picked colour exactly where its gray value is the
   colour's own and never changes its gray value; the colours without hints (model, reference,
   saturation) are moved by the hints' differences from them nearby (the prior, `hint_field`) and
   blended by confidence (`_paint_hints`), the field brought to full size edge-aware. With the
   semantic match (`SemanticHints`, on in `ChromaEditor.from_model`) hints also colour the same kind
   of things elsewhere: pixels whose EfficientNet-Lite0 features (of the gray photo) and lightness are
   like a hinted pixel's take its colour, so an object no hint lands on is coloured like a hinted one.
3. **Saturation** 0..2 scales all chroma (0 gives exactly gray pixels of the photo's L); above 1 no pixel's chroma goes past the sRGB gamut's edge
   for its own L and hue (a table of the largest in-gamut chroma per L and hue).

`ChromaEditor` is the interactive form: built once per photo (model prediction, luminance at screen,
grid and full size), `preview(controls)` renders the screen-size image (the hint solution cached per
set of hints, so a saturation change costs only the recombination) and `render_full(controls)`
reuses the same solution for the full-resolution result. With neutral controls (no hints, no
reference, saturation 1) `render_full` is exactly `colorize.colorize_array`.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from colorcore.inference.chroma import (
    APPLY_LONG_SIDE, GRAY_TO_L8, GUIDE_SCALE, as_image, chroma_u8, guided_chroma, lab_l8, predict_chroma, recombine,
    resize,
)
from colorcore.inference.hints import Hints, SavedEdits, hex_to_rgb
from colorcore.data.imageio import fit_long_side, luma
from colorcore.core.lab import D65_WHITE, LAB_DELTA, XYZ_TO_RGB
from colorcore.models.base import ColorModel, network_size
from colorcore.inference.reference import REFERENCE_MODES, SemanticReference, blended_chroma, has_colour
from colorcore.inference.settings import PREVIEW_LONG_SIDE, SATURATION_MAX

# chosen with benchmarks/bench_hints.py (docs/colour-control.md): the grid by the solve's time (a 256 px
# grid took 180 ms alone; a finer grid also scores lower: more texture steps stop the walk), sigma and
# gain by the leak across edges (synthetic) against the simulated user's PSNR (--part quality): sigma
# 0.025 and gain 3 gained 0.4 dB at 10 points but leaked 0.82 of a hint across a faint edge, not 0.54
SOLVE_LONG_SIDE = 192
EDGE_SIGMA = 0.015  # luminance difference (8-bit Lab L / 255) at which a step's affinity is exp(-1/2)
HINT_REACH = 0.5  # absorption length of the random walk, relative to the grid's long side
CONFIDENCE_GAIN = 2.0  # confidence = min(1, gain * probability of reaching a hint)
# the grid's luminance is bilateral-filtered before its affinities are taken: texture smaller than a
# few grid pixels (fur, grass, noise) no longer stops the walk, edges stronger than this remain
TEXTURE_DIAMETER = 5  # grid px
TEXTURE_SIGMA_L = 10.0  # 8-bit Lab L levels
TEXTURE_SIGMA_SPACE = 2.0  # grid px
# from its second solve the walk reuses the whole grid's factorisation: a solve with up to this many hinted
# grid pixels costs one triangular solve per pixel not seen in the last ones (about 2 ms each), not a new
# factorisation (about 45 ms) ...
CAPACITANCE_PIXELS = 128
CAPACITANCE_NEW = 16  # ... where at most this many of them are new
# the hints' field is brought to full size by the guided filter with this regularisation (luminance
# 0..1): only edges of about 0.1 of the range (25 levels) steer it; smaller (the model's 1e-4) made it
# amplify full-resolution texture the grid never saw into speckle (bench_hints.py --part upsampling)
FIELD_GUIDE_EPS = 1e-2
GAMUT_HUES = 360  # hue bins of the gamut table
GAMUT_BISECTIONS = 16
GAMUT_MARGIN = 0.97  # saturation stops this far inside the gamut edge (hue bins, 8-bit rounding)
REFERENCE_MAX_GAIN = 3.0
REFERENCE_LONG_SIDE = 512  # the reference photo's statistics are taken at this size
MIN_CHROMA_STD = 1.0  # a, b units: below this a channel's spread counts as this much
SOLUTION_CACHE = 16  # hint solutions kept per editor (undo/redo without a new solve)
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # BT.601 R, G, B: the gray photo's luma (`data.imageio.luma`)
PRIOR_SIGMA = 0.25  # the hints' correction of the colours without hints: Gaussian reach, of the grid's long side
PRIOR_SHRINK = 8.0  # ... shrunk towards none as if this many unhinted pixels (weight 1 each) said 0 (4: +0.02 dB at
# 10 hints but a leak of 0.59 across faint edges, not 0.54: bench_hints.py --part propagation --methods engine)
PRIOR_GAIN = 100.0  # ... faded as min(1, gain * probability of reaching a hint) (20: -0.06 dB at 10 hints)
# the hints' field enlarged to a full size beyond the apply resolution is kept as int16: confidence in
# 1/4096, chroma in 1/32 of a unit (a 40 MP photo's field: 240 MB, not 480)
FIELD_SCALES = (4096.0, 32.0, 32.0)
PAINT_EPS = 1e-3  # 8-bit levels: a colour this near the sRGB cube's side has no room towards it
PAINT_ROWS = 32  # rows painted at a time: the temporaries of a few rows stay in the cache
# the semantic match of hints (`SemanticHints`), chosen on the first 15 evaluation photos (bench_hints.py
# --part quality, docs/colour-control.md): what the trunk sees of the gray photo at this long side ...
HINT_FEATURE_LONG_SIDE = 512  # px (384, the reference matching's, scored 0.15 dB less at 10 hints)
HINT_FEATURE_STAGES = (1, 2, 4, 6)  # EfficientNet-Lite0 stages: strides 4, 8, 16 and 32 (without 1: -0.15 dB)
HINT_FEATURE_CELL = 8  # px at HINT_FEATURE_LONG_SIDE: one feature vector per cell
SEMANTIC_TEMPERATURE = 0.07  # softmax over the hinted pixels of (cosine - lightness penalty) / this
SEMANTIC_LIGHTNESS_WEIGHT = 6.0  # cosine lost per (difference of L* / 100) squared (2: -0.06 / -0.18 dB at 10 / 100)
# centred cosine less the lightness penalty, to the most alike hinted pixel, at which the match's confidence is 0 ...
SEMANTIC_UNSURE = -0.2  # (0: -0.2 dB at 10 hints; one hint's confidence over 0.5 on 24 % of a photo, now 33 %)
SEMANTIC_SURE = 0.3  # ... and 1
# a hint's painted grid pixels matched (the match's time grows with them): all, up to an even share of this
# many (a point's one middle pixel only: -0.06 dB at 10 hints on the tuning photos, -0.13 on the others) ...
SEMANTIC_SAMPLE_BUDGET = 64
SEMANTIC_PIXELS_PER_SAMPLE = 16  # ... or one in this many where that is more ...
SEMANTIC_MAX_HINTED = 256  # ... and at most this many of all hints
# with the semantic match the walk's colour has this gain (its confidence keeps CONFIDENCE_GAIN): the
# match's colour is better than the walk's a little away from a hint (gain 0.5: -0.1 dB at 10 hints, 1: -0.4)
SEMANTIC_WALK_GAIN = 0.25


@dataclass(frozen=True)
class ReferenceColours:
    """Mean and standard deviation of a reference photo's Lab chroma (a, b): what it transfers."""

    mean: tuple[float, float]
    std: tuple[float, float]
    paths: tuple[str, ...] = ()  # the reference photo files, when read from files (saved with hints)

    @classmethod
    def from_image(cls, image: np.ndarray) -> ReferenceColours:
        """The chroma statistics of an RGB(A) uint8 photo (taken at `REFERENCE_LONG_SIDE` px)."""
        image = as_image(image)
        if image.ndim == 2:
            return cls((0.0, 0.0), (0.0, 0.0))
        small = resize(image[:, :, :3], fit_long_side(image.shape[:2], REFERENCE_LONG_SIDE), cv2.INTER_AREA)
        ab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[:, :, 1:].reshape(-1, 2)
        return cls(tuple(float(v) for v in ab.mean(axis=0)), tuple(float(v) for v in ab.std(axis=0)))

    def transfer(self, source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(gain, offset) per channel that move chroma with the statistics of `source` (…, 2) to these."""
        values = source.reshape(-1, 2).astype(np.float64)
        mean, std = values.mean(axis=0), np.maximum(values.std(axis=0), MIN_CHROMA_STD)
        gain = np.minimum(np.asarray(self.std) / std, REFERENCE_MAX_GAIN)
        return gain.astype(np.float32), (np.asarray(self.mean) - mean * gain).astype(np.float32)


def load_reference(paths: str | Path | Sequence[str | Path], mode: str = "semantic"
                   ) -> SemanticReference | ReferenceColours:
    """One or several reference photo files as the colours they give: "semantic" (by what things are,
    `colorcore.inference.reference`) or "global" (the mean and spread of their chroma). Raises
    `colorcore.data.imageio.ImageReadError` naming an unreadable or gray file, and
    `colorcore.models.trunks.TrunkUnavailableError` when the semantic matching's network is missing."""
    from colorcore.data import imageio

    if mode not in REFERENCE_MODES:
        raise ValueError(f"reference mode must be one of {', '.join(REFERENCE_MODES)}, got {mode!r}")
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    images = []
    for path in paths:  # decoded reduced where the format allows: only REFERENCE_LONG_SIDE px are used
        image = imageio.read_image(path, min_size=REFERENCE_LONG_SIDE)
        if not has_colour(image):
            raise imageio.ImageReadError(path, "a reference photo must be in colour (this one is gray)")
        images.append(image)
    sources = tuple(str(path) for path in paths)
    if mode == "global":
        colours = ReferenceColours.from_image(np.hstack([resize(image, (REFERENCE_LONG_SIDE, REFERENCE_LONG_SIDE),
                                                                 cv2.INTER_AREA) for image in images])
                                              if len(images) > 1 else images[0])
        return replace(colours, paths=sources)
    return replace(SemanticReference.from_images(images), paths=sources)


@dataclass(frozen=True)
class ColourControls:
    """What the user asked for: hints, a reference photo's colours (by what things are, `SemanticReference`,
    or its global statistics, `ReferenceColours`), saturation (0 gray .. 1 as is .. 2)."""

    hints: Hints = field(default_factory=Hints)
    reference: SemanticReference | ReferenceColours | None = None
    saturation: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.saturation <= SATURATION_MAX:
            raise ValueError(f"saturation must be between 0 and {SATURATION_MAX:g}, got {self.saturation:g}")

    @property
    def neutral(self) -> bool:
        """True when the controls change nothing (the model's colours as they are)."""
        return not self.hints and self.reference is None and self.saturation == 1.0


def saved_edits(controls: ColourControls) -> SavedEdits:
    """What a hints file keeps of `controls`: the hints, the reference photos' absolute paths and mode
    (a reference not read from files is not kept), the saturation."""
    paths = tuple(os.path.abspath(p) for p in getattr(controls.reference, "paths", ()))
    mode = "global" if isinstance(controls.reference, ReferenceColours) else "semantic"
    return SavedEdits(controls.hints, paths, mode, controls.saturation)


def edits_controls(edits: SavedEdits) -> ColourControls:
    """The controls of a hints file's `edits`, its reference photos read again (`load_reference`, whose
    errors name the file)."""
    reference = load_reference(edits.reference_paths, edits.reference_mode) if edits.reference_paths else None
    return ColourControls(edits.hints, reference, edits.saturation)


def _l8_to_gray_table() -> np.ndarray:
    """The gray level (R = G = B) whose 8-bit Lab L is nearest to each L 0..255."""
    return np.abs(GRAY_TO_L8.astype(np.int16)[None, :] - np.arange(256)[:, None]).argmin(axis=1).astype(np.uint8)


L8_TO_GRAY = _l8_to_gray_table()


def hint_ab(color: str) -> tuple[float, float]:
    """Lab (a, b) of an sRGB hex colour (its hue and chroma; its own L is not used)."""
    rgb = np.array([[hex_to_rgb(color)]], np.float32) / 255.0
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[0, 0]
    return float(lab[1]), float(lab[2])


def hint_chroma(color: str) -> tuple[float, float]:
    """The luma-keeping chroma (B - Y', R - Y') of an sRGB hex colour, Y' its BT.601 luma (8-bit units).

    A gray pixel of luma Y' takes the colour (Y' + R - Y', Y' + G - Y', Y' + B - Y'): exactly the picked
    colour where the photo's luma is the colour's own (a gray photo made from it), and never a change
    of the photo's gray value.
    """
    red, green, blue = (float(v) for v in hex_to_rgb(color))
    y = LUMA_WEIGHTS[0] * red + LUMA_WEIGHTS[1] * green + LUMA_WEIGHTS[2] * blue
    return blue - y, red - y


def paint_hints(hints: Hints, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Hints painted on an (h, w) grid: a bool mask of hinted pixels and their luma-keeping chroma
    (`hint_chroma`) float32 (h, w, 2).

    Each hint covers at least the pixel it falls on; later hints paint over earlier ones.
    """
    mask, chroma, _ = painted_hints(hints, shape)
    return mask, chroma


def painted_hints(hints: Hints, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`paint_hints`'s mask and chroma, and which hint painted each pixel: int32 (h, w), the index
    among the points then the strokes (-1 where none)."""
    h, w = shape
    shift = 4  # sub-pixel precision of cv2's drawing (1/16 px)
    canvas = np.zeros((h, w, 4), np.float32)

    def at(x: float, y: float) -> tuple[int, int]:  # pixel centres, kept on the grid
        return (round(min(max(x * w - 0.5, 0.0), w - 1.0) * (1 << shift)),
                round(min(max(y * h - 0.5, 0.0), h - 1.0) * (1 << shift)))

    for index, point in enumerate(hints.points):
        colour = (*hint_chroma(point.color), 1.0, float(index))
        radius = max(0, round(point.width * w / 2 * (1 << shift)))
        cv2.circle(canvas, at(point.x, point.y), radius, colour, -1, cv2.LINE_8, shift)
    for index, stroke in enumerate(hints.strokes, start=len(hints.points)):
        colour = (*hint_chroma(stroke.color), 1.0, float(index))
        thickness = max(1, round(stroke.width * w))
        ends = [at(x, y) for x, y in stroke.points]
        for end in ends:
            cv2.circle(canvas, end, (thickness << shift) // 2, colour, -1, cv2.LINE_8, shift)
        for start, end in zip(ends, ends[1:]):
            cv2.line(canvas, start, end, colour, thickness, cv2.LINE_8, shift)
    mask = canvas[:, :, 2] > 0.5
    return mask, np.ascontiguousarray(canvas[:, :, :2]), np.where(mask, np.rint(canvas[:, :, 3]), -1).astype(np.int32)


class HintPropagation:
    """The edge-aware random walk of one luminance grid: affinities built once, solved per set of hints
    (from the second solve by the whole grid's factorisation and the columns of its inverse at the hinted
    pixels, `CAPACITANCE_PIXELS`: a hint added costs a few triangular solves, not a factorisation)."""

    def __init__(self, l8: np.ndarray, *, sigma: float = EDGE_SIGMA, reach: float = HINT_REACH,
                 texture: bool = True) -> None:
        """`l8`: the grid's 8-bit Lab L (h, w); `sigma` and `reach` as `EDGE_SIGMA`, `HINT_REACH`;
        `texture`: smooth texture away first (bilateral filter, `TEXTURE_DIAMETER` ...)."""
        import scipy.sparse as sp  # here, not at import: every photo and video path imports this module

        self.shape = l8.shape
        lum = l8.astype(np.float32)
        if texture:
            lum = cv2.bilateralFilter(lum, TEXTURE_DIAMETER, TEXTURE_SIGMA_L, TEXTURE_SIGMA_SPACE,
                                      borderType=cv2.BORDER_REFLECT)
        lum = lum.astype(np.float64) / 255.0
        index = np.arange(lum.size).reshape(lum.shape)
        starts, ends, weights = [], [], []
        for a, b in (((slice(None), slice(0, -1)), (slice(None), slice(1, None))),
                     ((slice(0, -1), slice(None)), (slice(1, None), slice(None)))):
            starts.append(index[a].ravel())
            ends.append(index[b].ravel())
            weights.append(np.exp(-((lum[a] - lum[b]) ** 2).ravel() / (2.0 * sigma * sigma)))
        i, j, v = np.concatenate(starts), np.concatenate(ends), np.concatenate(weights)
        self.affinity = sp.csr_matrix((np.r_[v, v], (np.r_[i, j], np.r_[j, i])), shape=(lum.size, lum.size))
        absorption = 1.0 / (reach * max(lum.shape)) ** 2
        degree = np.asarray(self.affinity.sum(axis=1)).ravel()
        self.system = (sp.diags(degree + absorption) - self.affinity).tocsr()
        self._solves = 0
        self._factor: object | None = None  # the whole grid's LU factorisation (from the second solve)
        # columns of the system's inverse (`_inverse_columns`): the grid pixel each slot of `_inverse` holds
        self._columns: OrderedDict[int, int] = OrderedDict()
        self._inverse: np.ndarray | None = None

    def solve(self, mask: np.ndarray, ab: np.ndarray, *, gain: float = CONFIDENCE_GAIN) -> tuple[np.ndarray, np.ndarray]:
        """(confidence (h, w), colour (h, w, 2)) float32 for hinted pixels `mask` with colours `ab`.

        Confidence is min(1, gain * P(reach a hint)); colour is the reached hints' colour (any value
        where the confidence is 0).
        """
        import scipy.sparse.linalg as sla

        fixed = mask.ravel()
        values = np.zeros((fixed.size, 3))
        values[fixed, 0] = 1.0
        values[fixed, 1:] = ab.reshape(-1, 2)[fixed]
        free = ~fixed
        hinted = np.flatnonzero(fixed)
        if free.any() and len(hinted):
            self._solves += 1
            if (self._solves > 1 and len(hinted) <= CAPACITANCE_PIXELS
                    and sum(i not in self._columns for i in hinted.tolist()) <= CAPACITANCE_NEW):
                inverse = self._inverse_columns(hinted)
                weights = np.linalg.solve(inverse[hinted], values[hinted])
                # numpy's own loops, not BLAS: its threads would spin against OpenCV's and torch's
                values[free] = np.einsum("nk,kc->nc", inverse, weights, optimize=False)[free]
            else:  # the first solve (a video frame's only one), or many hinted pixels: factorised afresh
                lu = sla.splu(self.system[free][:, free].tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                              options={"SymmetricMode": True})
                values[free] = lu.solve((self.affinity @ values)[free])
        reached = values[:, 0]
        colour = values[:, 1:] / np.maximum(reached, 1e-12)[:, None]
        confidence = np.minimum(gain * reached, 1.0)
        return (confidence.reshape(self.shape).astype(np.float32),
                colour.reshape(*self.shape, 2).astype(np.float32))

    def _inverse_columns(self, indices: np.ndarray) -> np.ndarray:
        """(n, k) float64: the columns `indices` of the whole grid's system's inverse (the last
        `CAPACITANCE_PIXELS` kept). A solve with hints on those pixels is then x = these @ q with q
        solving x = the hints' values there: x is 0 = (system @ x) on every other pixel, as the walk's
        equations want, and takes the hints' values on theirs (the capacitance matrix method)."""
        import scipy.sparse.linalg as sla

        if self._factor is None:
            self._factor = sla.splu(self.system.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                    options={"SymmetricMode": True})
            self._inverse = np.empty((self.system.shape[0], CAPACITANCE_PIXELS), order="F")
        wanted = indices.tolist()
        for i in wanted:  # the pixels wanted now are the last to go
            if i in self._columns:
                self._columns.move_to_end(i)
        missing = [i for i in wanted if i not in self._columns]
        free = list(range(len(self._columns), CAPACITANCE_PIXELS))
        while len(free) < len(missing):
            free.append(self._columns.popitem(last=False)[1])
        for i, slot in zip(missing, free):  # one at a time: BLAS-2 in SuperLU, not threaded BLAS-3
            unit = np.zeros(self.system.shape[0])
            unit[i] = 1.0
            self._inverse[:, slot] = self._factor.solve(unit)
            self._columns[i] = slot
        return self._inverse[:, [self._columns[i] for i in wanted]]


@torch.no_grad()
def hint_features(gray: np.ndarray) -> np.ndarray:
    """(rows, cols, channels) float32 unit vectors: what EfficientNet-Lite0 sees in each
    `HINT_FEATURE_CELL` cell of a gray uint8 photo at `HINT_FEATURE_LONG_SIDE` px, stages
    `HINT_FEATURE_STAGES` each L2-normalised and brought to the cell grid, then centred on the photo's
    mean (what every cell shares, e.g. the ReLU's positive floor, says nothing) and normalised again.
    Raises `colorcore.models.trunks.TrunkUnavailableError` when the network's weights are missing."""
    import torch.nn.functional as F

    from colorcore.models.trunks import imagenet_input
    from colorcore.inference.reference import shared_trunk

    cell = HINT_FEATURE_CELL
    h, w = fit_long_side(gray.shape, HINT_FEATURE_LONG_SIDE)
    h, w = max(cell, round(h / cell) * cell), max(cell, round(w / cell) * cell)
    small = cv2.resize(np.ascontiguousarray(gray), (w, h), interpolation=cv2.INTER_AREA)
    x = imagenet_input(torch.from_numpy(small).float()[None, None].expand(1, 3, h, w))
    stages = shared_trunk().stages(x, last_stage=max(HINT_FEATURE_STAGES))
    grid = (h // cell, w // cell)
    levels = [F.normalize(F.interpolate(stages[i], size=grid, mode="bilinear", align_corners=False)
                          if stages[i].shape[-2:] != grid else stages[i], dim=1) for i in HINT_FEATURE_STAGES]
    features = torch.cat(levels, dim=1)[0].permute(1, 2, 0)
    features = F.normalize(features - features.mean(dim=(0, 1)), dim=2)
    return features.contiguous().numpy()


class SemanticHints:
    """Hints given to the same kind of things: each pixel of the solve grid takes the colours of the
    hinted pixels whose trunk features (`hint_features`) and lightness resemble its own, so objects no
    hint lands on take the colour of hinted objects like them (`colorcore.inference.reference`'s matching, the
    hinted pixels as the reference). Built once per photo; each set of hints costs one small matrix
    product and a softmax."""

    def __init__(self, gray: np.ndarray, grid_l8: np.ndarray) -> None:
        """`gray`: the photo's luma uint8 (any size); `grid_l8`: the solve grid's 8-bit Lab L."""
        self.features = hint_features(gray)
        self.shape = grid_l8.shape
        self.lightness = grid_l8.astype(np.float32) * np.float32(100.0 / 255.0)

    def _sampled(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The features at grid pixels (`rows`, `cols`), bilinear on the cell grid, normalised."""
        fh, fw, _ = self.features.shape
        y = np.clip((rows + 0.5) * (fh / self.shape[0]) - 0.5, 0, fh - 1)
        x = np.clip((cols + 0.5) * (fw / self.shape[1]) - 0.5, 0, fw - 1)
        y0, x0 = np.minimum(y.astype(np.int64), fh - 1), np.minimum(x.astype(np.int64), fw - 1)
        y1, x1 = np.minimum(y0 + 1, fh - 1), np.minimum(x0 + 1, fw - 1)
        dy, dx = (y - y0)[:, None].astype(np.float32), (x - x0)[:, None].astype(np.float32)
        f = self.features
        sampled = ((f[y0, x0] * (1 - dx) + f[y0, x1] * dx) * (1 - dy) + (f[y1, x0] * (1 - dx) + f[y1, x1] * dx) * dy)
        return sampled / np.maximum(np.linalg.norm(sampled, axis=1, keepdims=True), 1e-6)

    @staticmethod
    def _matched_pixels(mask: np.ndarray, hint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) of the hinted pixels matched: of each hint all of them up to an even share of
        `SEMANTIC_SAMPLE_BUDGET`, or one in `SEMANTIC_PIXELS_PER_SAMPLE` when that is more (at least one:
        a point is one pixel), evenly along it, at most `SEMANTIC_MAX_HINTED` in all."""
        rows, cols = np.nonzero(mask)
        owner = hint[rows, cols]
        order = np.argsort(owner, kind="stable")
        rows, cols, owner = rows[order], cols[order], owner[order]
        counts = np.bincount(owner)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        share = SEMANTIC_SAMPLE_BUDGET // max(1, int(np.count_nonzero(counts)))
        keep = [start + ((np.arange(samples) + 0.5) * (count / samples)).astype(np.int64)  # a point: its middle
                for start, count in zip(starts, counts) if count
                for samples in [min(count, max(1, share, count // SEMANTIC_PIXELS_PER_SAMPLE))]]
        keep = np.concatenate(keep) if keep else np.zeros(0, np.int64)
        if len(keep) > SEMANTIC_MAX_HINTED:
            keep = keep[np.linspace(0, len(keep) - 1, SEMANTIC_MAX_HINTED).round().astype(np.int64)]
        return rows[keep], cols[keep]

    def match(self, mask: np.ndarray, chroma: np.ndarray, hint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(confidence (h, w), chroma (h, w, 2)) float32 on the grid for hinted pixels `mask` with chroma
        `chroma`, painted by hint number `hint` (`painted_hints`): the softmax over the hinted pixels of
        (cosine of the features - `SEMANTIC_LIGHTNESS_WEIGHT` x (difference of L* / 100)^2) /
        `SEMANTIC_TEMPERATURE`, each hint's pixels sharing one hint's weight (a long stroke counts as
        much as a point), weighs their chroma; the confidence rises from 0 to 1 as the cosine to the
        most alike hinted pixel goes from `SEMANTIC_UNSURE` to `SEMANTIC_SURE`."""
        rows, cols = self._matched_pixels(mask, hint)
        owner = hint[rows, cols]
        share = np.float32(SEMANTIC_TEMPERATURE) * np.log(np.bincount(owner)[owner]).astype(np.float32)
        h, w = self.shape
        if not len(rows):
            return np.zeros((h, w), np.float32), np.zeros((h, w, 2), np.float32)
        import torch.nn.functional as F

        fh, fw, channels = self.features.shape
        cosine = torch.from_numpy(self.features.reshape(-1, channels)) @ torch.from_numpy(self._sampled(rows, cols)).T
        cosine = F.interpolate(cosine.T.reshape(1, -1, fh, fw), size=(h, w), mode="bilinear", align_corners=False)
        cosine = cosine[0].permute(1, 2, 0).numpy()
        difference = (self.lightness[:, :, None] - self.lightness[rows, cols]) * np.float32(0.01)
        score = cosine - np.float32(SEMANTIC_LIGHTNESS_WEIGHT) * difference * difference
        best = score.max(axis=2)
        logits = (score - share) * np.float32(1.0 / SEMANTIC_TEMPERATURE)
        logits -= logits.max(axis=2, keepdims=True)
        weights = np.exp(logits, out=logits)
        weights /= weights.sum(axis=2, keepdims=True)
        colour = weights.reshape(h * w, -1) @ chroma[rows, cols]
        confidence = np.clip((best - SEMANTIC_UNSURE) / (SEMANTIC_SURE - SEMANTIC_UNSURE), 0.0, 1.0)
        return confidence.astype(np.float32), colour.reshape(h, w, 2).astype(np.float32)



def _inside_srgb(lightness: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where Lab (D65) is an sRGB colour (linear RGB within [0, 1], no clipping needed)."""
    fy = np.broadcast_to((lightness + 16.0) / 116.0, np.broadcast_shapes(np.shape(lightness), np.shape(a)))
    f = np.stack([fy + a / 500.0, fy, fy - b / 200.0])
    t = np.where(f > LAB_DELTA, f ** 3, 3 * LAB_DELTA ** 2 * (f - 4.0 / 29.0)) * np.reshape(D65_WHITE, (3, 1, 1))
    linear = np.einsum("ij,j...->i...", np.asarray(XYZ_TO_RGB), t)
    return np.all((linear >= 0.0) & (linear <= 1.0), axis=0)


@lru_cache(maxsize=1)
def max_chroma_table() -> np.ndarray:
    """(256, `GAMUT_HUES`) float32: the largest Lab chroma in the sRGB gamut per 8-bit L and hue bin,
    the smaller of the bin's two edges (bisection; the in-gamut chromas of one L and hue form an
    interval from 0)."""
    lightness = (np.arange(256) * (100.0 / 255.0))[:, None]
    hue = np.arange(GAMUT_HUES) * (2 * np.pi / GAMUT_HUES)
    low, high = np.zeros((256, GAMUT_HUES)), np.full((256, GAMUT_HUES), 200.0)
    for _ in range(GAMUT_BISECTIONS):
        mid = (low + high) / 2
        inside = _inside_srgb(lightness, mid * np.cos(hue), mid * np.sin(hue))
        low, high = np.where(inside, mid, low), np.where(inside, high, mid)
    return np.minimum(low, np.roll(low, -1, axis=1)).astype(np.float32)  # bin i: hues i..i+1


def saturate(l8: np.ndarray, ab: np.ndarray, saturation: float) -> np.ndarray:
    """Chroma `ab` (h, w, 2) float32 scaled by `saturation`, in place. Above 1 no pixel goes past the
    sRGB gamut's edge for its own L `l8` (h, w) and hue (`max_chroma_table` times `GAMUT_MARGIN`);
    one already past it stays as it is (the recombination reduces it, as without saturation)."""
    if saturation <= 1.0:
        ab *= saturation
        return ab
    chroma, angle = cv2.cartToPolar(np.ascontiguousarray(ab[:, :, 0]), np.ascontiguousarray(ab[:, :, 1]))
    hue_bin = (angle * (GAMUT_HUES / (2 * np.pi))).astype(np.int32) % GAMUT_HUES
    limit = max_chroma_table()[l8, hue_bin] * np.float32(GAMUT_MARGIN)
    factor = np.clip(limit / np.maximum(chroma, 1e-6), 1.0, saturation)
    ab *= factor[:, :, None]
    return ab


_WEIGHTS = np.float32(LUMA_WEIGHTS)
_OWN_OFFSETS = np.eye(3, dtype=np.float32) - _WEIGHTS[None, :]  # RGB -> its offsets from its luma
# the hints' field (c, B - Y', R - Y') -> 1 - c in each channel (affine), and -> the RGB offsets from luma
# (R - Y', G - Y', B - Y'), G - Y' = -(0.299 (R - Y') + 0.114 (B - Y')) / 0.587 (their luma is 0)
_FIELD_KEEP = np.array([[-1.0, 0.0, 0.0, 1.0]] * 3, np.float32)
_FIELD_OFFSETS = np.array([[0.0, 0.0, 1.0], [0.0, -_WEIGHTS[2] / _WEIGHTS[1], -_WEIGHTS[0] / _WEIGHTS[1]],
                           [0.0, 1.0, 0.0]], np.float32)
_ROOM_UP = np.hstack([-np.eye(3, dtype=np.float32), np.full((3, 1), 255.0, np.float32)])  # 255 - value


def _painted_tile(gray: np.ndarray, field: np.ndarray, keep: np.ndarray, offsets: np.ndarray, saturation: float,
                  rgb: np.ndarray) -> np.ndarray:
    """`ChromaEditor._paint_hints` on a few rows: RGB uint8 of luma `gray` (h, w), the colours without
    hints `rgb` (h, w, 3) and the field (h, w, 3) float32, whose `keep` (3 x 4) and `offsets` (3 x 3)
    matrices give 1 - c and the RGB offsets. The offsets' scale is the largest in 0..`saturation` that
    keeps every channel in 0..255: 1 / max(1 / saturation, offset / (255 - base), -offset / base)."""
    ones = cv2.transform(field, keep)
    cv2.threshold(ones, 1.0, 0.0, cv2.THRESH_TRUNC, dst=ones)
    cv2.threshold(ones, 0.0, 0.0, cv2.THRESH_TOZERO, dst=ones)  # 1 - c, c clipped to 0..1
    base = cv2.multiply(cv2.transform(rgb.astype(np.float32), _OWN_OFFSETS), ones)
    base += gray[:, :, None]
    shift = cv2.transform(field, offsets)
    up = cv2.transform(base, _ROOM_UP)
    np.maximum(up, PAINT_EPS, out=up)
    need = cv2.max(cv2.divide(shift, up), cv2.divide(shift, np.maximum(base, PAINT_EPS), scale=-1.0))
    need = cv2.reduce(need.reshape(-1, 3), 1, cv2.REDUCE_MAX).reshape(gray.shape)
    scale = np.reciprocal(np.maximum(need, np.float32(1.0 / saturation), out=need), out=need)  # numpy: cv2
    shift *= scale[:, :, None]  # would take a 1 x 1 array for a scalar
    value = cv2.add(base, shift, dst=base)
    cv2.threshold(value, 0.0, 0.0, cv2.THRESH_TOZERO, dst=value)
    return cv2.convertScaleAbs(value)  # rounded, at most 255


@dataclass(frozen=True, eq=False)
class _HintGrid:
    """What a set of hints gives on the solve grid whatever the colours without hints (`ChromaEditor.hint_field`)."""

    weight: np.ndarray  # float32 (h, w): 1 on hinted pixels
    painted: np.ndarray  # float32 (h, w, 2): their luma-keeping chroma
    sigma: float  # grid px: the Gaussian reach of the correction
    shrunk: np.ndarray  # float32 (h, w, 1): the hinted pixels' blurred weight plus PRIOR_SHRINK
    fade: np.ndarray  # float32 (h, w, 1): the correction's fading by the walk's probability
    field: np.ndarray  # float32 (h, w, 3): confidence c and c * the hints' colour
    rest: np.ndarray  # float32 (h, w, 1): 1 - c, the correction's share


class ChromaEditor:
    """One photo's colour, interactively: `preview(controls)` at screen size, `render_full(controls)`.

    Built once per photo from its model prediction (see `from_model`); keeps the photo's luminance at
    full, grid and (from the first preview) screen size, and the model's chroma on the grid and at
    screen size. Hint solutions are cached per set of hints (the last `SOLUTION_CACHE`), shared by
    preview and full render. Not thread-safe: call it from one thread at a time (e.g. a GUI worker).
    """

    def __init__(
        self, image: np.ndarray, chroma: np.ndarray, *, guided: bool = True,
        preview_long_side: int = PREVIEW_LONG_SIDE, solve_long_side: int = SOLVE_LONG_SIDE,
        guide_scale: int = GUIDE_SCALE, edge_sigma: float = EDGE_SIGMA, hint_reach: float = HINT_REACH,
        confidence_gain: float = CONFIDENCE_GAIN, texture: bool = True, field_eps: float = FIELD_GUIDE_EPS,
        semantic: bool = False,
    ) -> None:
        """`image`: the photo (gray, RGB or RGBA uint8; kept, not copied); `chroma`: the model's (a, b)
        prediction (h, w, 2) from `chroma.predict_chroma`; `guided` as in `colorize_array`;
        `guide_scale`: the guided filter's grid relative to `chroma` (`chroma.guided_chroma`'s
        `scale`; a video frame's chroma comes on a finer grid, `colorcore.inference.video.STATE_SCALE` times).
        The hints' propagation: `edge_sigma`, `hint_reach`, `texture` as `EDGE_SIGMA`, `HINT_REACH`,
        `HintPropagation`'s; `confidence_gain` as `CONFIDENCE_GAIN`; `field_eps` as `FIELD_GUIDE_EPS`
        (the defaults are the engine's; other values are for benchmarks). `semantic`: hints also colour the same kind of
        things elsewhere (`SemanticHints`; its network runs once, at the first hints; without its
        weights the walk works alone). `from_model` turns it on; a video, one editor per frame, keeps
        the walk alone (no network per frame)."""
        self.image = as_image(image)
        self.chroma = np.ascontiguousarray(chroma, np.float32)
        self.guided = guided
        self.guide_scale = guide_scale
        self.l8 = lab_l8(self.image)
        self.preview_shape = fit_long_side(self.l8.shape, preview_long_side)
        grid_l8 = resize(self.l8, fit_long_side(self.l8.shape, solve_long_side), cv2.INTER_AREA)
        self.model_grid = self._model_chroma(grid_l8)
        if self.model_grid.shape[:2] != grid_l8.shape:
            self.model_grid = resize(self.model_grid, grid_l8.shape, cv2.INTER_LINEAR)
        self._grid_l8 = grid_l8
        self._walk = {"sigma": edge_sigma, "reach": hint_reach, "texture": texture}
        self.semantic = semantic
        self.confidence_gain = confidence_gain
        self.field_eps = field_eps
        self._propagation: HintPropagation | None = None  # built at the first hints
        self._semantic_hints: SemanticHints | None = None  # built at the first hints when `semantic`
        self._preview: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._reference_base: tuple[SemanticReference, np.ndarray] | None = None
        self._solutions: OrderedDict[Hints, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._grids: OrderedDict[Hints, _HintGrid] = OrderedDict()
        self._preview_prior: tuple[ColourControls, np.ndarray] | None = None  # the last prior rendered at preview size

    @classmethod
    def from_model(
        cls, image: np.ndarray, model: ColorModel, *, inference_size: int | None = None, fit: str = "squash",
        device: torch.device | str | None = None, guided: bool = True, preview_long_side: int = PREVIEW_LONG_SIDE,
    ) -> ChromaEditor:
        """An editor for `image` with `model`'s prediction (arguments as `colorize.colorize_array`)."""
        image = as_image(image)
        size = network_size(model, inference_size)
        chroma = predict_chroma(luma(image), model, size=size, fit=fit,
                                device=torch.device(device) if device is not None else None)
        return cls(image, chroma, guided=guided, preview_long_side=preview_long_side, semantic=True)

    def _model_chroma(self, l8: np.ndarray) -> np.ndarray:
        """The model's chroma for luminance `l8` as `colorize_array` recombines it (float32): guided
        at the apply resolution, or the prediction itself."""
        return guided_chroma(l8, self.chroma, scale=self.guide_scale) if self.guided else self.chroma

    @property
    def propagation(self) -> HintPropagation:
        """The hint propagation of the photo's solve grid (built when first needed)."""
        if self._propagation is None:
            self._propagation = HintPropagation(self._grid_l8, **self._walk)
        return self._propagation

    @propagation.setter
    def propagation(self, propagation: HintPropagation) -> None:
        """Another propagation of the same grid (its `shape` and `solve`; benchmarks compare them)."""
        self._propagation = propagation
        self._solutions.clear()
        self._grids.clear()

    @property
    def semantic_hints(self) -> SemanticHints | None:
        """The semantic match of hints (built when first needed), None when off or its network is missing."""
        if self.semantic and self._semantic_hints is None:
            from colorcore.models.trunks import TrunkUnavailableError

            try:
                self._semantic_hints = SemanticHints(luma(self.image), self._grid_l8)
            except TrunkUnavailableError:  # the walk alone
                self.semantic = False
        return self._semantic_hints

    def _reached(self, hints: Hints) -> tuple[np.ndarray, np.ndarray]:
        """(probability of reaching a hint, chroma reached) on the solve grid (cached per set of hints)."""
        if hints in self._solutions:
            self._solutions.move_to_end(hints)
        else:
            self._solutions[hints] = self.propagation.solve(*paint_hints(hints, self.propagation.shape), gain=1.0)
            while len(self._solutions) > SOLUTION_CACHE:
                self._solutions.popitem(last=False)
        return self._solutions[hints]

    def hint_solution(self, hints: Hints) -> tuple[np.ndarray, np.ndarray]:
        """(confidence, chroma) of `hints` on the solve grid (see `HintPropagation.solve`; cached)."""
        reached, chroma = self._reached(hints)
        return np.minimum(reached * np.float32(self.confidence_gain), 1.0), chroma

    def reference_chroma(self, reference: SemanticReference) -> np.ndarray:
        """The chroma with `reference`'s colours where it matches, the model's elsewhere, at the
        reference matching's feature size (cached for the last reference)."""
        if self._reference_base is None or self._reference_base[0] is not reference:
            self._reference_base = reference, blended_chroma(luma(self.image), reference, self.chroma)
        return self._reference_base[1]

    def _chroma8(self, l8: np.ndarray, model_chroma: np.ndarray, controls: ColourControls) -> np.ndarray:
        """8-bit chroma for luminance `l8` from the model's chroma there (float32, not modified)."""
        if controls.neutral:
            return chroma_u8(model_chroma)
        gain = offset = semantic = None
        if isinstance(controls.reference, SemanticReference):
            semantic = self.reference_chroma(controls.reference)
        elif controls.reference is not None:
            gain, offset = controls.reference.transfer(self.model_grid)
        apply_shape = fit_long_side(l8.shape, APPLY_LONG_SIDE)
        if semantic is not None:  # edge-aware at full resolution: guided by the photo's own lightness
            ab = guided_chroma(l8, semantic, scale=1)
        elif model_chroma.shape[:2] != apply_shape:
            ab = resize(model_chroma, apply_shape, cv2.INTER_LINEAR)
        else:
            ab = model_chroma.copy()  # unguided: the prediction itself, enlarged
        if gain is not None:
            ab *= gain
            ab += offset
        if controls.saturation != 1.0:
            apply_l8 = l8 if l8.shape == apply_shape else resize(l8, apply_shape, cv2.INTER_AREA)
            saturate(apply_l8, ab, controls.saturation)
        return chroma_u8(ab)

    def _render(self, l8: np.ndarray, gray: np.ndarray | None, model_chroma: np.ndarray | None,
                controls: ColourControls, out: np.ndarray, *, remember: bool = False) -> np.ndarray:
        """RGB for luminance `l8` (and luma `gray`, None: the photo's own) into `out[..., :3]`; saturation
        0 gives exactly gray pixels. Hints are painted over the rest (`_paint_hints`). `remember`: the
        colours without hints are kept and reused while they stay the same (the preview's)."""
        if controls.saturation == 0.0:
            out[:, :, :3] = L8_TO_GRAY[l8][:, :, None]
            return out
        if model_chroma is None:
            model_chroma = self._model_chroma(l8)
        if gray is None and controls.hints:
            gray = luma(self.image)  # before `out` (maybe the image itself) is written
        prior = replace(controls, hints=Hints())
        if remember and self._preview_prior is not None and self._preview_prior[0] == prior:
            out[:, :, :3] = self._preview_prior[1]
        else:
            recombine(l8, self._chroma8(l8, model_chroma, prior), out)
            if remember:
                self._preview_prior = prior, out[:, :, :3].copy()
        if not controls.hints:
            return out
        return self._paint_hints(l8, gray, self.hint_field(l8, controls.hints, prior), controls.saturation, out)

    def _prior_chroma(self, prior: ColourControls) -> np.ndarray:
        """The luma-keeping chroma (B - Y', R - Y') float32 (h, w, 2) of the colours without hints on
        the solve grid."""
        rgb = self._render(self._grid_l8, None, self.model_grid, prior, np.empty((*self._grid_l8.shape, 3), np.uint8))
        rgb = rgb.astype(np.float32)
        y = rgb @ np.float32(LUMA_WEIGHTS)
        return np.stack([rgb[:, :, 2] - y, rgb[:, :, 0] - y], axis=2)

    def _hint_grid(self, hints: Hints) -> _HintGrid:
        """What `hints` give on the solve grid whatever the colours without them (cached per set of hints)."""
        if hints in self._grids:
            self._grids.move_to_end(hints)
            return self._grids[hints]
        reached, chroma = self._reached(hints)
        confidence = np.minimum(reached * np.float32(self.confidence_gain), 1.0)
        mask, painted, hint = painted_hints(hints, confidence.shape)
        weight = mask.astype(np.float32)
        sigma = PRIOR_SIGMA * max(weight.shape)
        c = confidence[:, :, None]
        semantic = self.semantic_hints
        if semantic is None:
            total, colour = c, chroma
        else:  # the walk's colour near hints, the semantic match's further, the corrected prior where neither
            sure, matched = semantic.match(mask, painted, hint)
            walk = np.minimum(reached * np.float32(SEMANTIC_WALK_GAIN), 1.0)[:, :, None]
            s = sure[:, :, None] * (1.0 - walk)
            total = np.maximum(walk + s, c)
            colour = (walk * chroma + s * matched) / np.maximum(walk + s, np.float32(1e-6))
        grid = _HintGrid(
            weight=weight, painted=painted, sigma=sigma,
            shrunk=(self._blurred(weight, sigma) + np.float32(PRIOR_SHRINK))[:, :, None],
            fade=np.minimum(reached * np.float32(PRIOR_GAIN), 1.0)[:, :, None],
            field=np.concatenate([total, total * colour], axis=2), rest=1.0 - total)
        self._grids[hints] = grid
        while len(self._grids) > SOLUTION_CACHE:
            self._grids.popitem(last=False)
        return grid

    @staticmethod
    def _blurred(values: np.ndarray, sigma: float) -> np.ndarray:
        """`values` Gaussian-blurred (`sigma` grid px), scaled so that a blurred pixel's own weight is 1."""
        spread = np.float32(2.0 * np.pi * sigma * sigma)
        return cv2.GaussianBlur(values, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) * spread

    def hint_field(self, l8: np.ndarray, hints: Hints, prior: ColourControls = ColourControls()) -> np.ndarray:
        """The hints' field float32 (h, w, 3) at the apply resolution of luminance `l8`: confidence c and
        the chroma c * hint + (1 - c) * correction, where the correction moves the colours without
        hints (`prior`) by what the hints say of them nearby: the hints' differences from those
        colours, averaged with Gaussian weights (`PRIOR_SIGMA` of the grid's long side), shrunk
        towards 0 (`PRIOR_SHRINK` hinted pixels' weight) and faded as the walk's probability of
        reaching a hint times `PRIOR_GAIN` (so it stops at edges as the hints do, only further out).
        With the semantic match (`SemanticHints`: its confidence s, its colour) the hints' colour is the
        walk's and the match's weighed w = min(1, `SEMANTIC_WALK_GAIN` x the walk's probability) and
        (1 - w) s, its confidence the larger of w + (1 - w) s and c. Solved on the grid, brought to `l8`'s
        apply size edge-aware (`chroma.guided_chroma`, guided by the full-resolution luminance,
        regularised by `field_eps` so that only real edges steer it)."""
        grid = self._hint_grid(hints)
        difference = (grid.painted - self._prior_chroma(prior)) * grid.weight[:, :, None]
        correction = self._blurred(difference, grid.sigma) / grid.shrunk
        correction *= grid.fade
        correction *= grid.rest
        correction += grid.field[:, :, 1:]
        return guided_chroma(l8, np.concatenate([grid.field[:, :, :1], correction], axis=2), scale=1,
                             eps=self.field_eps)

    @staticmethod
    def _paint_hints(l8: np.ndarray, gray: np.ndarray, field: np.ndarray, saturation: float,
                     out: np.ndarray) -> np.ndarray:
        """`out` (RGB, the colours without hints) with the hints' `field` (`hint_field`): each pixel keeps
        its luma `gray`, its chroma is (1 - c) * its own + the field's, scaled by `saturation` and, where
        that would leave the sRGB cube, by less (the hue kept, the gray value kept)."""
        scales = np.ones(3, np.float32)
        if field.shape[:2] != gray.shape:  # enlarged as int16 (`FIELD_SCALES`)
            scales = np.float32(FIELD_SCALES)
            field = np.rint(np.clip(field * scales, -32767, 32767)).astype(np.int16)
            field = cv2.resize(field, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
        keep = _FIELD_KEEP / np.append(scales, 1.0)
        offsets = _FIELD_OFFSETS / scales
        for y0 in range(0, gray.shape[0], PAINT_ROWS):
            rows = slice(y0, y0 + PAINT_ROWS)
            out[rows, :, :3] = _painted_tile(gray[rows], np.asarray(field[rows], np.float32), keep, offsets, saturation,
                                             out[rows, :, :3])
        return out

    def preview(self, controls: ColourControls = ColourControls()) -> np.ndarray:
        """The result at `preview_shape` as RGB uint8 (h, w, 3)."""
        if self._preview is None:  # made at the first preview: a batch render never needs it
            l8 = resize(self.l8, self.preview_shape, cv2.INTER_AREA)
            self._preview = l8, resize(luma(self.image), self.preview_shape, cv2.INTER_AREA), self._model_chroma(l8)
        l8, gray, model_chroma = self._preview
        return self._render(l8, gray, model_chroma, controls, np.empty((*self.preview_shape, 3), np.uint8),
                            remember=True)

    def render_full(self, controls: ColourControls = ColourControls(), out: np.ndarray | None = None) -> np.ndarray:
        """The result at the photo's full size: RGB (H, W, 3), or RGBA with the alpha kept for RGBA
        input. `out` may be a preallocated result, the editor's own `image` included (its luminance
        was read when the editor was built)."""
        shape = (*self.image.shape[:2], 4 if self.image.ndim == 3 and self.image.shape[2] == 4 else 3)
        if out is None:
            out = np.empty(shape, np.uint8)
        elif out.shape != shape or out.dtype != np.uint8:
            raise ValueError(f"out must be uint8 {shape}, got {out.dtype} {out.shape}")
        if shape[2] == 4 and not np.shares_memory(out, self.image):
            out[:, :, 3] = self.image[:, :, 3]
        return self._render(self.l8, None, None, controls, out)


__all__ = [
    "CONFIDENCE_GAIN", "EDGE_SIGMA", "HINT_REACH", "PREVIEW_LONG_SIDE", "SATURATION_MAX", "SOLVE_LONG_SIDE",
    "ChromaEditor", "ColourControls", "HintPropagation", "ReferenceColours", "SemanticHints", "hint_ab", "hint_features",
    "load_reference", "painted_hints",
    "edits_controls", "paint_hints", "saturate", "saved_edits",
]
