"""What produced a result file: software versions, the git commit and the device, recorded beside it.

The one collector for every record (a run's config.json, a prepared dataset's manifest.json, the
downstream experiment's config.json). Torch-free, so `colorcore prepare` stays torch-free: a library
that is imported reports its module's `__version__` (what actually ran, e.g. "2.4.1+cu121"), one that
is not reports its installed distribution's version without importing it.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from colorcore import __version__

# label -> (module, distribution names, first installed wins)
LIBRARIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "torch": ("torch", ("torch",)),
    "torchvision": ("torchvision", ("torchvision",)),
    "opencv": ("cv2", ("opencv-contrib-python-headless", "opencv-contrib-python", "opencv-python-headless",
                       "opencv-python")),
    "numpy": ("numpy", ("numpy",)),
    "pillow": ("PIL", ("pillow",)),
    "safetensors": ("safetensors", ("safetensors",)),
    "PySide6": ("PySide6", ("PySide6-Essentials", "PySide6")),
    "pyqtgraph": ("pyqtgraph", ("pyqtgraph",)),
}


def distribution_version(names: tuple[str, ...]) -> str | None:
    """Installed version of the first of `names` (distribution names) that is installed."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def installed_versions() -> dict[str, str | None]:
    """Label -> installed distribution version (None when not installed) for every library in LIBRARIES."""
    return {label: distribution_version(names) for label, (_, names) in LIBRARIES.items()}


def running_versions() -> dict[str, str]:
    """colorcore, python, platform and every installed library of LIBRARIES: the imported module's
    `__version__` where it is imported, else the installed distribution's version."""
    versions = {"colorcore": __version__, "python": platform.python_version(), "platform": platform.platform()}
    for label, (module_name, names) in LIBRARIES.items():
        module = sys.modules.get(module_name)
        version = getattr(module, "__version__", None) or distribution_version(names)
        if version:
            versions[label] = str(version)
    return versions


def git_commit() -> str | None:
    """The source tree's git commit, when it is a git checkout (never for a frozen app, whose files
    are no checkout: that also spares windowed Windows builds a console window flashing up)."""
    if getattr(sys, "frozen", False):
        return None
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # Windows: no console for the child
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5, creationflags=flags)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def collect_provenance(device_description: str | None = None) -> dict[str, Any]:
    """{"versions": running_versions(), "git_commit": ...}, plus "device" when `device_description` (a
    `colorcore.core.device.describe_device` line) is given: the keys every record shares."""
    record: dict[str, Any] = {"versions": running_versions(), "git_commit": git_commit()}
    if device_description is not None:
        record["device"] = device_description
    return record
