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
  `BROKEN_FILES` (name -> reason fragment). Helpers (`make_photo_array`, `write_photo`,
  `write_problem_photos`...) are in `tests/helpers.py`; GUI fixtures in `tests/gui_fixtures.py`.
- `one_thread`: torch on one thread for the test (tiny models gain nothing from threads).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.helpers import (PHOTO_FOLDER_SPECS, PREPARED_SIZE, PREPARED_TEST_FRACTION, write_photo,
                           write_problem_photos)

PhotoFactory = Callable[..., Path]


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


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and a shared CI core set makes idle threads spin."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
