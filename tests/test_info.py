"""`colorcore info` reports the libraries' versions even without package metadata, as in a frozen app.

A PyInstaller bundle carries only the metadata its spec copies; the frozen self-test failed when it
carried none (`colorcore info reports missing libraries: torchvision, opencv`). These tests take the
metadata away in a real interpreter, without building the bundle.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import torch
import torchvision

from app.selftest import missing_libraries
from colorcore.core.provenance import LIBRARIES

ROOT = Path(__file__).resolve().parent.parent
# every importlib.metadata lookup fails, as in a bundle that ships no .dist-info folders
WITHOUT_METADATA = """
import importlib.metadata as metadata, json, sys

def not_found(name, *args, **kwargs):
    raise metadata.PackageNotFoundError(name)

metadata.version = metadata.distribution = metadata.metadata = not_found
metadata.distributions = lambda *args, **kwargs: iter(())
sys.frozen = True
from colorcore.cli import main
code = main(["info", "--json"])
print(json.dumps({"code": code, "qt_imported": sorted(m for m in sys.modules if m.split(".")[0] in
                  ("PySide6", "shiboken6", "pyqtgraph"))}))
"""


def run_info_without_metadata() -> tuple[dict, dict]:
    """`colorcore info --json` in a fresh interpreter without package metadata: (report, status)."""
    done = subprocess.run([sys.executable, "-c", WITHOUT_METADATA], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    report_text, _, status_line = done.stdout.rstrip("\n").rpartition("\n")
    return json.loads(report_text), json.loads(status_line)


def test_info_without_package_metadata_reports_the_modules_versions() -> None:
    report, status = run_info_without_metadata()
    assert status["code"] == 0
    assert report["torch"] == torch.__version__
    assert report["torchvision"] == torchvision.__version__
    assert report["opencv"] == cv2.__version__
    assert missing_libraries(report) == [], "the frozen self-test's check would fail"
    assert set(LIBRARIES) <= set(report)
    assert status["qt_imported"] == [], "the engine never imports Qt, not even to read a version"
    assert report["PySide6"] != "not installed", "PySide6 is installed, only its metadata is missing"


def test_selftest_names_the_libraries_info_has_no_version_for() -> None:
    report = {"torch": "2.6.0+cpu", "torchvision": "not installed", "opencv": "present (no version recorded)",
              "opencv saliency (contrib)": "no (install opencv-contrib)"}
    assert missing_libraries(report) == ["torchvision", "opencv", "opencv saliency (contrib)"]
    complete = {**report, "torchvision": "0.21.0", "opencv": "4.11.0", "opencv saliency (contrib)": "yes"}
    assert missing_libraries(complete) == []
