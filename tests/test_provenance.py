"""The one provenance collector (colorcore.core.provenance) and the records that carry it."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from colorcore import __version__
from colorcore.core.device import system_report
from colorcore.core.provenance import (
    collect_provenance,
    distribution_version,
    git_commit,
    installed_versions,
    running_versions,
)

REPO = Path(__file__).resolve().parents[1]


def test_git_commit_names_this_checkout_and_nothing_when_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    if head.returncode == 0:  # a git checkout (a source tarball has no commit to report)
        assert git_commit() == head.stdout.strip()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert git_commit() is None


def test_imported_libraries_report_the_version_that_ran() -> None:
    versions = running_versions()
    assert versions["colorcore"] == __version__ and versions["python"] == sys.version.split()[0]
    assert versions["platform"] and versions["torch"] == torch.__version__  # e.g. with its "+cu121" tag
    assert versions["numpy"] == np.__version__ and versions["opencv"] == cv2.__version__


def test_libraries_not_imported_are_read_from_their_distribution_without_importing_them() -> None:
    code = ("import json, sys; from colorcore.core.provenance import running_versions; "
            "print(json.dumps([running_versions().get('torch'), 'torch' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    version, imported = json.loads(out.stdout)
    assert version == metadata.version("torch") and not imported


def test_installed_versions_take_the_first_installed_distribution() -> None:
    assert distribution_version(("no-such-distribution-here", "numpy")) == metadata.version("numpy")
    assert distribution_version(("no-such-distribution-here",)) is None
    installed = installed_versions()
    assert installed["numpy"] == metadata.version("numpy") and installed["torch"] == metadata.version("torch")
    report = system_report()  # `colorcore info` and the About box list the same libraries
    assert all(report[label] == (version or "not installed") for label, version in installed.items())


def test_a_record_holds_versions_commit_and_the_device_when_given() -> None:
    record = collect_provenance()
    assert set(record) == {"versions", "git_commit"} and record["versions"]["torch"] == torch.__version__
    assert collect_provenance("CPU, 2 threads, no bf16")["device"] == "CPU, 2 threads, no bf16"


def test_a_prepared_dataset_records_the_provenance(prepared_dataset: Path) -> None:
    manifest = json.loads((prepared_dataset / "manifest.json").read_text(encoding="utf-8"))
    versions = manifest["versions"]
    assert {"colorcore", "python", "numpy", "opencv", "pillow"} <= set(versions)  # the keys it always had
    assert versions["opencv"] == cv2.__version__
    commit = manifest["git_commit"]  # HEAD when the fixture was prepared (other commits may land since)
    assert commit is None or (len(commit) == 40 and int(commit, 16) >= 0)
