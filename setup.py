"""Build hook: wheels carry the sample photos and icons (resources/) inside the package.

Everything else about the build is in pyproject.toml. An editable install reads resources/ from
the source tree (colorcore.core.resources looks there); a wheel has no source tree, so `build_py`
copies resources/ to colorcore/_resources in the build folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
RESOURCES = ROOT / "resources"
PACKAGED_RESOURCES = ("colorcore", "_resources")  # keep in step with colorcore.core.resources


class BuildPyWithResources(build_py):
    """`build_py` that also copies resources/ into the built colorcore package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        if not RESOURCES.is_dir():
            raise FileNotFoundError(f"{RESOURCES} is missing: the wheel would have no sample photos")
        target = Path(self.build_lib).joinpath(*PACKAGED_RESOURCES)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(RESOURCES, target)


setup(cmdclass={"build_py": BuildPyWithResources})
