"""Training that learns at its defaults: real photos, the gray-photo floor, the divergence notice,
--max-steps as the stopping rule, ResNet provenance through resume and export, crops split by photo."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from colorcore.core.advice import LOWER, Advice
from colorcore.models.checkpoint import export_model, read_metadata
from colorcore.data.prepare import prepare
from colorcore.data.prepared import load_prepared
from colorcore.evaluation.evaluate import evaluate_model
from colorcore.evaluation.metrics import psnr
from colorcore.models.base import ModelConfig, build_model
from colorcore.models.generator import load_resnet18
from colorcore.core.resources import samples_dir
from colorcore.core.tensors import gray_input, to_uint8_images
from colorcore.training.trainer import TrainConfig, Trainer
from colorcore.training.watchdog import LEARNING_NOTICE, LearningMonitor
from tests.helpers import Recorder


@pytest.fixture(scope="module")
def real_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample photographs (real photos), prepared at 64 px with a few crops each."""
    data = tmp_path_factory.mktemp("learning") / "data"
    prepare(samples_dir(), data, size=64, test_fraction=0.2, seed=0, crops_per_photo=3)
    return data


def gray_psnr(rgb: np.ndarray) -> float:
    real = torch.from_numpy(np.array(rgb, dtype=np.uint8))
    return float(psnr(to_uint8_images(gray_input(real)), real).mean())


def test_default_settings_learn_on_real_photos(real_photos: Path, tmp_path: Path) -> None:
    """At the default learning rates (nothing raised for the test), training L1 falls and the model beats
    the gray photo on its training photos. Only the width is small, to keep the test fast."""
    config = TrainConfig(data=str(real_photos), run_dir=str(tmp_path / "run"), model=ModelConfig(width=16),
                         batch_size=8, device="cpu", max_steps=200, log_interval_s=0.0, eval_subset=0,
                         sample_count=0, keep_checkpoints=0, seed=0)
    trainer = Trainer(config)
    result = trainer.run()
    assert result.status == "finished" and result.step == 200
    with open(tmp_path / "run" / "metrics.csv", newline="", encoding="utf-8") as handle:
        l1 = [float(row["loss_l1"]) for row in csv.DictReader(handle)]
    assert np.mean(l1[-20:]) < 0.7 * np.mean(l1[:10])
    dataset = load_prepared(real_photos)
    scores = evaluate_model(trainer.model, dataset, "train", grid_count=0).summary
    assert scores["psnr"] > gray_psnr(dataset.split("train").rgb) + 0.5


def test_an_absurd_learning_rate_is_reported_as_not_learning(real_photos: Path, tmp_path: Path) -> None:
    rec = Recorder()
    config = TrainConfig(data=str(real_photos), run_dir=str(tmp_path / "run"),
                         model=ModelConfig(width=8, lr_g=1.0, lr_d=1.0), batch_size=8, device="cpu",
                         max_steps=40, log_interval_s=0.0, eval_subset=4, sample_count=0, keep_checkpoints=0,
                         min_epoch_interval_s=0.0, seed=1)
    result = Trainer(config, callbacks=[rec]).run()
    assert result.status == "finished", result.error
    notices = [n for n in rec.of("on_notice") if n.kind == LEARNING_NOTICE]
    assert len(notices) >= 1
    assert Advice("lr_g", LOWER) in notices[0].advice  # lower the generator's learning rate
    assert len({n.message for n in notices}) == len(notices)  # each kind once, never repeated


def test_monitor_reports_nan_rise_saturation_and_below_gray_once() -> None:
    monitor = LearningMonitor(warmup_steps=10, window=3)
    assert monitor.on_losses(1, {"l1": float("nan")}).kind == LEARNING_NOTICE
    assert monitor.on_losses(2, {"l1": float("inf")}) is None  # NaN/inf reported once
    for step, value in enumerate([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], start=3):
        assert monitor.on_losses(step, {"l1": value}) is None
    notice = None
    for step in range(13, 20):
        notice = notice or monitor.on_losses(step, {"l1": 1.0})
    assert notice is not None and "rose" in notice.message
    assert monitor.on_validation(5, 20.0, 15.0, saturated=0.9) is not None
    assert monitor.on_validation(5, 10.0, 15.0, saturated=0.0) is None  # still in the warm-up
    assert "below the gray" in monitor.on_validation(50, 10.0, 15.0, saturated=0.0).message


def test_max_steps_beyond_the_epochs_is_the_stopping_rule(real_photos: Path, tmp_path: Path) -> None:
    n_train = len(load_prepared(real_photos).split("train"))
    steps_per_epoch = n_train // 4
    config = TrainConfig(data=str(real_photos), run_dir=str(tmp_path / "run"), model=ModelConfig(width=4),
                         epochs=1, batch_size=4, device="cpu", max_steps=3 * steps_per_epoch + 1, eval_subset=0,
                         sample_count=0, keep_checkpoints=0, log_interval_s=0.0)
    result = Trainer(config).run()
    assert result.status == "finished"
    assert result.step == 3 * steps_per_epoch + 1 and result.epoch == 3


def test_resume_and_export_keep_the_resnet_provenance(real_photos: Path, tmp_path: Path) -> None:
    weights = tmp_path / "resnet18.pth"
    torch.save(load_resnet18("none").state_dict(), weights)
    run = tmp_path / "run"
    base = dict(data=str(real_photos), run_dir=str(run), batch_size=4, device="cpu", eval_subset=0,
                sample_count=0, keep_checkpoints=0, log_interval_s=0.0)
    model = ModelConfig(width=4, resnet_weights=str(weights))
    assert Trainer(TrainConfig(**base, model=model, max_steps=2)).run().status == "finished"
    weights.unlink()  # resuming must not read it again: the trunk comes from the checkpoint
    result = Trainer(TrainConfig(**base, model=ModelConfig(width=4), max_steps=4, resume=True)).run()
    assert result.status == "finished" and result.step == 4
    saved = json.loads((run / "config.json").read_text(encoding="utf-8"))["model"]
    assert saved["resnet_weights"] == str(weights)
    meta = read_metadata(export_model(run, tmp_path / "model.safetensors"))
    assert meta["model_config"]["resnet_weights"] == str(weights)
    assert meta["resnet"] == {"weights": str(weights), "role": "frozen"}


def test_auto_resnet_weights_resolve_offline_and_are_recorded(real_photos: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Without cached ImageNet weights and without internet, "auto" trains with the EfficientNet-Lite0 trunk
    instead of ResNet-18 (its weights install with ColorCore), says so and records it."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    monkeypatch.setenv("no_proxy", "")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # a port that refuses: offline, at once
    rec = Recorder()
    run = tmp_path / "run"
    config = TrainConfig(data=str(real_photos), run_dir=str(run), model=ModelConfig(width=4), batch_size=4,
                         device="cpu", max_steps=1, eval_subset=0, sample_count=0, keep_checkpoints=0)
    assert Trainer(config, callbacks=[rec]).run().status == "finished"
    saved = json.loads((run / "config.json").read_text(encoding="utf-8"))["model"]
    assert saved["resnet_weights"] == "none" and saved["trunk"] == "efficientnet-lite0"
    notes = [n for n in rec.of("on_notice") if n.kind == "resnet"]
    assert len(notes) == 1 and "EfficientNet-Lite0" in notes[0].message and "Apache-2.0" in notes[0].message


def test_crops_multiply_samples_and_the_split_is_by_photo(tmp_path: Path) -> None:
    src = tmp_path / "photos"
    shutil.copytree(samples_dir(), src, ignore=shutil.ignore_patterns("*.md"))
    photos = sorted(p.name for p in src.iterdir())
    result = prepare(src, tmp_path / "data", size=32, test_fraction=0.3, seed=1, crops_per_photo=5)
    data = load_prepared(tmp_path / "data")
    manifest = data.manifest
    assert manifest.crops_per_photo == 5 and manifest.to_dict()["split_by"] == "photo"
    train_photos, test_photos = set(manifest.photos["train"]), set(manifest.photos["test"])
    assert not train_photos & test_photos and train_photos | test_photos == set(photos)
    assert result.n_train == 6 * len(train_photos) and len(data.split("test")) == 6 * len(test_photos)
    assert set(data.files("train")) == train_photos  # every sample names its own photo
    rgb = np.asarray(data.split("train").rgb)
    first = rgb[:6].reshape(6, -1).astype(np.int16)
    assert all(np.abs(first[0] - first[k]).mean() > 1 for k in range(1, 6))  # crops differ from the centre square
    again = prepare(src, tmp_path / "again", size=32, test_fraction=0.3, seed=1, crops_per_photo=5)
    assert again.n_train == result.n_train
    assert np.array_equal(np.asarray(load_prepared(tmp_path / "again").split("train").rgb), rgb)  # reproducible


def test_presets_give_each_model_its_values() -> None:
    paper = build_model(ModelConfig(preset="paper"))
    default = build_model(ModelConfig())
    assert paper.hyperparameter("lr_g") == 1e-3 and paper.hyperparameter("lr_d") == 1e-4
    assert default.hyperparameter("lr_g") != paper.hyperparameter("lr_g")
    assert build_model(ModelConfig(preset="paper", lr_g=3e-4)).hyperparameter("lr_g") == 3e-4
    with pytest.raises(ValueError, match="unknown preset"):
        ModelConfig(preset="fast")
