"""Full-resolution colourisation: sizes, channels, luminance kept, guided upsampling, files with EXIF."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from colorcore.inference import chroma as ch

from colorcore.inference import colorize as cz
from colorcore.data.imageio import luma, read_image
from colorcore.models.base import MODEL_REGISTRY, ModelConfig, build_model, check_inference_size
from tests.helpers import make_photo_array

EXIF_ORIENTATION = 0x0112
EXIF_MAKE = 0x010F
TEST_MAKE = "ColorCoreTestCam"


@pytest.fixture(scope="module")
def model():
    """A real tiny multipath model (untrained, seeded), in eval mode."""
    torch.manual_seed(0)
    return build_model(ModelConfig(width=8, resnet_weights="none")).eval()


def max_l_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(ch.lab_l8(a).astype(np.int16) - ch.lab_l8(b).astype(np.int16)).max())


def mean_chroma(rgb: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(np.ascontiguousarray(rgb[:, :, :3]), cv2.COLOR_RGB2Lab).astype(np.float32)
    return lab[:, :, 1:].reshape(-1, 2).mean(axis=0) - ch.CHROMA_OFFSET


@pytest.mark.parametrize("guided", [True, False])
def test_odd_size_keeps_size_and_luminance_and_takes_the_models_colour(model, guided: bool) -> None:
    photo = make_photo_array(1001, 667, seed=3)
    out = cz.colorize_array(photo, model, guided=guided)
    assert out.shape == (667, 1001, 3) and out.dtype == np.uint8
    assert max_l_diff(out, photo) <= ch.L_TOLERANCE
    predicted = ch.predict_chroma(luma(photo), model, size=64).reshape(-1, 2).mean(axis=0)
    assert np.abs(predicted).max() > 1.0  # the untrained model does predict some colour
    np.testing.assert_allclose(mean_chroma(out), predicted, atol=1.5)


def test_guided_and_bilinear_differ_and_guided_follows_edges() -> None:
    """Oracle test: the true chroma at 64 px, upsampled; the guided filter bleeds less at the edge."""
    h, w, edge_x = 480, 640, 301
    lab = np.empty((h, w, 3), np.uint8)
    lab[:, :edge_x] = (80, 128 + 50, 128 + 30)  # dark red
    lab[:, edge_x:] = (200, 128 - 20, 128 - 40)  # light blue-green
    truth = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    true_ab = cv2.cvtColor(truth, cv2.COLOR_RGB2Lab)[:, :, 1:].astype(np.float32) - ch.CHROMA_OFFSET
    oracle = cv2.resize(true_ab, (64, 64), interpolation=cv2.INTER_AREA)
    l8 = ch.lab_l8(truth)
    results = {}
    for name, ab in (("guided", ch.guided_chroma(l8, oracle)), ("bilinear", oracle)):
        out = ch.recombine(l8, ch.chroma_u8(ab), np.empty_like(truth))
        assert max_l_diff(out, truth) <= ch.L_TOLERANCE
        got = cv2.cvtColor(out, cv2.COLOR_RGB2Lab)[:, :, 1:].astype(np.float32) - ch.CHROMA_OFFSET
        band = slice(edge_x - 12, edge_x + 12)
        results[name] = np.abs(got[:, band] - true_ab[:, band]).mean()
    assert results["guided"] < 0.9 * results["bilinear"], results


def test_gray_inputs_give_rgb_with_the_same_luminance(model) -> None:
    gray = cv2.cvtColor(make_photo_array(257, 129, seed=4), cv2.COLOR_RGB2GRAY)
    for image in (gray, gray[:, :, None]):
        out = cz.colorize_array(image, model)
        assert out.shape == (129, 257, 3)
        assert max_l_diff(out, np.repeat(gray[:, :, None], 3, axis=2)) <= ch.L_TOLERANCE
    assert np.abs(mean_chroma(out)).max() > 0.5  # colour was added


def test_rgba_keeps_alpha_exactly(model) -> None:
    rgb = make_photo_array(301, 203, seed=5)
    alpha = np.random.default_rng(0).integers(0, 256, rgb.shape[:2], dtype=np.uint8)
    rgba = np.dstack([rgb, alpha])
    out = cz.colorize_array(rgba, model)
    assert out.shape == (203, 301, 4)
    np.testing.assert_array_equal(out[:, :, 3], alpha)
    assert max_l_diff(out, rgb) <= ch.L_TOLERANCE


def test_colour_input_is_treated_as_its_gray_version(model) -> None:
    rgb = make_photo_array(160, 120, seed=6)
    tinted = rgb.copy()
    tinted[:, :, 0] = np.clip(tinted[:, :, 0].astype(int) + 40, 0, 255)
    a, b = cz.colorize_array(rgb, model), cz.colorize_array(rgb[:, :, ::-1].copy(), model)
    assert max_l_diff(a, rgb) <= ch.L_TOLERANCE and max_l_diff(b, rgb[:, :, ::-1]) <= ch.L_TOLERANCE
    gray3 = np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    from_gray = cz.colorize_array(gray3, model)
    np.testing.assert_allclose(mean_chroma(a), mean_chroma(from_gray), atol=1.0)


def test_extreme_chroma_never_moves_luminance() -> None:
    """Gamut clipping: saturated chroma on black-to-white ramps still keeps L within tolerance."""
    ramp = np.tile(np.linspace(0, 255, 300).astype(np.uint8), (40, 1))
    photo = np.dstack([ramp, ramp[:, ::-1], ramp])
    l8 = ch.lab_l8(photo)
    for ab in ((100.0, 100.0), (-100.0, 90.0), (80.0, -110.0)):
        chroma = np.full((8, 8, 2), ab, np.float32)
        out = ch.recombine(l8, ch.chroma_u8(chroma), np.empty_like(photo))
        assert max_l_diff(out, photo) <= ch.L_TOLERANCE
        assert np.abs(mean_chroma(out)).max() > 10  # colour is reduced only where it must be


def test_in_place_and_model_mode_restored(model) -> None:
    photo = make_photo_array(200, 150, seed=7)
    expected = cz.colorize_array(photo, model)
    work = photo.copy()
    model.train()
    try:
        result = cz.colorize_array(work, model, out=work)
        assert model.training  # the caller's mode is restored
    finally:
        model.eval()
    assert result is work
    np.testing.assert_array_equal(work, expected)  # eval mode was used inside


def test_inference_size_and_letterbox(model) -> None:
    assert check_inference_size(model, None) == 64
    assert check_inference_size(model, 128) == 128
    for bad in (0, 100, -64):
        with pytest.raises(ValueError, match="multiple of the model's trained size 64"):
            check_inference_size(model, bad)
    photo = make_photo_array(333, 111, seed=8)
    big = cz.colorize_array(photo, model, inference_size=128)
    boxed = cz.colorize_array(photo, model, fit="letterbox")
    for out in (big, boxed):
        assert out.shape == photo.shape and max_l_diff(out, photo) <= ch.L_TOLERANCE
    assert not np.array_equal(big, cz.colorize_array(photo, model))
    with pytest.raises(ValueError, match="fit"):
        cz.colorize_array(photo, model, fit="crop")


def test_bad_arrays_are_refused_clearly(model) -> None:
    with pytest.raises(ValueError, match="uint8"):
        cz.colorize_array(np.zeros((10, 10, 3), np.float32), model)
    with pytest.raises(ValueError, match="RGBA"):
        cz.colorize_array(np.zeros((10, 10, 5), np.uint8), model)


def _rotated_jpeg(path: Path, rgb: np.ndarray) -> Path:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # viewers rotate 90 degrees clockwise: landscape pixels, portrait photo
    exif[EXIF_MAKE] = TEST_MAKE
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    path.write_bytes(buffer.getvalue())
    return path


def test_portrait_exif_rotated_jpeg_file(model, tmp_path: Path) -> None:
    landscape = make_photo_array(151, 97, seed=9)
    source = _rotated_jpeg(tmp_path / "portrait.jpg", landscape)
    upright = read_image(source)
    assert upright.shape == (151, 97, 3)
    out = cz.colorize_file(source, model, tmp_path / "portrait_colour.jpg")
    result = read_image(out)
    assert result.shape == upright.shape
    l_diff = np.abs(ch.lab_l8(result).astype(np.int16) - ch.lab_l8(upright).astype(np.int16))
    assert l_diff.mean() < 2.0  # same picture, same way up (JPEG re-encoding moves a few pixels a little)
    assert np.abs(ch.lab_l8(result).astype(np.int16) - ch.lab_l8(upright[::-1, ::-1]).astype(np.int16)).mean() > 5
    with Image.open(out) as saved:
        exif = saved.getexif()
        assert saved.size == (97, 151)
        assert exif.get(EXIF_MAKE) == TEST_MAKE  # metadata carried
        assert exif.get(EXIF_ORIENTATION, 1) == 1  # pixels are upright: not rotated twice


def test_rgba_png_file_keeps_alpha(model, tmp_path: Path) -> None:
    rgb = make_photo_array(121, 81, seed=10)
    alpha = np.tile(np.linspace(0, 255, 121).astype(np.uint8), (81, 1))
    source = tmp_path / "cut-out.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(source)
    out = cz.colorize_file(source, model, tmp_path / "cut-out_colour.png", guided=False)
    result = read_image(out, keep_alpha=True)
    assert result.shape == (81, 121, 4)
    np.testing.assert_array_equal(result[:, :, 3], alpha)
    assert max_l_diff(result, rgb) <= ch.L_TOLERANCE


def test_reference_upsample_is_the_plain_prediction(model) -> None:
    photo = make_photo_array(256, 192, seed=11)
    ref = cz.reference_upsample(photo, model)
    assert ref.shape == photo.shape
    assert max_l_diff(ref, photo) > 10  # the plain reference loses the photo's own detail


@pytest.mark.parametrize("name", sorted(MODEL_REGISTRY))
def test_every_registered_model_colourises_at_full_size(name: str) -> None:
    torch.manual_seed(0)
    any_model = build_model(ModelConfig(name=name, width=8, resnet_weights="none")).eval()
    photo = make_photo_array(203, 137, seed=12)
    out = cz.colorize_array(photo, any_model)
    assert out.shape == photo.shape and max_l_diff(out, photo) <= ch.L_TOLERANCE
    assert check_inference_size(any_model, 128) == 128


def test_denormals_are_flushed_only_during_the_prediction() -> None:
    """Inference flushes denormals for speed but leaves IEEE behaviour to the rest of the process."""
    import numpy as np

    from colorcore.core.device import denormals_flushed, flushed_denormals

    assert not denormals_flushed()
    with flushed_denormals():
        assert denormals_flushed()
    assert not denormals_flushed()
    model = build_model(ModelConfig(width=8, resnet_weights="none"))
    cz.colorize_array(np.full((70, 90, 3), 120, np.uint8), model)
    assert not denormals_flushed()
