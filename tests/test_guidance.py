"""colorcore.data.guidance: Canny edge maps and saliency maps, on crafted and random images."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from colorcore.data.guidance import (
    as_uint8,
    canny_thresholds,
    edge_map,
    saliency_map,
    storage_maps,
)
from colorcore.data.imageio import luma
from tests.helpers import make_photo_array


def square_on_gray() -> np.ndarray:
    """64x64 flat gray with a bright yellow 24x24 square in the middle (rows/cols 20..43)."""
    image = np.full((64, 64, 3), 90, np.uint8)
    image[20:44, 20:44] = [250, 250, 60]
    return image


def small_square_on_gray() -> np.ndarray:
    """64x64 flat gray with a small yellow 12x12 square in the middle (rows/cols 26..37)."""
    image = np.full((64, 64, 3), 90, np.uint8)
    image[26:38, 26:38] = [250, 250, 60]
    return image


def test_edges_follow_the_square_outline() -> None:
    edges = edge_map(luma(square_on_gray()))
    assert edges.dtype == np.float32 and edges.shape == (64, 64)
    assert set(np.unique(edges)) == {0.0, 1.0}
    outline = np.zeros((64, 64), bool)
    outline[18:46, 18:46] = True
    outline[23:41, 23:41] = False
    assert edges[outline].sum() >= 4 * 20          # the outline is found...
    assert edges[~outline].sum() == 0               # ...and nothing else (flat areas)


def test_explicit_thresholds_are_used() -> None:
    gray = luma(square_on_gray())
    assert edge_map(gray, low=1000, high=2000).sum() == 0
    assert edge_map(gray, low=10, high=20).sum() > 0


def test_median_rule_for_thresholds() -> None:
    low, high = canny_thresholds(np.full((8, 8), 100, np.uint8))
    assert low == pytest.approx(67.0) and high == pytest.approx(133.0)
    assert canny_thresholds(np.full((4, 4), 250, np.uint8))[1] == 255.0


def test_saliency_highlights_the_odd_object() -> None:
    sal = saliency_map(small_square_on_gray())
    assert sal.dtype == np.float32 and sal.shape == (64, 64)
    assert sal.min() == 0.0 and sal.max() == pytest.approx(1.0)
    assert sal[24:40, 24:40].mean() > 10 * sal[:12, :12].mean()
    fine = saliency_map(small_square_on_gray(), method="fine")
    assert fine[24:40, 24:40].mean() > 1.3 * fine[:12, :12].mean()


def test_constant_image_gives_zero_saliency_and_no_edges() -> None:
    flat = np.full((32, 48, 3), 128, np.uint8)
    np.testing.assert_array_equal(saliency_map(flat), np.zeros((32, 48), np.float32))
    assert edge_map(flat[..., 0]).sum() == 0


def test_unknown_saliency_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown saliency method"):
        saliency_map(square_on_gray(), method="magic")


def test_storage_maps_follow_the_storage_convention() -> None:
    edge, sal = storage_maps(make_photo_array(64, 64, seed=3))
    assert edge.dtype == np.uint8 and sal.dtype == np.uint8
    assert set(np.unique(edge)) <= {0, 255} and edge.max() == 255
    assert sal.max() == 255


def test_as_uint8_scales_16_bit_and_floats() -> None:
    np.testing.assert_array_equal(as_uint8(np.array([0, 32896, 65535], np.uint16)), [0, 128, 255])
    np.testing.assert_array_equal(as_uint8(np.array([np.nan, 0.5, 2.0])), [0, 128, 255])


DTYPES = st.sampled_from([np.uint8, np.uint16, np.int32, np.float32, np.float64, np.bool_])


@st.composite
def arrays(draw: st.DrawFn, channels: tuple[int | None, ...]) -> np.ndarray:
    dtype = draw(DTYPES)
    channel = draw(st.sampled_from(channels))
    shape = (draw(st.integers(1, 40)), draw(st.integers(1, 40)))
    if channel is not None:
        shape += (channel,)
    elements = st.floats(allow_nan=True, allow_infinity=True, width=32) if np.dtype(dtype).kind == "f" else None
    return draw(hnp.arrays(dtype, shape, elements=elements))


@settings(max_examples=60, deadline=None)
@given(gray=arrays((None, 1)), low=st.none() | st.floats(0, 255), high=st.none() | st.floats(0, 255))
def test_edge_map_any_shape_and_dtype(gray: np.ndarray, low: float | None, high: float | None) -> None:
    edges = edge_map(gray, low, high)
    assert edges.shape == gray.shape[:2] and edges.dtype == np.float32
    assert set(np.unique(edges)) <= {0.0, 1.0}


@settings(max_examples=60, deadline=None)
@given(image=arrays((None, 3, 4)), method=st.sampled_from(["spectral", "fine"]))
def test_saliency_map_any_shape_and_dtype(image: np.ndarray, method: str) -> None:
    sal = saliency_map(image, method)
    assert sal.shape == image.shape[:2] and sal.dtype == np.float32
    assert not np.isnan(sal).any()
    assert sal.min() >= 0.0 and sal.max() <= 1.0


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.uint8, st.integers(1, 300), elements=st.integers(0, 255) | st.integers(120, 123)))
def test_canny_thresholds_come_from_the_exact_median(values: np.ndarray) -> None:
    """The histogram median (fast on 64 px crops) is numpy's median, odd and even counts alike."""
    median = float(np.median(values))
    assert canny_thresholds(values) == (max(0.0, (1 - 0.33) * median), min(255.0, (1 + 0.33) * median))


def straightforward_storage_maps(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The storage maps computed the plain way (how earlier versions computed them): Canny with
    thresholds from np.median, OpenCV's spectral residual on a BGR copy, normalised in float64."""
    import cv2

    gray = luma(image)
    median = float(np.median(gray))
    edges = cv2.Canny(gray, max(0.0, (1 - 0.33) * median), min(255.0, (1 + 0.33) * median))
    ok, raw = cv2.saliency.StaticSaliencySpectralResidual_create().computeSaliency(
        np.ascontiguousarray(image[..., ::-1]))
    values = np.nan_to_num(np.asarray(raw, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    sal = ((values - values.min()) / (values.max() - values.min())).astype(np.float32)
    return ((edges > 0) * 255).astype(np.uint8), np.rint(sal * 255).astype(np.uint8)


@pytest.mark.parametrize("seed", range(6))
def test_storage_maps_are_byte_for_byte_the_straightforward_maps(seed: int) -> None:
    """`storage_maps` (the fast path `prepare` runs for every sample) stores exactly what the plain
    computation gives, so datasets prepared before and after it was made faster hold the same bytes;
    and exactly the public float maps x 255."""
    image = make_photo_array(64 + 16 * seed, 64, seed=seed)
    edges, sal = storage_maps(image)
    plain_edges, plain_sal = straightforward_storage_maps(image)
    assert edges.dtype == sal.dtype == np.uint8
    assert np.array_equal(edges, plain_edges) and np.array_equal(sal, plain_sal)
    assert np.array_equal(edges, (edge_map(luma(image)) * 255).astype(np.uint8))
    assert np.array_equal(sal, np.rint(saliency_map(image) * 255).astype(np.uint8))
    assert edges.any() and sal.max() == 255
