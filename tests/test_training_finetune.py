"""Fine-tuning never makes a model worse without saying so: the best held-out checkpoint is what a run
exports, a run started from trained weights scores them first, learns at scaled-down rates and keeps
their chroma calibration."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import torch

from colorcore.models.checkpoint import load_checkpoint, load_model, read_metadata
from colorcore.cli import main
from colorcore.commands.train import finishing_text
from colorcore.models.base import MODEL_REGISTRY, ModelConfig
from colorcore.training.presets import FINETUNE_LR_SCALE
from colorcore.training.runs import START_EPOCH, RunFolder
from colorcore.models.settings import starter_model_path
from colorcore.training.trainer import TrainConfig, Trainer, TrainResult

TINY = ModelConfig(width=8, resnet_weights="none")


class Recorder:
    def __init__(self) -> None:
        self.epochs: list[Any] = []
        self.notices: list[Any] = []

    def on_epoch_end(self, event: Any) -> None:
        self.epochs.append(event)

    def on_notice(self, event: Any) -> None:
        self.notices.append(event)


def evals(run: Path) -> list[dict[str, str]]:
    with open(run / "eval.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def generator_equal(a: Any, b: Any) -> bool:
    sa, sb = a.generator.state_dict(), b.generator.state_dict()
    return all(torch.equal(sa[k].float(), sb[k].float()) for k in sa)


def test_the_model_file_is_the_best_held_out_checkpoint(prepared_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    config = TrainConfig(data=str(prepared_dataset), run_dir=str(run), model=TINY.with_(lr_g=5e-3), epochs=6,
                         batch_size=3, device="cpu", eval_subset=2, sample_count=0, keep_checkpoints=0)
    result = Trainer(config).run()
    rows = evals(run)
    scores = {int(r["step"]): float(r["psnr"]) for r in rows}
    best_step = max(scores, key=scores.get)  # the first of equals: a later validation must beat it
    assert result.best["step"] == best_step and result.best["psnr"] == pytest.approx(scores[best_step], abs=1e-3)
    assert load_checkpoint(run / "checkpoints" / "best.pt")["step"] == best_step
    assert read_metadata(run / "model.safetensors")["training"]["steps"] == best_step
    assert generator_equal(load_model(run / "model.safetensors"), load_model(run / "checkpoints" / "best.pt"))
    # `colorcore export RUN` writes the same model
    assert main(["export", str(run), str(tmp_path / "again.safetensors")]) == 0
    assert read_metadata(tmp_path / "again.safetensors")["training"]["steps"] == best_step
    assert RunFolder(run).export_source() == run / "checkpoints" / "best.pt"

    other = tmp_path / "last"
    Trainer(TrainConfig(**{**config.__dict__, "run_dir": str(other), "keep_best": False})).run()
    assert not (other / "checkpoints" / "best.pt").exists()
    assert read_metadata(other / "model.safetensors")["training"]["steps"] == result.step


def test_a_run_from_the_starter_scores_it_first_and_keeps_its_calibration(prepared_dataset: Path,
                                                                          tmp_path: Path) -> None:
    run = tmp_path / "run"
    rec = Recorder()
    config = TrainConfig(data=str(prepared_dataset), run_dir=str(run), model=TINY, init="starter", max_steps=2,
                         batch_size=3, device="cpu", eval_subset=2, sample_count=0, keep_checkpoints=0)
    result = Trainer(config, [rec]).run()
    assert result.status == "finished"
    # the starting model's score: the first eval.csv row and the first epoch event, before step 1
    first = evals(run)[0]
    assert (int(first["epoch"]), int(first["step"])) == (START_EPOCH, 0)
    assert rec.epochs[0].epoch == START_EPOCH and rec.epochs[0].step == 0
    starter = load_model(starter_model_path())
    from colorcore.data.prepared import load_prepared
    from colorcore.evaluation.evaluate import evaluate_model

    expected = evaluate_model(starter, load_prepared(prepared_dataset), "test", limit=2, grid_count=0).summary
    assert result.start_metrics["psnr"] == pytest.approx(expected["psnr"], abs=1e-4)
    assert RunFolder(run).starting_score().metrics["psnr"] == pytest.approx(expected["psnr"], abs=1e-3)
    # fine-tuning rates, said in a notice and recorded
    preset = MODEL_REGISTRY["multipath"].preset_values("default")
    saved = RunFolder(run).train_config().model
    assert saved.lr_g == pytest.approx(preset["lr_g"] * FINETUNE_LR_SCALE) and saved.width == starter.config.width
    assert any(n.kind == "finetune" and f"x{FINETUNE_LR_SCALE:g}" in n.message for n in rec.notices)
    # the model file keeps the starter's chroma calibration and says where it started
    model = load_model(run / "model.safetensors")
    assert model.calibration == starter.calibration and not model.calibration.neutral
    meta = read_metadata(run / "model.safetensors")
    assert meta["training"]["starting_model"]["init"] == "starter"
    assert load_model(run / "checkpoints" / "last.pt").calibration == starter.calibration

    # resumed, it still knows where it started
    resumed = Trainer(TrainConfig(**{**config.__dict__, "resume": True, "init": None, "max_steps": 3})).run()
    assert resumed.start_metrics == result.start_metrics
    assert [int(r["epoch"]) for r in evals(run)].count(START_EPOCH) == 1


def test_explicit_rates_are_not_scaled(prepared_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    config = TrainConfig(data=str(prepared_dataset), run_dir=str(run), model=TINY.with_(lr_g=3e-4), init="starter",
                         max_steps=1, batch_size=3, device="cpu", eval_subset=0, sample_count=0)
    assert Trainer(config).run().status == "finished"
    saved = RunFolder(run).train_config().model
    assert saved.lr_g == 3e-4 and saved.lr_d == pytest.approx(
        MODEL_REGISTRY["multipath"].preset_values("default")["lr_d"] * FINETUNE_LR_SCALE)


def test_the_finishing_text_says_whether_the_run_beats_its_start() -> None:
    def result(best: float) -> TrainResult:
        return TrainResult("finished", "run", step=200, model_file="run/model.safetensors",
                           start_metrics={"psnr": 20.0}, best={"step": 40, "epoch": 3, "psnr": best})

    better = finishing_text(result(20.5), "starter")
    assert "better than the starting model: 20.50 dB vs 20.00 dB" in better and "from step 40" in better
    worse = finishing_text(result(19.5), "starter")
    assert "NOT better than the starting model" in worse and "--model starter" in worse
    resumed = finishing_text(result(19.5), None)  # a resumed run's start is known from its checkpoint
    assert "NOT better than the starting model" in resumed and "--model" not in resumed
    from_scratch = TrainResult("finished", "run", step=200, model_file="run/model.safetensors",
                               best={"step": 40, "epoch": 3, "psnr": 19.5})
    assert "starting model" not in finishing_text(from_scratch, None) and "from step 40" in finishing_text(
        from_scratch, None)
