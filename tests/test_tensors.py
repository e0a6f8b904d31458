"""uint8 storage <-> model tensor conversions."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from colorcore.core.tensors import batch_from_uint8, gray_input, image_grid, maps_to_uint8, to_uint8_images
from colorcore.data.imageio import LUMA_FIXED_WEIGHTS, LUMA_SHIFT, luma


def every_rgb_colour() -> np.ndarray:
    """All 2**24 RGB colours as one (4096, 4096, 3) uint8 image."""
    codes = np.arange(1 << 24, dtype=np.uint32)
    return np.stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255], -1).astype(np.uint8).reshape(4096, 4096, 3)


def test_luma_is_bt601_in_opencvs_fixed_point_for_every_colour() -> None:
    rgb = every_rgb_colour()
    exact = (rgb.astype(np.int64) @ np.array(LUMA_FIXED_WEIGHTS) + (1 << (LUMA_SHIFT - 1))) >> LUMA_SHIFT
    np.testing.assert_array_equal(luma(rgb), exact)
    np.testing.assert_array_equal(luma(rgb), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    assert np.abs(exact - rgb.astype(np.float64) @ (0.299, 0.587, 0.114)).max() < 0.51  # BT.601's weights
    rgba = np.dstack([rgb[:64], np.full(rgb[:64].shape[:2], 9, np.uint8)])
    np.testing.assert_array_equal(luma(rgba), luma(rgb[:64]))  # alpha ignored
    np.testing.assert_array_equal(luma(rgb[:64].reshape(4, 16, 4096, 3)), luma(rgb[:64]).reshape(4, 16, 4096))


def test_the_training_input_and_the_inference_input_of_a_photo_agree_exactly() -> None:
    """Issue 28: the gray photo the network is trained on (`gray_input` of a prepared sample) is the gray
    photo it colourises (`predict_chroma`'s input, from `luma` of the same photo), on 4 million colours."""
    from colorcore.core.tensors import gray_input_from_luma

    rgb = every_rgb_colour().reshape(-1, 3)[::4].reshape(1024, 64, 64, 3)  # 1024 photos of 64 x 64: a quarter
    # of every colour, each RGB level in each channel
    training = gray_input(torch.from_numpy(rgb))
    inference = gray_input_from_luma(luma(rgb))
    assert torch.equal(training, inference)


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
    np.testing.assert_array_equal(back, luma(rgb.numpy()))
    np.testing.assert_array_equal(to_uint8_images(batch["rgb"]), rgb.numpy())
    np.testing.assert_array_equal(maps_to_uint8(batch["saliency"]), sal.numpy())
    assert torch.equal(gray_input(rgb)[:, 0], gray_input(rgb)[:, 2])


def test_image_grid_layout() -> None:
    rows = [np.zeros((3, 4, 5, 3), np.uint8), np.full((3, 4, 5, 3), 7, np.uint8)]
    grid = image_grid(rows, pad=2)
    assert grid.shape == (2 * (4 + 2) + 2, 3 * (5 + 2) + 2, 3)
    assert grid[2, 2, 0] == 0 and grid[2 + 6, 2, 0] == 7 and grid[0, 0, 0] == 255
