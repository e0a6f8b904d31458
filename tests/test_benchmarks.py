"""The training, guided-filter and quality benchmarks run end to end at a tiny size and print the JSON they promise.

No timing is asserted (shared machines are noisy); the numbers come from running the script by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIRED_KEYS = ("reference_img_s", "trainer_img_s", "speedup", "peak_fraction", "device")


def test_bench_train_prints_its_json_for_every_model() -> None:
    from colorcore.models.base import MODEL_REGISTRY

    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_train.py"), "--batch-size", "2", "--width", "4",
         "--steps", "1", "--warmup", "1", "--rounds", "1"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert all(key in report for key in REQUIRED_KEYS)
    assert [row["model"] for row in report["models"]] == sorted(MODEL_REGISTRY)
    for row in report["models"]:
        assert row["reference_img_s"] > 0 and row["trainer_img_s"] > 0 and row["speedup"] > 0
        assert 0 < row["gflop_per_step"] <= row["reference_gflop_per_step"]  # the Trainer never does more work
        assert 0 < row["peak_fraction"] < 2 and 0 < row["reference_peak_fraction"] < 2


def test_bench_guided_compares_the_same_job_and_prints_its_json() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_guided.py"), "--sizes", "0.05", "--rounds", "1",
         "--photos", str(ROOT / "resources" / "samples" / "astronaut.jpg")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    (row,) = report["timing"]
    assert all(row[f"{name}_s"] > 0 for name in ("ours", "cv2_fast", "cv2_full"))
    summary = report["quality"]["mean_psnr_and_max_diff"]
    assert report["quality"]["photos"] == 1 and all(summary[f"{source}_ours_psnr"] > 15 for source in ("model", "oracle"))
    # a square 512 px photo: OpenCV's fast filter works on our very grid, so the two agree to rounding
    assert summary["model_cv2_fast_max_abs_ab"] < 0.05 and summary["oracle_cv2_fast_max_abs_ab"] < 0.05


def test_bench_quality_scores_the_model_under_the_calibration_it_is_given(tmp_path: Path) -> None:
    """`--calibration` replaces the model file's: the report names it, and 'none' (the raw network) colours
    more strongly than the shipped calibration, which shrinks the chroma towards gray."""
    reports = {}
    for spec in ("none", "mirror:1:0.45"):
        out = tmp_path / f"{spec.replace(':', '_')}.json"
        run = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "bench_quality.py"), "--photos", str(ROOT / "resources" / "samples"),
             "--reference-photos", str(ROOT / "resources" / "samples"), "--max-side", "128", "--calibration", spec,
             "--json", str(out)],
            capture_output=True, text=True, timeout=600, cwd=ROOT,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        reports[spec] = json.loads(out.read_text(encoding="utf-8"))
    assert reports["none"]["calibration"] == {"scale": 1.0, "sigma": 0.0, "flip_average": False}
    assert reports["mirror:1:0.45"]["calibration"] == {"scale": 0.45, "sigma": 1.0, "flip_average": True}
    raw, calibrated = (reports[s]["average"]["model"] for s in ("none", "mirror:1:0.45"))
    assert raw["colourfulness_ratio"] > 1.5 * calibrated["colourfulness_ratio"] > 0
    assert reports["none"]["average"]["gray"] == reports["mirror:1:0.45"]["average"]["gray"]
    bad = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_quality.py"), "--photos", str(tmp_path),
                          "--calibration", "mirror:x"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert bad.returncode == 2 and "[mirror:]BLUR:SCALE" in bad.stderr


def test_gpu_checks_script_runs_its_checks_on_the_cpu_and_skips_those_without_time(tmp_path: Path) -> None:
    """benchmarks/gpu_checks.sh (the GPU checks as one time-boxed script) dry-run with DEVICE=cpu:
    a chosen check runs and is summarised, an unchosen one is not run, a check with no time left is
    skipped and says so, and the results come back as one archive. The checks' own time limits are
    lifted (CHECK_LIMIT_S=0, a day's TOTAL_S): how long a check takes depends on the machine's load."""
    import os
    import shutil
    import tarfile

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea.jpg", "coffee.jpg"):
        shutil.copy(ROOT / "resources" / "samples" / name, photos / name)
    env = {**os.environ, "DEVICE": "cpu", "QUICK": "1", "BENCH_STEPS": "1", "PHOTOS": str(photos),
           "OUT": str(tmp_path / "out"), "ONLY": "train_fp32", "PYTHON": sys.executable, "CHECK_LIMIT_S": "0",
           "TOTAL_S": "86400"}
    run = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_checks.sh")], capture_output=True, text=True,
                         timeout=600, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "CHECK train_fp32 rc=0" in run.stdout and "CHECK cuda_test" not in run.stdout
    assert "train_fp32.out CPU" in run.stdout and "speedup" in run.stdout  # the one-line summary per model
    with tarfile.open(tmp_path / "out" / "results.tar.gz") as archive:
        assert "results/train_fp32.out" in archive.getnames()
    late = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_checks.sh")], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env={**env, "TOTAL_S": "10", "OUT": str(tmp_path / "late")})
    assert late.returncode == 0 and "CHECK train_fp32 skipped: TOTAL_S used up" in late.stdout
