"""Colour by example: a reference photo's colours given to the same kind of things in the gray photo.

The ImageNet-trained EfficientNet-Lite0 (`colorcore.models.trunks`) sees both photos in gray (the
reference's own luma, so like is compared with like) at `FEATURE_LONG_SIDE` px. Three of its levels
(stride 8, 16 and 32; 40, 112 and 320 channels), each L2-normalised and brought to the stride-8 grid,
describe every cell of 8 x 8 px by what is there. Each gray cell takes the reference cells' colours
weighted by a softmax over cosine similarity (`TEMPERATURE`), less a penalty for a different mean
lightness (`LIGHTNESS_WEIGHT`: the reference's own lightness helps tell sky from a white wall).

A cell's colour is not one a*b* pair: each reference cell keeps its mean a*b* in `L_BINS` lightness
bins (soft binning), so a gray pixel takes the colour the matched region has *at its lightness* (a
dark trunk and bright leaves in one cell keep their own colours). The result at the feature size is
brought to full resolution by the guided filter of the photo's own lightness
(`chroma.guided_chroma`), edge-aware.

Confidence: a cell whose best match is weak (cosine below `CONFIDENT_SIMILARITY`, falling to zero at
`UNMATCHED_SIMILARITY`) keeps the model's colour instead; `SemanticMatch.confidence` says how much
of each cell took the reference's. Hints are applied on top by `colour_control.ChromaEditor` (a hint
always wins where it is).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from colorcore.data.imageio import fit_long_side

FEATURE_LONG_SIDE = 384  # px: both photos are seen by the trunk at this long side
CELL = 8  # px at FEATURE_LONG_SIDE: the matching grid (the trunk's stride-8 level)
FEATURE_STAGES = (2, 4, 6)  # EfficientNet-Lite0 stages (stride 8, 16, 32)
TEMPERATURE = 0.04  # these five chosen on 10 corpus photos (bench_reference.py's protocol; docs/colour-control.md)
LIGHTNESS_WEIGHT = 1.0  # similarity lost per (difference in cell mean L* / 100) squared
L_BINS = 8
# best cosine of a cell: 0.47-0.84 (median) against its own scene, 0.29-0.38 against an unrelated photo;
# the reference is the user's choice, so only cells unlike anything in it keep the model's colour
CONFIDENT_SIMILARITY = 0.45
UNMATCHED_SIMILARITY = 0.25
BIN_PRIOR = 0.5  # pixel count that pulls a sparse lightness bin towards its cell's mean colour
REFERENCE_MODES = ("semantic", "global")


@lru_cache(maxsize=1)
def shared_trunk() -> torch.nn.Module:
    """The EfficientNet-Lite0 trunk, loaded once per process (CPU, eval mode)."""
    from colorcore.models.trunks import load_efficientnet_lite0

    return load_efficientnet_lite0()


def _gray_u8(image: np.ndarray) -> np.ndarray:
    """Luma (Rec. 601, uint8) of a gray, RGB or RGBA uint8 image."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY)


def has_colour(image: np.ndarray) -> bool:
    """False for a gray image: one channel, or R = G = B everywhere."""
    if image.ndim == 2 or image.shape[2] < 3:
        return False
    rgb = image[:, :, :3]
    return bool(np.any(rgb[:, :, 0] != rgb[:, :, 1]) or np.any(rgb[:, :, 1] != rgb[:, :, 2]))


def _feature_size(shape: tuple[int, ...]) -> tuple[int, int]:
    """(h, w) at FEATURE_LONG_SIDE, each a multiple of CELL (at least one cell)."""
    h, w = fit_long_side(shape, FEATURE_LONG_SIDE)
    return max(CELL, round(h / CELL) * CELL), max(CELL, round(w / CELL) * CELL)


@torch.no_grad()
def cell_features(gray: np.ndarray) -> np.ndarray:
    """(cells, channels) float32 unit vectors: what the trunk sees in each CELL x CELL cell of a gray
    uint8 image already at its feature size (h, w multiples of CELL)."""
    from colorcore.models.trunks import imagenet_input

    net = shared_trunk()
    h, w = gray.shape
    x = imagenet_input(torch.from_numpy(np.ascontiguousarray(gray)).float()[None, None].expand(1, 3, h, w))
    stages = net.stages(x, last_stage=max(FEATURE_STAGES))
    grid = (h // CELL, w // CELL)
    levels = []
    for index in FEATURE_STAGES:
        level = stages[index]
        if level.shape[-2:] != grid:
            level = F.interpolate(level, size=grid, mode="bilinear", align_corners=False)
        levels.append(F.normalize(level, dim=1))
    features = torch.cat(levels, dim=1)[0] / np.sqrt(len(levels))
    return features.flatten(1).T.contiguous().numpy()


def _cell_mean(values: np.ndarray) -> np.ndarray:
    """Mean over each CELL x CELL cell of (h, w) -> (cells,), row by row."""
    h, w = values.shape
    return values.reshape(h // CELL, CELL, w // CELL, CELL).mean(axis=(1, 3)).ravel()


def _soft_bins(lightness: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear soft binning of L (0..100) into L_BINS centres: (lower bin, upper bin, upper weight)."""
    position = np.clip(lightness / 100.0 * (L_BINS - 1), 0, L_BINS - 1)
    lower = np.minimum(np.floor(position).astype(np.int64), L_BINS - 2)
    return lower, lower + 1, (position - lower).astype(np.float32)


@dataclass(frozen=True, eq=False)
class SemanticReference:
    """What one or more reference photos offer: per cell, its features, mean L and a*b* per L bin.
    Compared by identity (one object per choice of reference photos)."""

    features: np.ndarray  # (cells, channels) float32, unit vectors
    lightness: np.ndarray  # (cells,) mean L* 0..100
    ab_sums: np.ndarray  # (cells, L_BINS, 2) sums of a*b* per lightness bin (soft counts)
    counts: np.ndarray  # (cells, L_BINS) soft pixel counts per bin
    paths: tuple[str, ...] = ()  # the reference photo files, when read from files (saved with hints)

    @classmethod
    def from_images(cls, images: Sequence[np.ndarray]) -> SemanticReference:
        """The cells of RGB(A) uint8 reference photos (a gray one offers no colour: ValueError)."""
        parts = []
        for image in images:
            if not has_colour(image):
                raise ValueError("a reference photo must be in colour (this one is gray)")
            hw = _feature_size(image.shape)
            rgb = cv2.resize(np.ascontiguousarray(image[:, :, :3]), hw[::-1], interpolation=cv2.INTER_AREA)
            lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
            lower, upper, weight = _soft_bins(lab[:, :, 0])
            h, w = hw
            cell_index = ((np.arange(h) // CELL)[:, None] * (w // CELL) + (np.arange(w) // CELL)[None, :])
            n_cells = (h // CELL) * (w // CELL)
            counts = np.zeros((n_cells * L_BINS,), np.float64)
            sums = np.zeros((n_cells * L_BINS, 2), np.float64)
            for bins, share in ((lower, 1.0 - weight), (upper, weight)):
                flat = (cell_index * L_BINS + bins).ravel()
                counts += np.bincount(flat, share.ravel(), n_cells * L_BINS)
                for channel in range(2):
                    sums[:, channel] += np.bincount(flat, (share * lab[:, :, 1 + channel]).ravel(), n_cells * L_BINS)
            parts.append((cell_features(_gray_u8(rgb)), _cell_mean(lab[:, :, 0]),
                          sums.reshape(n_cells, L_BINS, 2), counts.reshape(n_cells, L_BINS)))
        if not parts:
            raise ValueError("no reference photo given")
        return cls(*(np.concatenate([p[k] for p in parts]).astype(np.float32) for k in range(4)))


@dataclass(frozen=True)
class SemanticMatch:
    """A gray photo's colour from references, at its feature size: a*b* per pixel and the confidence
    per pixel (0: keep the model's colour, 1: the reference's)."""

    ab: np.ndarray  # (h, w, 2) float32
    confidence: np.ndarray  # (h, w) float32


def match(gray: np.ndarray, reference: SemanticReference) -> SemanticMatch:
    """The reference's colours for a gray uint8 image (any size; the result is at its feature size)."""
    hw = _feature_size(gray.shape)
    small = cv2.resize(gray, hw[::-1], interpolation=cv2.INTER_AREA)
    lightness = cv2.cvtColor(cv2.merge([small] * 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[:, :, 0]
    features = torch.from_numpy(cell_features(small))
    similarity = features @ torch.from_numpy(reference.features).T  # (target cells, reference cells)
    best = similarity.max(dim=1).values.numpy()
    cell_l = torch.from_numpy(_cell_mean(lightness).astype(np.float32))
    difference = (cell_l[:, None] - torch.from_numpy(reference.lightness)[None, :]) / 100.0
    weights = torch.softmax((similarity - LIGHTNESS_WEIGHT * difference * difference) / TEMPERATURE, dim=1)
    sums = (weights @ torch.from_numpy(reference.ab_sums.reshape(len(reference.lightness), -1))).numpy()
    counts = (weights @ torch.from_numpy(reference.counts)).numpy()
    sums = sums.reshape(-1, L_BINS, 2)
    cell_mean = sums.sum(axis=1) / np.maximum(counts.sum(axis=1), 1e-6)[:, None]
    # each bin's colour, pulled towards its cell's mean colour where the matched regions have few pixels there
    scale = float(CELL * CELL) / L_BINS
    per_bin = (sums + BIN_PRIOR * scale * cell_mean[:, None, :]) / (counts + BIN_PRIOR * scale)[:, :, None]
    grid = (hw[0] // CELL, hw[1] // CELL)
    per_bin_map = cv2.resize(per_bin.reshape(*grid, L_BINS * 2).astype(np.float32), hw[::-1],
                             interpolation=cv2.INTER_LINEAR).reshape(*hw, L_BINS, 2)
    lower, upper, weight = _soft_bins(lightness)
    rows, cols = np.indices(hw)
    ab = (per_bin_map[rows, cols, lower] * (1.0 - weight)[:, :, None]
          + per_bin_map[rows, cols, upper] * weight[:, :, None])
    confidence = np.clip((best - UNMATCHED_SIMILARITY) / (CONFIDENT_SIMILARITY - UNMATCHED_SIMILARITY), 0, 1)
    confidence_map = cv2.resize(confidence.reshape(grid).astype(np.float32), hw[::-1], interpolation=cv2.INTER_LINEAR)
    return SemanticMatch(ab.astype(np.float32), confidence_map)


def blended_chroma(gray: np.ndarray, reference: SemanticReference, model_chroma: np.ndarray) -> np.ndarray:
    """(h, w, 2) float32 at `gray`'s feature size: the reference's colour where the match is confident,
    the model's chroma (any size; resized) elsewhere."""
    found = match(gray, reference)
    model = cv2.resize(model_chroma, found.ab.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    confidence = found.confidence[:, :, None]
    return found.ab * confidence + model * (1.0 - confidence)
