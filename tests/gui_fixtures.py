"""Shared GUI test fixtures: offscreen Qt, isolated QSettings, real photo folders.

Use in a test module with `pytest_plugins = ["tests.gui_fixtures"]` or
`from tests.gui_fixtures import *`.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings

__all__ = ["gui_settings", "isolated_qsettings", "write_photo_folder", "photo_folder"]


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point every default-constructed QSettings at a fresh temporary folder."""
    root = tmp_path_factory.mktemp("qsettings")
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(root))
        QSettings.setPath(QSettings.Format.NativeFormat, scope, str(root))


@pytest.fixture
def gui_settings(tmp_path: Path) -> QSettings:
    """A QSettings backed by an ini file in this test's temporary folder."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def write_photo_folder(folder: Path, count: int = 4, size: int = 96, broken: int = 0, seed: int = 0) -> list[Path]:
    """Write `count` real JPEG/PNG photos (smooth colour gradients with shapes) and `broken`
    files that carry an image extension but are not images; returns all paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    paths = []
    for i in range(count):
        base = rng.uniform(40, 215, size=3)
        img = np.stack(
            [base[0] + 40 * xx, base[1] + 40 * yy, base[2] + 40 * (1 - xx)], axis=-1
        )
        cx, cy, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.25)
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[disc] = rng.uniform(0, 255, size=3)
        img = np.clip(img, 0, 255).astype(np.uint8)
        path = folder / (f"photo_{i:02d}.jpg" if i % 2 == 0 else f"photo_{i:02d}.png")
        Image.fromarray(img).save(path, quality=92) if path.suffix == ".jpg" else Image.fromarray(img).save(path)
        paths.append(path)
    for j in range(broken):
        path = folder / f"broken_{j:02d}.jpg"
        path.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" + bytes(64))
        paths.append(path)
    return paths


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """A folder with six real photos and one broken JPEG."""
    folder = tmp_path / "photos"
    write_photo_folder(folder, count=6, broken=1)
    return folder
