"""A wheel (what `pip install colorcore-studio` gets, unlike the editable install) carries the sample
photos and icons, and `colorcore.core.resources` finds them in an installed copy with no source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "colorcore", "app", "resources")
WHEEL_TIMEOUT_S = 300


def test_wheel_carries_the_resources_and_an_installed_copy_finds_them(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy, so the build leaves no build/ or egg-info in the checkout
    source.mkdir()
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, source / name)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels)],
        capture_output=True, text=True, timeout=WHEEL_TIMEOUT_S,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("colorcore_studio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    samples = sorted(p.name for p in (ROOT / "resources" / "samples").iterdir())
    assert {f"colorcore/_resources/samples/{name}" for name in samples} <= names
    assert "colorcore/_resources/icons/colorcore-studio-256.png" in names
    assert {"colorcore/_resources/models/starter.safetensors", "colorcore/_resources/models/ATTRIBUTION.md"} <= names
    assert "app/main_window.py" in names and "colorcore/cli.py" in names

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = ("from colorcore.core.resources import resources_dir, sample_photos; "
             "print(resources_dir()); print(len(sample_photos()))")
    env = {**os.environ, "PYTHONPATH": str(site)}
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env,
                           timeout=120)
    assert found.returncode == 0, found.stderr[-2000:]
    folder, count = found.stdout.split()
    assert Path(folder) == site / "colorcore" / "_resources"
    assert int(count) == len([n for n in samples if not n.endswith(".md")])
