"""`colorcore prepare` and `colorcore info` through the real CLI; device helpers; sample photos."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from colorcore.cli import main
from colorcore.data.prepared import load_prepared
from colorcore.core.device import DeviceError, cpu_supports_bf16, describe_device, resolve_device
from colorcore.data.imageio import read_image
from colorcore.core.resources import sample_photos, samples_dir

from tests.helpers import BROKEN_FILES, UNUSUAL_FILES

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_prepare_reports_skipped_files_and_exits_0(
    capsys: pytest.CaptureFixture[str], mixed_photo_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "data"
    code, stdout, stderr = run_cli(capsys, "prepare", mixed_photo_folder, out, "--size", "32",
                                   "--workers", "1", "--seed", "3", "--test-fraction", "0.2")
    assert code == 0, stderr
    for name, fragment in BROKEN_FILES.items():
        assert f"skipped {name}: " in stdout and fragment in stdout
    good = 4 + len(UNUSUAL_FILES)
    summary = stdout.strip().splitlines()[-1]
    expected = f"prepared {out}: 8 train + 2 test images at 32x32, {len(BROKEN_FILES)} skipped"
    assert summary.startswith(expected)
    assert "Traceback" not in stderr
    data = load_prepared(out)
    assert len(data.split("train")) + len(data.split("test")) == good
    assert data.manifest.seed == 3


def test_prepare_options_reach_the_manifest(
    capsys: pytest.CaptureFixture[str], photo_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "data"
    code, _, stderr = run_cli(capsys, "prepare", photo_folder, out, "--size", "16", "--saliency", "fine",
                              "--canny-low", "1000", "--canny-high", "1000", "--workers", "1")
    assert code == 0, stderr
    data = load_prepared(out)
    assert data.manifest.saliency == "fine"
    assert data.manifest.canny_low == 1000 and data.manifest.canny_high == 1000
    assert int(np.asarray(data.split("train").edge).max()) == 0  # thresholds above any gradient


def test_prepare_refuses_to_overwrite_without_the_flag(
    capsys: pytest.CaptureFixture[str], photo_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "data"
    assert run_cli(capsys, "prepare", photo_folder, out, "--size", "16", "--workers", "1")[0] == 0
    code, _, stderr = run_cli(capsys, "prepare", photo_folder, out, "--size", "24", "--workers", "1")
    assert code == 2 and "--overwrite" in stderr
    assert load_prepared(out).size == 16
    code, _, _ = run_cli(capsys, "prepare", photo_folder, out, "--size", "24", "--workers", "1",
                         "--overwrite")
    assert code == 0 and load_prepared(out).size == 24


@pytest.mark.parametrize(
    "extra, message",
    [(["--test-fraction", "1.5"], "test fraction"), (["--size", "2"], "size"),
     (["--canny-low", "90", "--canny-high", "10"], "canny low"), (["--workers", "0"], "workers"),
     (["--max-megapixels", "0"], "max-megapixels")],
)
def test_prepare_bad_arguments_exit_2(
    capsys: pytest.CaptureFixture[str], photo_folder: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    code, _, stderr = run_cli(capsys, "prepare", photo_folder, tmp_path / "out", *extra)
    assert code == 2 and message in stderr and "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


def test_prepare_unusable_sources_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, stderr = run_cli(capsys, "prepare", tmp_path / "missing", tmp_path / "out")
    assert code == 2 and "missing: source folder not found" in stderr
    (tmp_path / "empty").mkdir()
    code, _, stderr = run_cli(capsys, "prepare", tmp_path / "empty", tmp_path / "out")
    assert code == 2 and "no images found" in stderr
    with pytest.raises(SystemExit) as info:
        main(["prepare", str(tmp_path), str(tmp_path / "out"), "--size", "big"])
    assert info.value.code == 2


def test_quick_start_prepare_on_the_bundled_samples(tmp_path: Path) -> None:
    """The real console path, as in the README: `python -m colorcore prepare <samples> OUT`."""
    out = tmp_path / "samples_prepared"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-m", "colorcore", "prepare", str(samples_dir()), str(out)],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "0 skipped" in done.stdout
    data = load_prepared(out)
    assert len(data.split("train")) + len(data.split("test")) == len(sample_photos())


def test_info_prints_versions_device_and_bf16(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_cli(capsys, "info")
    assert code == 0
    for label in ("colorcore", "python", "torch", "opencv", "numpy", "PySide6", "device (auto)",
                  "bf16 on cpu", "threads"):
        assert label in stdout
    code, stdout, _ = run_cli(capsys, "info", "--json")
    report = json.loads(stdout)
    assert report["device (auto)"] == describe_device(resolve_device("auto"))
    assert report["bf16 on cpu"] == ("yes" if cpu_supports_bf16() else "no")


def test_device_resolution_and_description() -> None:
    import torch

    assert resolve_device("cpu") == torch.device("cpu")
    text = describe_device("cpu")
    assert text.startswith(f"CPU, {torch.get_num_threads()} thread")
    assert text.endswith(", bf16") == cpu_supports_bf16()
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")
    if torch.cuda.is_available():
        assert resolve_device("auto").type == "cuda"
        assert describe_device(resolve_device("cuda")).startswith("CUDA: ")
    else:
        with pytest.raises(DeviceError, match="CUDA is not available"):
            resolve_device("cuda")
    if not (torch.backends.mps.is_available()):
        with pytest.raises(DeviceError, match="MPS is not available"):
            resolve_device("mps")


def test_sample_photos_are_small_colour_photos_with_licences() -> None:
    photos = sample_photos()
    assert 8 <= len(photos) <= 16
    licences = (samples_dir() / "LICENSES.md").read_text(encoding="utf-8")
    for photo in photos:
        assert photo.name in licences
        rgb = read_image(photo)
        assert max(rgb.shape[:2]) <= 512
        spread = rgb.max(axis=2).astype(int) - rgb.min(axis=2)
        assert (spread > 30).mean() > 0.01, f"{photo.name} looks gray"
