"""`colorcore train` when things go wrong or are interrupted: a full disk at the first checkpoint, a bad
--init, Ctrl-C, and a resume that must continue the run as it was configured."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from colorcore.cli import main
from colorcore.training.trainer import TrainConfig, Trainer
from colorcore.models.base import ModelConfig

REPO_ROOT = Path(__file__).resolve().parents[1]

TINY = ["--width", "8", "--resnet-weights", "none", "--device", "cpu", "--eval-subset", "2"]


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main(["train", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_resume_continues_with_the_runs_own_settings(prepared_dataset: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    code, _, err = cli(capsys, prepared_dataset, run, *TINY, "--batch-size", "2", "--max-steps", "2",
                       "--min-epoch-interval", "0", "--keep", "1")
    assert code == 0, err
    # the bare resume command keeps batch 2, the 2-step budget and the epoch interval: nothing left to do
    code, out, err = cli(capsys, prepared_dataset, run, "--resume")
    assert code == 0, err
    assert "finished at step 2" in out
    assert "resuming with the run's own settings" in err and "changed" not in err
    config = json.loads((run / "config.json").read_text())
    assert (config["batch_size"], config["max_steps"], config["min_epoch_interval_s"], config["keep_checkpoints"]) \
        == (2, 2, 0.0, 1)
    # a flag given on resume wins, and the command says what changed
    code, out, err = cli(capsys, prepared_dataset, run, "--resume", "--max-steps", "3")
    assert code == 0, err
    assert "finished at step 3" in out
    assert "changed: --max-steps 2 -> 3" in err
    assert json.loads((run / "config.json").read_text())["batch_size"] == 2
    # the model cannot change under a resumed run
    code, _, err = cli(capsys, prepared_dataset, run, "--resume", "--max-steps", "4", "--width", "16")
    assert code == 2 and "--width" in err and "continues with its own model" in err


def test_a_bad_init_is_a_user_error_said_once(prepared_dataset: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    not_a_model = tmp_path / "notes.txt"
    not_a_model.write_text("hello")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 64)
    for init in (not_a_model, broken, tmp_path / "missing.safetensors"):
        code, out, err = cli(capsys, prepared_dataset, tmp_path / f"run_{init.name}", "--init", init)
        assert code == 2, (init, err)
        assert err.count(str(init)) == 1 and "Traceback" not in err, err
        assert err.count("error") == 1, err


def test_a_full_disk_at_the_first_checkpoint_is_worded(prepared_dataset: Path, small_disk: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # a width-32 multipath checkpoint (weights, both optimisers) is far larger than the 3 MB disk
    code, _, err = cli(capsys, prepared_dataset, small_disk / "run", "--width", "32", "--resnet-weights", "none",
                       "--batch-size", "2", "--max-steps", "1", "--eval-subset", "2", "--device", "cpu")
    assert code == 1
    assert "disk is full" in err
    assert "no checkpoint had been written yet" in err and "is kept" not in err
    assert "RuntimeError" not in err and "enforce fail" not in err


def test_ctrl_c_stops_with_a_checkpoint_and_exit_130(prepared_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "colorcore", "train", str(prepared_dataset), str(run), *TINY, "--batch-size", "2",
         "--max-steps", "100000", "--min-epoch-interval", "0"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    while "step/s" not in seen and "s/step" not in seen:  # the progress bar: the interrupt handler is in place
        char = process.stderr.read(1)
        assert char, f"train ended before its first step: {seen}"
        seen += char
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 130, err
    assert "resume with: colorcore train" in out
    assert (run / "checkpoints" / "last.pt").is_file()


class SlowSteps:
    """Makes a session's steps take a while, so that its time_s runs ahead of a fresh session's clock."""

    def on_step(self, event: Any) -> None:
        time.sleep(1.5)


def test_time_s_goes_on_after_a_resume(prepared_dataset: Path, tmp_path: Path) -> None:
    def config(steps: int, resume: bool) -> TrainConfig:
        return TrainConfig(data=str(prepared_dataset), run_dir=str(tmp_path / "run"), batch_size=2,
                           model=ModelConfig(width=8, resnet_weights="none"), device="cpu", max_steps=steps,
                           eval_subset=0, sample_count=0, log_interval_s=0.0, resume=resume)

    assert Trainer(config(3, False), callbacks=[SlowSteps()]).run().status == "finished"
    assert Trainer(config(4, True)).run().step == 4
    with open(tmp_path / "run" / "metrics.csv", newline="") as handle:
        times = {int(row["step"]): float(row["time_s"]) for row in csv.DictReader(handle)}
    assert sorted(times) == [1, 2, 3, 4]
    assert times[4] > times[3] >= 3.0  # the resumed session counts on from the first one's time
