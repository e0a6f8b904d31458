"""The Training tab's "From the starter model": the form shows what trains, the validation plot shows the
starting model's score as a line, and the end says whether the run beats it (offering it when not)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gui_fixtures import *  # noqa: F401,F403

from app.main_window import MainWindow
from colorcore.training.runs import RunFolder


def test_the_form_shows_the_starter_models_architecture_and_fine_tuning_rates(main_window: MainWindow) -> None:
    from colorcore.models.checkpoint import read_metadata
    from colorcore.models.base import MODEL_REGISTRY
    from colorcore.training.presets import FINETUNE_LR_SCALE
    from colorcore.models.settings import starter_model_path

    tab = main_window.training_tab
    starter = read_metadata(starter_model_path())["model_config"]
    preset = MODEL_REGISTRY["multipath"].preset_values("default")
    assert tab.width_spin.value() == 64 and tab.width_spin.isEnabled()
    tab.starter_box.setChecked(True)
    assert tab.width_spin.value() == starter["width"] == 32 and not tab.width_spin.isEnabled()
    assert tab.resnet_combo.currentText() == starter["resnet_weights"] and not tab.resnet_combo.isEnabled()
    assert tab.model_combo.currentText() == "multipath" and not tab.model_combo.isEnabled()
    assert tab.option_widget("lr_g").value() == preset["lr_g"] * FINETUNE_LR_SCALE
    config = tab.train_config()
    assert config.init == "starter" and config.model.width == 32
    tab.defaults_button.click()  # the preset keeps the fine-tuning scale while the box is ticked
    assert tab.option_widget("lr_g").value() == preset["lr_g"] * FINETUNE_LR_SCALE
    assert tab.width_spin.value() == 32
    tab.starter_box.setChecked(False)
    assert tab.width_spin.value() == 64 and tab.width_spin.isEnabled() and tab.model_combo.isEnabled()
    assert tab.option_widget("lr_g").value() == preset["lr_g"]
    assert tab.train_config().init is None


def test_a_fine_tuning_run_draws_the_starting_score_and_says_whether_it_beats_it(
    qtbot, main_window: MainWindow, prepared_dataset: Path, tmp_path: Path
) -> None:
    tab = main_window.training_tab
    run = tmp_path / "run"
    tab.set_dataset(str(prepared_dataset))
    tab.run_edit.setText(str(run))
    tab.starter_box.setChecked(True)
    tab.batch_spin.setValue(2)
    tab.max_steps_spin.setValue(2)
    assert tab.start_training()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=600000)
    result = tab.last_result
    assert result.status == "finished" and result.start_metrics and result.best
    start = RunFolder(run).starting_score()
    assert start is not None and start.step == 0
    assert tab.metrics_plot.reference("psnr") == pytest.approx(start.metrics["psnr"], abs=1e-3)
    assert tab.metrics_plot.series("psnr")[0].size >= 1  # the trained validations are the curve, not the line
    text = tab.progress_label.text()
    assert f"step {int(result.best['step'])} checkpoint" in text
    beats = result.best["psnr"] > result.start_metrics["psnr"]
    assert ("beats the starting model" in text) == beats
    assert ("not beat the starting model" in text) == (not beats)
    assert tab.starting_model_button.isVisibleTo(tab) == (not beats)
    requested = []
    tab.colourise_requested.connect(requested.append)
    tab.request_starting_model()
    assert requested and Path(requested[0]).name == "starter.safetensors"

    # the line comes back with the run's history
    tab.metrics_plot.clear()
    assert tab.metrics_plot.reference("psnr") is None
    tab.load_history(run)
    assert tab.metrics_plot.reference("psnr") == pytest.approx(start.metrics["psnr"], abs=1e-3)
