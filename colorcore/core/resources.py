"""Locate the bundled resources (sample photos, icons) in the source tree or a PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path

RESOURCES_FOLDER = "resources"
PACKAGED_RESOURCES_FOLDER = "_resources"  # where setup.py copies resources/ inside a wheel's colorcore
SAMPLES_FOLDER = "samples"


def resources_dir() -> Path:
    """The `resources/` folder: inside the PyInstaller bundle (`sys._MEIPASS`) when frozen, inside
    the installed package (`colorcore/_resources`, from a wheel), otherwise next to the `colorcore`
    package (repository or editable install)."""
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / RESOURCES_FOLDER)
    package = Path(__file__).resolve().parent.parent  # colorcore/, above core/
    candidates.append(package / PACKAGED_RESOURCES_FOLDER)
    candidates.append(package.parent / RESOURCES_FOLDER)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "bundled resources not found (looked in " + ", ".join(str(c) for c in candidates) + "); "
        "reinstall ColorCore Studio (`pip install -e .` from the repository, or its wheel) or use the packaged app"
    )


def samples_dir() -> Path:
    """The folder of bundled sample photos (public domain / CC0, see its LICENSES.md)."""
    return resources_dir() / SAMPLES_FOLDER


def sample_photos() -> list[Path]:
    """The bundled sample photos, sorted."""
    from colorcore.data.imageio import list_images

    return list_images(samples_dir())
