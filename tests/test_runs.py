"""`colorcore.training.runs.RunFolder` on a real tiny training run: files, config, history, samples, dataset."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from colorcore.data.imageio import read_image
from colorcore.training.runs import (
    SAMPLE_PATTERN,
    EvalRecord,
    RunFolder,
    StepRecord,
    dataset_of_run,
    fresh_run_folder,
    is_unused_folder,
)
from tests.helpers import PHOTO_FOLDER_SPECS, PREPARED_SIZE, write_photo

WIDTH = 4
BATCH = 3  # 6 training photos: 2 steps per epoch
EPOCHS = 2


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(training folder, run folder): a 2-epoch multipath run trained with paths relative to the
    training folder (`data`, `runs/tiny`), as `colorcore train data runs/tiny` writes them."""
    from colorcore.data.prepare import prepare
    from colorcore.models.base import ModelConfig
    from colorcore.training.trainer import TrainConfig, Trainer

    root = tmp_path_factory.mktemp("runs")
    for relative, width, height, seed in PHOTO_FOLDER_SPECS:
        write_photo(root / "photos" / relative, width, height, seed)
    prepare(root / "photos", root / "data", size=PREPARED_SIZE, test_fraction=0.25, seed=0, workers=1)
    config = TrainConfig(data="data", run_dir=os.path.join("runs", "tiny"), epochs=EPOCHS, batch_size=BATCH,
                         model=ModelConfig(name="multipath", width=WIDTH, resnet_weights="none"), device="cpu",
                         log_interval_s=0.0, eval_subset=2, sample_count=2, keep_checkpoints=1)
    previous = Path.cwd()
    os.chdir(root)
    try:
        assert Trainer(config).run().status == "finished"
    finally:
        os.chdir(previous)
    return root, root / "runs" / "tiny"


def test_a_finished_run_is_read_back_whole(trained: tuple[Path, Path], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from colorcore.data.prepared import is_prepared_dataset
    from colorcore.models.base import MODEL_REGISTRY

    root, folder = trained
    monkeypatch.chdir(tmp_path)  # another working folder than the one training ran in
    run = RunFolder(folder)
    assert run.is_run() and run.can_resume()
    assert run.model_file() == run.exported_model == folder / "model.safetensors"
    assert run.last_checkpoint == folder / "checkpoints" / "last.pt" and run.last_checkpoint.is_file()

    config = run.train_config()
    assert config is not None and config.data == "data" and config.batch_size == BATCH
    assert config.model.name == "multipath" and config.model.width == WIDTH and config.epochs == EPOCHS
    assert config.model.lr_g is None and run.hyperparameters()["lr_g"] > 0  # the preset's value, recorded
    # the relative dataset path is found from here, through the run's recorded relative run folder
    assert run.trained_on() == root / "data" and is_prepared_dataset(run.trained_on())

    steps = run.steps()
    assert [s.step for s in steps] == [1, 2, 3, 4] and [s.epoch for s in steps] == [0, 0, 1, 1]
    assert all(isinstance(s, StepRecord) and s.img_per_s > 0 for s in steps)
    assert all(set(s.losses) == set(MODEL_REGISTRY["multipath"].loss_names) for s in steps)
    evaluations = run.evaluations()
    assert [(e.epoch, e.step) for e in evaluations] == [(0, 2), (1, 4)]
    assert all(isinstance(e, EvalRecord) and set(e.metrics) == {"psnr", "ssim", "colourfulness"}
               for e in evaluations)
    assert 0 < evaluations[-1].metrics["ssim"] <= 1

    latest = run.latest_samples()
    assert latest == folder / "samples" / SAMPLE_PATTERN.format(EPOCHS - 1)
    assert read_image(latest).shape[0] > 3 * PREPARED_SIZE  # gray | fake | real rows


def test_the_run_of_a_model_file_or_checkpoint_is_the_folder_they_lie_in(trained: tuple[Path, Path],
                                                                         tmp_path: Path) -> None:
    root, folder = trained
    for path in (folder, folder / "model.safetensors", folder / "checkpoints" / "last.pt",
                 next((folder / "checkpoints").glob("epoch_*.pt"))):
        found = RunFolder.containing(path)
        assert found is not None and found.path == folder, path
        assert dataset_of_run(path) == root / "data"
    loose = tmp_path / "models" / "mine.safetensors"
    loose.parent.mkdir()
    shutil.copy(folder / "model.safetensors", loose)
    assert RunFolder.containing(loose) is None and dataset_of_run(loose) is None
    assert RunFolder.containing(tmp_path / "models") is None and not RunFolder(tmp_path / "models").is_run()
    assert RunFolder(tmp_path / "models").trained_on() is None


def test_a_moved_run_falls_back_to_the_working_folder_and_loses_what_is_deleted(trained: tuple[Path, Path],
                                                                                 tmp_path: Path) -> None:
    _, folder = trained
    moved = tmp_path / "elsewhere"
    shutil.copytree(folder, moved)
    run = RunFolder(moved)
    assert run.trained_on() == Path("data")  # relative to the working folder, as recorded

    (moved / "model.safetensors").unlink()
    assert run.model_file() == moved / "checkpoints" / "best.pt" == run.export_source()
    (moved / "checkpoints" / "best.pt").unlink()
    assert run.model_file() == moved / "checkpoints" / "last.pt" == run.export_source()
    shutil.rmtree(moved / "checkpoints")
    assert run.model_file() is None and not run.can_resume()
    shutil.rmtree(moved / "samples")
    assert run.latest_samples() is None
    assert run.is_run()  # config.json and the curves remain


def test_damaged_files_read_as_missing_values_never_as_errors(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "run")
    assert not run.is_run() and run.steps() == [] and run.evaluations() == [] and run.train_config() is None
    run.path.mkdir()
    (run.path / "config.json").write_text("{not json", encoding="utf-8")
    assert run.is_run() and run.train_config() is None and run.trained_on() is None and run.hyperparameters() == {}
    (run.path / "config.json").write_text('{"data": "d", "run_dir": "r", "batch_size": 0}', encoding="utf-8")
    assert run.train_config() is None  # a setting this version rejects
    (run.path / "metrics.csv").write_text(
        "step,epoch,time_s,img_per_s,loss_g,loss_d\n1,0,0.1,9.5,0.5,\nbad,0,0.2,9.5,0.4,0.3\n3,0,0.3,,x,0.25\n",
        encoding="utf-8")
    first, last = run.steps()  # the row without a step number is left out
    assert first == StepRecord(1, 0, 9.5, {"g": 0.5})  # an empty loss cell is left out
    assert (last.step, last.losses) == (3, {"d": 0.25}) and math.isnan(last.img_per_s)
    (run.path / "eval.csv").write_bytes(b"\xff\xfe\x00garbage")
    assert run.evaluations() == []


def test_a_fresh_run_folder_never_reuses_one_that_holds_files(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "data"
    assert is_unused_folder(target) and fresh_run_folder(target) == target
    target.mkdir(parents=True)
    assert fresh_run_folder(target) == target  # empty: still unused
    (target / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "runs" / "data-2").mkdir()
    (tmp_path / "runs" / "data-2" / "notes.txt").write_text("mine", encoding="utf-8")
    assert not is_unused_folder(target) and fresh_run_folder(target) == tmp_path / "runs" / "data-3"


def test_reading_runs_needs_no_torch() -> None:
    """The GUI reads run folders before the engine is loaded: only `train_config` imports torch."""
    code = ("import sys; from colorcore.training.runs import RunFolder; run = RunFolder('.'); "
            "run.is_run(); run.steps(); run.trained_on(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"
