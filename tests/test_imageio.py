"""colorcore.data.imageio on real files: every kind of photo a user may have, and every broken one."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageOps

from colorcore.data.imageio import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    list_images,
    read_exif,
    read_image,
    to_square,
    write_image,
)

from tests.helpers import make_photo_array, write_photo


def save_pil(image: Image.Image, path: Path, fmt: str, **options: object) -> Path:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    path.write_bytes(buffer.getvalue())
    return path


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def reason_of(path: Path, **kwargs: object) -> str:
    with pytest.raises(ImageReadError) as info:
        read_image(path, **kwargs)
    assert info.value.path == str(path)
    assert str(info.value) == f"{path}: {info.value.reason}"
    return info.value.reason


# --- broken inputs: each raises ImageReadError with a human reason ------------------------------


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert "empty file" in reason_of(path)


def test_text_file_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("these are my holiday notes, not a photo\n")
    assert "not an image" in reason_of(path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    whole = write_photo(tmp_path / "whole.jpg", 200, 150, seed=3).read_bytes()
    path = tmp_path / "truncated.jpg"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    assert "truncated JPEG" in reason_of(path)
    assert "truncated JPEG" in reason_of(path, min_size=16)


def test_corrupt_png(tmp_path: Path) -> None:
    data = bytearray(write_photo(tmp_path / "good.png", 64, 64, seed=4).read_bytes())
    data[120:170] = b"\x00garbage!" * 5 + b"\x00" * 5
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(data))
    assert "corrupt PNG" in reason_of(path)


def test_folder_named_like_a_photo(tmp_path: Path) -> None:
    folder = tmp_path / "x.jpg"
    folder.mkdir()
    assert "folder" in reason_of(folder)


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in reason_of(tmp_path / "nowhere.png")


def test_header_claiming_40000_squared_pixels_is_refused_before_decoding(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    assert path.stat().st_size < 200
    assert "too large: 40000x40000" in reason_of(path)


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    path = write_photo(tmp_path / "p.png", 100, 50)
    assert "too large: 100x50" in reason_of(path, max_pixels=4999)
    assert read_image(path, max_pixels=5000).shape == (50, 100, 3)


# --- unusual but valid photos ------------------------------------------------------------------


def test_16bit_gray_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).round().astype(np.uint16), (4, 1))
    path = save_pil(Image.fromarray(ramp), tmp_path / "gray16.png", "PNG")
    rgb = read_image(path)
    assert rgb.shape == (4, 256, 3) and rgb.dtype == np.uint8
    expected = np.rint(ramp / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(rgb[..., 0], expected)
    assert 120 <= rgb[0, 128, 0] <= 135  # mid-grey stays mid-grey (clipping would give 255)


def test_16bit_rgb_png_is_scaled(tmp_path: Path) -> None:
    rgb16 = np.zeros((8, 8, 3), np.uint16)
    rgb16[..., 0] = 65535
    rgb16[..., 1] = 32896  # 128 * 257
    rgb16[..., 2] = 257
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    assert ok
    path = tmp_path / "rgb16.png"
    path.write_bytes(encoded.tobytes())
    np.testing.assert_array_equal(read_image(path)[0, 0], [255, 128, 1])


def test_rgba_png_is_composited_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((4, 3, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[0, :, 3] = 0      # fully transparent -> white
    rgba[1, :, 3] = 255    # opaque -> the colour
    rgba[2, :, 3] = 128    # half -> halfway to white
    rgba[3, :, 3] = 255
    path = save_pil(Image.fromarray(rgba, "RGBA"), tmp_path / "rgba.png", "PNG")
    rgb = read_image(path)
    assert rgb.shape == (4, 3, 3)
    np.testing.assert_array_equal(rgb[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(rgb[1, 0], [200, 0, 0])
    np.testing.assert_allclose(rgb[2, 0], [228, 127, 127], atol=1)
    kept = read_image(path, keep_alpha=True)
    assert kept.shape == (4, 3, 4)
    np.testing.assert_array_equal(kept[..., 3], rgba[..., 3])


def test_gray_alpha_png(tmp_path: Path) -> None:
    la = np.zeros((2, 2, 2), np.uint8)
    la[..., 0] = 10
    la[0, :, 1] = 255
    path = save_pil(Image.fromarray(la, "LA"), tmp_path / "la.png", "PNG")
    rgb = read_image(path)
    np.testing.assert_array_equal(rgb[0, 0], [10, 10, 10])
    np.testing.assert_array_equal(rgb[1, 0], [255, 255, 255])


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    indices = np.array([[0, 1, 2, 3]], np.uint8).repeat(3, axis=0)
    image = Image.fromarray(indices, "P")
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0] + [0] * (256 * 3 - 12))
    path = save_pil(image, tmp_path / "palette.png", "PNG", transparency=3)
    rgb = read_image(path)
    assert rgb.shape == (3, 4, 3)
    np.testing.assert_array_equal(rgb[0], [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]])
    assert read_image(path, keep_alpha=True)[0, 3, 3] == 0


def test_rgb_png_with_colour_key_transparency(tmp_path: Path) -> None:
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = [10, 20, 30]   # the transparent colour key
    rgb[1, 1] = [200, 100, 50]
    path = save_pil(Image.fromarray(rgb), tmp_path / "key.png", "PNG", transparency=(10, 20, 30))
    out = read_image(path)
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(out[1, 1], [200, 100, 50])


def test_jpeg_with_data_after_the_end_marker(tmp_path: Path) -> None:
    """Phones append e.g. a video after a JPEG's end marker; the photo itself must still read."""
    clean = write_photo(tmp_path / "clean.jpg", 200, 150, seed=13)
    path = tmp_path / "motion.jpg"
    path.write_bytes(clean.read_bytes() + b"ftypmp42" + bytes(range(256)) * 40)
    np.testing.assert_array_equal(read_image(path), read_image(clean))
    assert read_image(path, min_size=64).shape == read_image(clean, min_size=64).shape == (75, 100, 3)


def test_16bit_rgb_tiff(tmp_path: Path) -> None:
    rgb16 = np.zeros((6, 5, 3), np.uint16)
    rgb16[..., 0] = 65535
    rgb16[..., 2] = 32896
    ok, encoded = cv2.imencode(".tiff", cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    assert ok
    path = tmp_path / "rgb16.tif"
    path.write_bytes(encoded.tobytes())
    np.testing.assert_array_equal(read_image(path)[3, 3], [255, 0, 128])


def test_cmyk_jpeg(tmp_path: Path) -> None:
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :24] = [220, 30, 30]
    rgb[:, 24:] = [30, 30, 220]
    path = save_pil(Image.fromarray(rgb).convert("CMYK"), tmp_path / "cmyk.jpg", "JPEG", quality=95)
    assert Image.open(path).mode == "CMYK"
    out = read_image(path)
    assert out.shape == (32, 48, 3)
    np.testing.assert_allclose(out[16, 8], [220, 30, 30], atol=12)
    np.testing.assert_allclose(out[16, 40], [30, 30, 220], atol=12)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_rotated_jpeg_matches_pillow_exif_transpose(tmp_path: Path, orientation: int) -> None:
    rgb = np.full((40, 80, 3), 255, np.uint8)
    rgb[:10, :20] = [255, 0, 0]    # red marker top-left
    rgb[-10:, -20:] = [0, 0, 255]  # blue marker bottom-right
    rgb[:10, -20:] = [0, 255, 0]   # green marker top-right
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = save_pil(Image.fromarray(rgb), tmp_path / f"rot{orientation}.jpg", "JPEG", quality=95,
                    exif=exif.tobytes())
    out = read_image(path)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    assert out.shape == expected.shape
    assert np.abs(out.astype(int) - expected.astype(int)).mean() < 2.0
    if orientation == 6:  # rotate 90 clockwise: the top-left red marker ends top-right
        assert out.shape == (80, 40, 3)
        assert out[5, 35, 0] > 200 and out[5, 35, 2] < 60


def test_reduced_jpeg_decode_keeps_at_least_min_size(tmp_path: Path) -> None:
    path = write_photo(tmp_path / "big.jpg", 1024, 768, seed=5)
    full = read_image(path)
    assert full.shape == (768, 1024, 3)
    assert read_image(path, min_size=64).shape == (96, 128, 3)      # 1/8
    assert read_image(path, min_size=190).shape == (192, 256, 3)    # 1/4
    assert read_image(path, min_size=193).shape == (384, 512, 3)    # 1/4 would be too small
    assert read_image(path, min_size=300).shape == (384, 512, 3)    # 1/2
    assert read_image(path, min_size=500).shape == (768, 1024, 3)   # full
    small = to_square(read_image(path, min_size=64), 64).astype(int)
    reference = to_square(full, 64).astype(int)
    assert np.abs(small - reference).mean() < 6


def test_non_ascii_path_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "фото 写真"
    folder.mkdir()
    rgb = make_photo_array(50, 40, seed=9)
    path = folder / "Straße_日本.png"
    write_image(path, rgb)
    np.testing.assert_array_equal(read_image(path), rgb)
    assert list_images(tmp_path) == [path]


LOSSY = (".webp", ".jpg", ".jpeg")


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".tiff", ".webp", ".jpg", ".jpeg"])
def test_write_then_read_every_format(tmp_path: Path, ext: str) -> None:
    rgb = make_photo_array(40, 30, seed=11)
    path = tmp_path / f"out{ext}"
    write_image(path, rgb, quality=100)
    back = read_image(path)
    assert back.shape == rgb.shape and back.dtype == np.uint8
    if ext in LOSSY:
        assert np.abs(back.astype(int) - rgb.astype(int)).mean() < 12
    else:
        np.testing.assert_array_equal(back, rgb)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind


def test_grayscale_jpeg_reads_as_three_channels(tmp_path: Path) -> None:
    gray = make_photo_array(30, 20, seed=12)[..., 1]
    path = save_pil(Image.fromarray(gray), tmp_path / "gray.jpg", "JPEG", quality=100)
    out = read_image(path)
    assert out.shape == (20, 30, 3)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_write_image_rejects_unknown_extension_and_bad_arrays(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown image extension"):
        write_image(tmp_path / "x.gifx", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="float"):
        write_image(tmp_path / "x.png", np.zeros((4, 4, 3), np.float32))
    assert not list(tmp_path.iterdir())


def test_write_image_composites_alpha_for_jpeg(tmp_path: Path) -> None:
    rgba = np.zeros((8, 8, 4), np.uint8)
    path = tmp_path / "a.jpg"
    write_image(path, rgba, quality=100)
    assert read_image(path).min() > 245


@pytest.mark.parametrize("with_exif", [False, True], ids=["opencv", "pillow"])
def test_jpeg_keeps_full_resolution_chroma(tmp_path: Path, with_exif: bool) -> None:
    """JPEGs are written 4:4:4 by both encoders: one-pixel colour stripes of equal luminance keep their
    own colours and the luminance stays flat (4:2:0 would average each pair of stripes into one)."""
    from PIL import JpegImagePlugin

    lab = np.full((32, 32, 3), (150, 128, 128), np.uint8)  # cv2 8-bit Lab: one L, chroma alternating
    lab[:, 0::2, 1:] = (170, 150)
    lab[:, 1::2, 1:] = (100, 110)
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    exif = Image.Exif()
    exif[0x010F] = "ColorCore test camera"
    path = tmp_path / "stripes.jpg"
    write_image(path, rgb, quality=95, exif=exif.tobytes() if with_exif else None)
    with Image.open(path) as picture:
        assert JpegImagePlugin.get_sampling(picture) == 0  # Pillow's code for 4:4:4
    back = read_image(path)
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 8
    l_out = cv2.cvtColor(back, cv2.COLOR_RGB2Lab)[:, :, 0].astype(int)
    l_in = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[:, :, 0].astype(int)
    assert np.abs(l_out - l_in).max() <= 3


def test_exif_is_carried_with_orientation_reset(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "ColorCore test camera"
    source = save_pil(Image.fromarray(make_photo_array(40, 20)), tmp_path / "cam.jpg", "JPEG",
                      exif=exif.tobytes())
    block = read_exif(source)
    assert block is not None and block.startswith(b"Exif\x00\x00")
    upright = read_image(source)
    out = tmp_path / "out.jpg"
    write_image(out, upright, exif=block)
    written = Image.open(out).getexif()
    assert written[0x010F] == "ColorCore test camera"
    assert written[0x0112] == 1
    assert read_image(out).shape == upright.shape == (40, 20, 3)
    assert read_exif(write_photo(tmp_path / "plain.jpg")) is None


def test_list_images_is_recursive_sorted_and_case_insensitive(tmp_path: Path) -> None:
    write_photo(tmp_path / "b.JPG")
    write_photo(tmp_path / "a.png")
    write_photo(tmp_path / "sub" / "deeper" / "c.Jpeg")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "folder.jpg").mkdir()
    found = list_images(tmp_path)
    assert found == sorted(found)
    assert {p.relative_to(tmp_path).as_posix() for p in found} == {
        "b.JPG", "a.png", "sub/deeper/c.Jpeg", "folder.jpg"}
    assert ".webp" in IMAGE_EXTENSIONS and ".tiff" in IMAGE_EXTENSIONS


# --- to_square -----------------------------------------------------------------------------------


def test_to_square_centre_crops() -> None:
    image = np.zeros((10, 30, 3), np.uint8)
    image[:, 10:20] = 255  # the centre square is white, the sides black
    out = to_square(image, 5)
    assert out.shape == (5, 5, 3)
    assert out.min() == 255


RESIZE_DTYPES = st.sampled_from([np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64, np.bool_])


@st.composite
def images(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(RESIZE_DTYPES)
    height = draw(st.integers(1, 48))
    width = draw(st.integers(1, 48))
    channels = draw(st.sampled_from([None, 1, 3, 4]))
    shape = (height, width) if channels is None else (height, width, channels)
    if np.dtype(dtype).kind == "f":
        elements = st.floats(0, 1, width=32)
    else:
        elements = None
    return draw(hnp.arrays(dtype, shape, elements=elements))


@settings(max_examples=60, deadline=None)
@given(image=images(), size=st.integers(1, 40))
def test_to_square_any_shape_and_dtype(image: np.ndarray, size: int) -> None:
    out = to_square(image, size)
    assert out.shape == (size, size) + image.shape[2:]
    assert out.dtype == image.dtype
    if out.dtype.kind == "f":
        assert not np.isnan(out).any()
    if image.dtype != np.bool_:  # an area average stays within the input's range
        slack = 1e-5 if out.dtype.kind == "f" else 0
        assert out.min() >= image.min() - slack and out.max() <= image.max() + slack
