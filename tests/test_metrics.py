"""PSNR/SSIM/colourfulness against scikit-image and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from colorcore.evaluation.metrics import PSNR_CAP_DB, MetricAccumulator, colourfulness, psnr, ssim


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (3, 40, 37, 3), dtype=np.uint8)
    noise = rng.integers(-40, 40, real.shape)
    fake = np.clip(real.astype(int) + noise, 0, 255).astype(np.uint8)
    return fake, real


def test_psnr_matches_scikit_image(pair: tuple[np.ndarray, np.ndarray]) -> None:
    fake, real = pair
    ours = psnr(fake, real).numpy()
    ref = [peak_signal_noise_ratio(real[i], fake[i], data_range=255) for i in range(len(real))]
    np.testing.assert_allclose(ours, ref, rtol=1e-5)


def test_psnr_hand_value_and_identical_images_capped() -> None:
    real = np.zeros((1, 16, 16, 3), np.uint8)
    fake = np.full_like(real, 10)  # MSE = 100 -> 10*log10(65025/100)
    assert psnr(fake, real).item() == pytest.approx(10 * math.log10(255**2 / 100), rel=1e-6)
    assert psnr(real, real).item() == PSNR_CAP_DB


def test_ssim_matches_scikit_image(pair: tuple[np.ndarray, np.ndarray]) -> None:
    fake, real = pair
    ours = ssim(fake, real).numpy()
    ref = [
        structural_similarity(
            real[i], fake[i], data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False,
        )
        for i in range(len(real))
    ]
    np.testing.assert_allclose(ours, ref, rtol=1e-5)
    assert ssim(real, real).numpy() == pytest.approx(1.0)


def test_colourfulness_gray_is_zero_and_hand_value() -> None:
    gray = np.full((1, 8, 8, 3), 128, np.uint8)
    assert colourfulness(gray).item() == pytest.approx(0.0)
    red = np.zeros((1, 8, 8, 3), np.uint8)
    red[..., 0] = 200  # rg = 200, yb = 100, no spread -> 0.3 * sqrt(200^2 + 100^2)
    assert colourfulness(red).item() == pytest.approx(0.3 * math.hypot(200, 100), rel=1e-6)


def test_accumulator_means_and_per_image(pair: tuple[np.ndarray, np.ndarray]) -> None:
    fake, real = pair
    acc = MetricAccumulator()
    acc.add(fake[:2], real[:2])
    acc.add(fake[2:], real[2:])
    rows = acc.per_image()
    assert len(rows) == 3
    assert acc.summary()["psnr"] == pytest.approx(float(np.mean(psnr(fake, real).numpy())), rel=1e-6)
    assert math.isnan(MetricAccumulator().summary()["ssim"])


def test_read_only_arrays_are_scored_without_a_torch_warning(tmp_path) -> None:
    """A prepared dataset's arrays are read-only memmaps; scoring them must not make torch warn."""
    import warnings

    images = np.lib.format.open_memmap(tmp_path / "rgb.npy", "w+", np.uint8, (2, 16, 16, 3))
    images[:] = 100
    images.flush()
    read_only = np.load(tmp_path / "rgb.npy", mmap_mode="r")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert psnr(read_only, read_only).tolist() == [PSNR_CAP_DB, PSNR_CAP_DB]
        assert float(colourfulness(read_only).max()) == 0.0
