"""`colorcore train | evaluate | export` end to end with tiny settings, and their user errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from colorcore.cli import main

TINY_ARGS = ["--width", "8", "--resnet-weights", "none", "--batch-size", "3", "--device", "cpu",
             "--eval-subset", "2"]


def train(data: Path, run: Path, *extra: str) -> int:
    return main(["train", str(data), str(run), *TINY_ARGS, *extra])


def test_train_evaluate_export(prepared_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    assert train(prepared_dataset, run, "--epochs", "1", "--max-steps", "2") == 0
    out = capsys.readouterr().out
    assert "finished at step 2" in out and str(run) in out
    assert (run / "checkpoints" / "last.pt").is_file()

    assert train(prepared_dataset, run, "--max-steps", "4", "--resume") == 0
    assert "finished at step 4" in capsys.readouterr().out

    report = tmp_path / "eval.json"
    grid = tmp_path / "grid.png"
    assert main(["evaluate", str(run), str(prepared_dataset), "--json", str(report), "--grid", str(grid)]) == 0
    out = capsys.readouterr().out
    assert "PSNR" in out and "SSIM" in out
    data = json.loads(report.read_text())
    assert data["count"] == 2 and len(data["per_image"]) == 2 and data["per_image"][0]["file"]
    assert np.isfinite(data["summary"]["psnr"]) and 0 < data["summary"]["ssim"] <= 1
    from colorcore.data.imageio import read_image

    assert read_image(grid).shape[0] > 3 * 64  # gray | fake | real rows

    model_file = tmp_path / "exported.safetensors"
    assert main(["export", str(run), str(model_file)]) == 0
    assert "exported multipath" in capsys.readouterr().out
    assert main(["evaluate", str(model_file), str(prepared_dataset), "--split", "train"]) == 0
    assert "on train (6 images)" in capsys.readouterr().out
    assert (tmp_path / "evaluation_train.png").is_file()
    assert main(["evaluate", str(model_file), str(prepared_dataset), "--split", "train", "--limit", "2"]) == 0
    assert "on train (2 images)" in capsys.readouterr().out


def test_short_epochs_validate_and_save_at_most_every_30_s_unless_told(
    prepared_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Epochs of a step or two would write a checkpoint every step or two: by default their end-of-epoch
    work runs at most every 30 s (a note says so, as the Training tab does); --min-epoch-interval 0 runs it
    after every epoch, and any other value is used as given."""
    run = tmp_path / "run"  # 6 training photos, batch 3: two steps per epoch
    assert train(prepared_dataset, run, "--epochs", "3", "--keep", "5") == 0
    err = capsys.readouterr().err
    assert "an epoch is 2 steps here (6 training photos, batch 3)" in err and "at most every 30 s" in err
    assert "--min-epoch-interval 0" in err
    assert json.loads((run / "config.json").read_text())["min_epoch_interval_s"] == 30.0
    saved = sorted(p.name for p in (run / "checkpoints").glob("epoch_*.pt"))
    assert "epoch_0002.pt" in saved and len(saved) < 3  # (only the last, unless an epoch took over 30 s)

    every = tmp_path / "every"
    assert train(prepared_dataset, every, "--epochs", "3", "--keep", "5", "--min-epoch-interval", "0") == 0
    assert "an epoch is" not in capsys.readouterr().err
    assert len(list((every / "checkpoints").glob("epoch_*.pt"))) == 3
    assert len((every / "eval.csv").read_text().splitlines()) == 4  # header + every epoch

    quiet = tmp_path / "quiet"
    assert train(prepared_dataset, quiet, "--epochs", "3", "--keep", "5", "--min-epoch-interval", "3600") == 0
    assert "an epoch is" not in capsys.readouterr().err
    assert sorted(p.name for p in (quiet / "checkpoints").glob("epoch_*.pt")) == ["epoch_0002.pt"]
    assert len((quiet / "eval.csv").read_text().splitlines()) == 2  # header + the last epoch


def test_the_short_epoch_rule_counts_every_torchrun_process() -> None:
    """Under torchrun --batch-size is per process: 2 processes of batch 8 on 40 photos make 2-step
    epochs (short: validated at most every 30 s, only the last checkpoint kept), one process makes 5 (not
    short); a given interval or count is used as it is. The note is the CLI's; the rule the engine's."""
    import argparse

    from colorcore.commands.train import epoch_schedule_and_note
    from colorcore.training.presets import EpochSchedule, epoch_schedule

    def flags(**given: object) -> argparse.Namespace:
        return argparse.Namespace(**{"batch_size": 8, "min_epoch_interval": None, "keep": None, **given})

    schedule, note = epoch_schedule_and_note(40, flags(), processes=2)
    assert schedule == EpochSchedule(30.0, 0, 2) == epoch_schedule(40, 8, processes=2)
    assert "an epoch is 2 steps here (40 training photos, batch 8 x 2 processes)" in note
    assert "keep only the last checkpoint" in note and "--min-epoch-interval 0" in note
    assert epoch_schedule_and_note(40, flags()) == (EpochSchedule(0.0, 3, None), "")
    assert epoch_schedule_and_note(40, flags(min_epoch_interval=0.0, keep=5), 2) == (EpochSchedule(0.0, 5, 2), "")
    assert epoch_schedule_and_note(None, flags()) == (EpochSchedule(0.0, 3, None), "")


def test_user_errors_are_one_line_with_exit_code_2(
    prepared_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    not_data = tmp_path / "not_a_dataset"
    not_data.mkdir()
    assert train(not_data, tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert "not a prepared dataset" in err and str(not_data) in err and "Traceback" not in err

    assert main(["train", str(prepared_dataset), str(tmp_path / "r2"), "--model", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err

    weights = tmp_path / "resnet.pth"
    assert main(["train", str(prepared_dataset), str(tmp_path / "r4"), "--resnet-weights", str(weights)]) == 2
    assert f"--resnet-weights {weights}: file not found" in capsys.readouterr().err

    assert main(["train", str(prepared_dataset), str(tmp_path / "r5"), "--model", "zhang", "--lr-d", "1e-3"]) == 2
    assert "--lr-d does not apply to the zhang model (only to multipath, scgan)" in capsys.readouterr().err
    assert main(["train", str(prepared_dataset), str(tmp_path / "r6"), "--model", "scgan", "--finetune-resnet"]) == 2
    assert "--finetune-resnet does not apply to the scgan model (only to multipath)" in capsys.readouterr().err
    assert main(["train", str(prepared_dataset), str(tmp_path / "r7"), "--lr-warmup-steps", "-1"]) == 2
    assert "--lr-warmup-steps must be 0 or more" in capsys.readouterr().err

    assert train(prepared_dataset, tmp_path / "r3", "--resume") == 2
    assert "nothing to resume" in capsys.readouterr().err

    missing = tmp_path / "missing.safetensors"
    assert main(["evaluate", str(missing), str(prepared_dataset)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "not found" in err

    assert main(["export", str(tmp_path), str(tmp_path / "out.txt")]) == 2
    assert ".safetensors" in capsys.readouterr().err


def test_an_engine_errors_advice_is_worded_with_the_flags(
    prepared_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The engine's advice (which setting to change) reaches the terminal as flags: a device this machine
    lacks fails the run (exit 1) and the evaluation (exit 2) with `--device cpu` advised; a broken
    dataset advises preparing it again with `colorcore prepare`."""
    assert train(prepared_dataset, tmp_path / "run", "--device", "mps") == 1  # the last --device wins
    err = capsys.readouterr().err
    assert "Apple MPS is not available" in err and "(use --device cpu, or use --device auto)" in err
    assert main(["evaluate", str(tmp_path / "run"), str(prepared_dataset), "--device", "mps"]) == 2
    assert "(use --device cpu, or use --device auto)" in capsys.readouterr().err

    broken = tmp_path / "broken"
    shutil.copytree(prepared_dataset, broken)
    for array in broken.glob("train_*.npy"):
        array.write_bytes(b"not an array")
    assert train(broken, tmp_path / "run2", "--max-steps", "1") == 1
    err = capsys.readouterr().err
    assert str(broken) in err and "(check the prepared dataset folder, or prepare it again with `colorcore prepare`)" in err


def test_existing_run_needs_resume(prepared_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    assert train(prepared_dataset, run, "--epochs", "1", "--max-steps", "1", "--eval-subset", "0") == 0
    capsys.readouterr()
    assert train(prepared_dataset, run, "--epochs", "1") == 2
    assert "--resume" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_prepares_trains_and_writes_a_before_after_image(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from colorcore.data.imageio import read_image

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--steps", "2", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    before_after = out / "before_after.png"
    assert str(before_after) in printed and "Pre-trained trunk: none" in printed  # the starter's
    image = read_image(before_after)
    assert image.shape[1] > 2 * image.shape[0]  # gray | colourised | original side by side
    assert (out / "run" / "checkpoints" / "last.pt").is_file() and (out / "data" / "manifest.json").is_file()


def test_building_the_parser_imports_no_torch() -> None:
    """The train flags come from the model registry (torch): they are added only when `train` is parsed,
    so `colorcore --help` and the other commands start without torch."""
    code = "import sys; from colorcore.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "False"


def test_train_help_names_every_registered_model(capsys) -> None:
    """`colorcore train --help` lists each model of the registry (its text is written by hand)."""
    import pytest

    from colorcore.cli import main
    from colorcore.models.base import MODEL_REGISTRY

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in MODEL_REGISTRY:
        assert name in text
    assert "7 down/7 up at 128 px" in text


def test_max_steps_preset_and_init_reach_the_run(prepared_dataset: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    """--max-steps beyond --epochs trains that many steps; --preset and the resolved values are recorded;
    --init starts a new run from a model's weights and architecture."""
    first = tmp_path / "first"
    assert train(prepared_dataset, first, "--epochs", "1", "--max-steps", "5", "--preset", "paper") == 0
    assert "finished at step 5 (epoch 2)" in capsys.readouterr().out  # 2 steps per epoch: epochs do not cap it
    saved = json.loads((first / "config.json").read_text())
    assert saved["model"]["preset"] == "paper" and saved["hyperparameters"]["lr_g"] == 1e-3
    second = tmp_path / "second"
    assert main(["train", str(prepared_dataset), str(second), "--init", str(first), "--width", "16",
                 "--batch-size", "3", "--device", "cpu", "--max-steps", "1", "--eval-subset", "0"]) == 0
    saved = json.loads((second / "config.json").read_text())
    assert saved["init"] == str(first) and saved["model"]["width"] == 8  # the init model's architecture
    assert train(prepared_dataset, tmp_path / "third", "--init", str(tmp_path / "nowhere")) == 2
    assert "--init" in capsys.readouterr().err


def test_an_existing_run_is_refused_or_replaced_as_a_whole(prepared_dataset: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    assert train(prepared_dataset, run, "--epochs", "2", "--keep", "3") == 0  # (short epochs keep none unless told)
    assert (run / "model.safetensors").is_file()  # every finished run is one step from colourising
    old_epochs = sorted(p.name for p in (run / "checkpoints").glob("epoch_*.pt"))
    assert old_epochs
    capsys.readouterr()
    assert train(prepared_dataset, run, "--epochs", "1") == 2
    assert "already holds a run" in capsys.readouterr().err
    assert sorted(p.name for p in (run / "checkpoints").glob("epoch_*.pt")) == old_epochs  # untouched
    assert train(prepared_dataset, run, "--epochs", "1", "--max-steps", "1", "--overwrite") == 0
    assert [p.name for p in (run / "checkpoints").glob("epoch_*.pt")] == []  # no mixture of two runs
    assert len((run / "eval.csv").read_text().splitlines()) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.")]  # the old run is gone
