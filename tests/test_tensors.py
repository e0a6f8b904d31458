"""uint8 storage <-> model tensor conversions."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from colorcore.core.tensors import batch_from_uint8, gray_input, image_grid, luma_u8, maps_to_uint8, to_uint8_images


def test_luma_matches_opencv_bt601() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (31, 17, 3), dtype=np.uint8)
    ours = luma_u8(rgb).astype(int)
    ref = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(int)
    assert np.abs(ours - ref).max() <= 1


def test_batch_ranges_and_gray_consistency() -> None:
    rng = np.random.default_rng(2)
    rgb = torch.from_numpy(rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8))
    edge = torch.from_numpy((rng.random((2, 8, 8)) > 0.5).astype(np.uint8) * 255)
    sal = torch.from_numpy(rng.integers(0, 256, (2, 8, 8), dtype=np.uint8))
    batch = batch_from_uint8(rgb, edge, sal)
    assert batch["gray"].shape == (2, 3, 8, 8) and batch["rgb"].shape == (2, 3, 8, 8)
    assert batch["edge"].shape == (2, 1, 8, 8) and set(batch["edge"].unique().tolist()) <= {0.0, 1.0}
    assert batch["saliency"].min() >= 0 and batch["saliency"].max() <= 1
    assert batch["rgb"].min() >= -1 and batch["rgb"].max() <= 1
    # gray channel round-trips to the numpy luma of the same pixels
    back = to_uint8_images(batch["gray"])[..., 0]
    np.testing.assert_array_equal(back, luma_u8(rgb.numpy()))
    np.testing.assert_array_equal(to_uint8_images(batch["rgb"]), rgb.numpy())
    np.testing.assert_array_equal(maps_to_uint8(batch["saliency"]), sal.numpy())
    assert torch.equal(gray_input(rgb)[:, 0], gray_input(rgb)[:, 2])


def test_image_grid_layout() -> None:
    rows = [np.zeros((3, 4, 5, 3), np.uint8), np.full((3, 4, 5, 3), 7, np.uint8)]
    grid = image_grid(rows, pad=2)
    assert grid.shape == (2 * (4 + 2) + 2, 3 * (5 + 2) + 2, 3)
    assert grid[2, 2, 0] == 0 and grid[2 + 6, 2, 0] == 7 and grid[0, 0, 0] == 255
