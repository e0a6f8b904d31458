"""Shared fixtures: real photo files on disk and a real prepared dataset.

Fixtures other test modules may use (kept stable):

- `photo_factory`: a function `make(path, width=96, height=72, seed=0) -> Path` writing one real
  colour photo (JPEG/PNG/WebP/BMP/TIFF from the extension) with structure: a colour gradient
  background, a filled circle, a rectangle and mild noise, so edges and saliency are non-trivial.
- `photo_folder`: a folder with 8 such photos (5 JPEG, 3 PNG; sizes 64..160 px, one inside a
  sub-folder `nested/`), all readable. Returns the folder path.
- `prepared_dataset`: `photo_folder` prepared by `colorcore.data.prepare.prepare` at size 64 with
  test_fraction 0.25 and seed 0 (6 train, 2 test images). Returns the dataset folder path.
- `mixed_photo_folder`: 4 ordinary photos, the valid-but-unusual files `UNUSUAL_FILES` (16-bit,
  RGBA, palette+transparency, CMYK, EXIF-rotated, non-ASCII name) and the broken files
  `BROKEN_FILES` (name -> reason fragment). Helpers: `make_photo_array`, `write_photo`,
  `write_problem_photos` (import them from `tests.conftest`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np
import pytest

PhotoFactory = Callable[..., Path]

PHOTO_FOLDER_SPECS = (
    # (relative path, width, height, seed)
    ("beach.jpg", 128, 96, 1),
    ("forest.jpg", 96, 128, 2),
    ("city.jpg", 160, 120, 3),
    ("portrait.png", 80, 80, 4),
    ("sunset.png", 120, 64, 5),
    ("nested/garden.jpg", 100, 75, 6),
    ("nested/market.jpg", 64, 96, 7),
    ("nested/harbour.png", 112, 84, 8),
)
PREPARED_SIZE = 64
PREPARED_TEST_FRACTION = 0.25


def make_photo_array(width: int = 96, height: int = 72, seed: int = 0) -> np.ndarray:
    """A structured RGB uint8 test photo (gradient, circle, rectangle, mild noise)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(40, 215, size=3)
    slope = rng.uniform(-80, 80, size=(2, 3))
    across, down = (xs / max(width - 1, 1))[..., None], (ys / max(height - 1, 1))[..., None]
    image = base + across * slope[0] + down * slope[1]
    image = np.clip(image, 0, 255).astype(np.uint8)
    centre = (int(rng.integers(width // 4, 3 * width // 4)), int(rng.integers(height // 4, 3 * height // 4)))
    radius = max(3, min(width, height) // 5)
    cv2.circle(image, centre, radius, tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
    top_left = (int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2)))
    bottom_right = (top_left[0] + width // 3, top_left[1] + height // 4)
    cv2.rectangle(image, top_left, bottom_right, tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
    noise = rng.normal(0, 4, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def write_photo(path: Path, width: int = 96, height: int = 72, seed: int = 0) -> Path:
    """Write `make_photo_array(...)` to `path`, encoded by OpenCV from the extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = make_photo_array(width, height, seed)
    ok, encoded = cv2.imencode(path.suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok, f"could not encode {path.suffix}"
    path.write_bytes(encoded.tobytes())
    return path


@pytest.fixture
def photo_factory() -> PhotoFactory:
    """`make(path, width=96, height=72, seed=0) -> Path`: writes one real structured colour photo."""
    return write_photo


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """A folder of 8 readable colour photos (5 JPEG, 3 PNG, one sub-folder `nested/`)."""
    folder = tmp_path / "photos"
    for relative, width, height, seed in PHOTO_FOLDER_SPECS:
        write_photo(folder / relative, width, height, seed)
    return folder


@pytest.fixture
def prepared_dataset(photo_folder: Path, tmp_path: Path) -> Path:
    """`photo_folder` prepared at size 64 (6 train, 2 test images); returns the dataset folder."""
    from colorcore.data.prepare import prepare

    out = tmp_path / "prepared"
    result = prepare(photo_folder, out, size=PREPARED_SIZE, test_fraction=PREPARED_TEST_FRACTION,
                     seed=0, workers=1)
    assert result.n_train + result.n_test == len(PHOTO_FOLDER_SPECS)
    return out


# --- a folder mixing good photos, unusual-but-valid photos and broken files -------------------

# broken file (relative path) -> a fragment of the reason `read_image` gives
BROKEN_FILES = {
    "empty.jpg": "empty file",
    "notes.jpg": "not an image",
    "truncated.jpg": "truncated JPEG",
    "corrupt.png": "corrupt PNG",
    "x.jpg": "folder",
    "bomb.png": "too large: 40000x40000",
}
# unusual but valid photos: all must be prepared
UNUSUAL_FILES = (
    "gray16.png", "rgba.png", "palette.png", "cmyk.jpg", "rotated.jpg", "Straße 日本.jpg",
)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def write_problem_photos(folder: Path) -> None:
    """Write `BROKEN_FILES` and `UNUSUAL_FILES` (real encodings, made here) into `folder`."""
    import io
    import struct
    import zlib

    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a photo\n")
    whole = write_photo(folder / "whole_tmp.jpg", 200, 150, seed=21).read_bytes()
    (folder / "whole_tmp.jpg").unlink()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) * 2 // 3])
    png = bytearray(write_photo(folder / "good_tmp.png", 64, 64, seed=22).read_bytes())
    (folder / "good_tmp.png").unlink()
    png[120:170] = b"\x00garbage!" * 5 + b"\x00" * 5
    (folder / "corrupt.png").write_bytes(bytes(png))
    (folder / "x.jpg").mkdir()
    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    (folder / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b"")
    )

    def save(image: Image.Image, name: str, fmt: str, **options: object) -> None:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        (folder / name).write_bytes(buffer.getvalue())

    rgb = make_photo_array(90, 70, seed=23)
    save(Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)), "gray16.png", "PNG")
    save(Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)]), "RGBA"), "rgba.png", "PNG")
    save(Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "palette.png", "PNG",
         transparency=0)
    save(Image.fromarray(rgb).convert("CMYK"), "cmyk.jpg", "JPEG")
    exif = Image.Exif()
    exif[0x0112] = 6
    save(Image.fromarray(rgb), "rotated.jpg", "JPEG", exif=exif.tobytes())
    save(Image.fromarray(rgb), "Straße 日本.jpg", "JPEG")


@pytest.fixture
def mixed_photo_folder(tmp_path: Path) -> Path:
    """4 ordinary photos + `UNUSUAL_FILES` (valid) + `BROKEN_FILES` (each must be skipped with its
    reason); `prepare` on it gives 10 images and 6 skipped entries."""
    folder = tmp_path / "mixed"
    for index in range(4):
        write_photo(folder / f"photo{index}.jpg", 96, 80, seed=30 + index)
    write_problem_photos(folder)
    return folder


SMALL_DISK_SIZE = "3m"


def mount_tmpfs(folder: Path) -> str | None:
    """Mount a SMALL_DISK_SIZE tmpfs on `folder`; the reason when this machine does not allow it."""
    if not sys.platform.startswith("linux"):
        return "tmpfs mounts need Linux"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    if shutil.which("mount") is None:
        return "no mount command"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK_SIZE}", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    return None if done.returncode == 0 else f"cannot mount a tmpfs here: {done.stderr.strip()}"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An empty 3 MB file system (a tmpfs) for disk-full tests; skipped, with the reason, where it
    cannot be mounted (not Linux, not root)."""
    folder = tmp_path / "small_disk"
    folder.mkdir()
    reason = mount_tmpfs(folder)
    if reason is not None:
        pytest.skip(reason)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=False)  # lazy: even while a file is still open
