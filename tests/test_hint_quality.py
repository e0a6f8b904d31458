"""Hints given to the same kind of things (`colour_control.SemanticHints`, on in `ChromaEditor.from_model`):
an object no hint lands on takes the colour of a hinted object like it, and a hint's own spot keeps the
picked colour. Real sample photos and the real EfficientNet-Lite0 trunk; no mocks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from colorcore.data.imageio import luma
from colorcore.inference.colour_control import ChromaEditor, ColourControls, SemanticHints, hint_chroma, painted_hints
from colorcore.inference.hints import Hints, PointHint, StrokeHint, rgb_to_hex
from colorcore.data.imageio import read_image

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"
BLUE = "#2050c0"
PATCH = 120  # px: the side of each copy of the sample's crop


def twin_objects() -> tuple[np.ndarray, tuple[slice, slice], tuple[slice, slice]]:
    """A gray photo: the same crop of a real photo (a cat's face) twice, far apart on a plain dark
    background with a light band between them (edges the walk does not cross); and the two copies'
    (rows, cols)."""
    cat = luma(read_image(SAMPLES / "chelsea.jpg"))
    crop = cat[40:40 + PATCH, 140:140 + PATCH]
    rng = np.random.default_rng(0)
    photo = np.clip(40 + rng.normal(0, 2, (200, 560)), 0, 255).astype(np.uint8)
    photo[:, 250:310] = 220  # a light band: a strong edge on each side
    left, right = (slice(40, 40 + PATCH), slice(40, 40 + PATCH)), (slice(40, 40 + PATCH), slice(400, 400 + PATCH))
    photo[left] = crop
    photo[right] = crop
    return photo, left, right


def blue_share(rgb: np.ndarray) -> float:
    """Mean of (B - Y') minus (R - Y'): how far the colours lean towards the picked blue."""
    rgb = rgb.astype(np.float32)
    y = rgb @ np.float32((0.299, 0.587, 0.114))
    return float(((rgb[:, :, 2] - y) - (rgb[:, :, 0] - y)).mean())


def test_an_unhinted_object_takes_the_colour_of_a_hinted_one_like_it() -> None:
    photo, left, right = twin_objects()
    chroma = np.zeros((64, 64, 2), np.float32)  # a gray start: only the hints colour
    hints = Hints((PointHint((left[1].start + PATCH / 2) / photo.shape[1], 0.5, BLUE),))
    walk_only = ChromaEditor(photo, chroma).render_full(ColourControls(hints=hints))
    semantic = ChromaEditor(photo, chroma, semantic=True).render_full(ColourControls(hints=hints))
    assert blue_share(walk_only[left]) > 40  # the hinted object is blue either way
    assert blue_share(semantic[left]) > 40
    assert blue_share(walk_only[right]) < 5  # the walk stops at the band ...
    assert blue_share(semantic[right]) > 25  # ... the semantic match gives its twin the hint's colour
    band = (slice(None), slice(262, 298))
    assert abs(blue_share(semantic[band])) < 5  # the light band, nothing like the cat, stays gray


def test_each_hint_counts_once_and_an_unlike_region_stays_unmatched() -> None:
    photo, left, right = twin_objects()
    grid = cv2.resize(photo, (192, 69), interpolation=cv2.INTER_AREA)
    semantic = SemanticHints(photo, grid)
    # a blue point on the left cat and a long green stroke on the dark background
    hints = Hints((PointHint(0.175, 0.5, BLUE),), (StrokeHint(((0.6, 0.1), (0.95, 0.1), (0.95, 0.9)), "#30a040"),))
    mask, chroma, hint = painted_hints(hints, grid.shape)
    assert (hint == 1).sum() > 10 * (hint == 0).sum()  # the stroke paints many more pixels
    confidence, colour = semantic.match(mask, chroma, hint)
    twin = colour[23:46, 141:182].reshape(-1, 2).mean(axis=0)  # the right cat, on the grid
    assert np.linalg.norm(twin - hint_chroma(BLUE)) < np.linalg.norm(twin - hint_chroma("#30a040"))
    assert confidence[23:46, 141:182].mean() > 0.5
    assert confidence[:, 91:105].max() < 0.05  # the light band is like neither


def test_the_hints_own_spots_keep_the_picked_colour_on_a_real_photo() -> None:
    truth = read_image(SAMPLES / "citrus_fruits.jpg")[:, :, :3]
    truth = cv2.resize(truth, (384, round(384 * truth.shape[0] / truth.shape[1])), interpolation=cv2.INTER_AREA)
    gray = luma(truth)
    rng = np.random.default_rng(1)
    ys, xs = rng.integers(3, truth.shape[0] - 3, 10), rng.integers(3, truth.shape[1] - 3, 10)
    picked = [truth[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3).mean(axis=0).round().astype(np.uint8) for y, x in zip(ys, xs)]
    hints = Hints(tuple(PointHint((x + 0.5) / truth.shape[1], (y + 0.5) / truth.shape[0], rgb_to_hex(tuple(map(int, c))))
                        for y, x, c in zip(ys, xs, picked)))
    result = ChromaEditor(gray, np.zeros((64, 64, 2), np.float32), semantic=True).render_full(ColourControls(hints=hints))

    def lab_ab(rgb: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(np.asarray(rgb, np.uint8).reshape(-1, 1, 3), cv2.COLOR_RGB2Lab)[:, 0, 1:].astype(float)

    miss = np.linalg.norm(lab_ab(result[ys, xs]) - lab_ab(np.array(picked)), axis=1)
    assert np.percentile(miss, 95) <= 10.0, miss  # the bar for the miss at the hint's own spot
    plain = ChromaEditor(gray, np.zeros((64, 64, 2), np.float32)).render_full(ColourControls(hints=hints))
    error = lambda image: float(((image.astype(float) - truth) ** 2).mean())  # noqa: E731
    assert error(result) < error(plain)  # the semantic match colours more of the photo right than the walk
