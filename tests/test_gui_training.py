"""The Training tab, driven for real (offscreen Qt, the real Trainer on tiny models)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.gui_fixtures import *  # noqa: F401,F403
from tests.gui_fixtures import make_main_window

from app.main_window import MainWindow
from colorcore.core.advice import REDO, Advice
from colorcore.training.presets import EpochSchedule, epoch_schedule


def _fill_tiny_run(tab, dataset: Path, run: Path) -> None:
    tab.set_dataset(str(dataset))
    tab.run_edit.setText(str(run))
    tab.model_combo.setCurrentText("multipath")
    tab.width_spin.setValue(8)
    tab.resnet_combo.setCurrentText("none")
    tab.batch_spin.setValue(2)
    tab.epochs_spin.setValue(1000)


def _visible_boxes(widget) -> list[QMessageBox]:
    return [box for box in widget.findChildren(QMessageBox) if box.isVisible()]


def test_presets_reset_the_form_to_the_models_values(main_window: MainWindow) -> None:
    from colorcore.models.base import MODEL_REGISTRY

    tab = main_window.training_tab
    tab.batch_spin.setValue(3)
    tab.option_widget("lambda_edge").setValue(2.0)
    tab.option_widget("lr_g").setValue(0.5)
    tab.paper_button.click()
    assert tab.batch_spin.value() == 64 and tab.option_widget("lambda_edge").value() == 0.05 and tab.epochs_spin.value() == 100
    assert tab.option_widget("lr_g").value() == MODEL_REGISTRY["multipath"].preset_values("paper")["lr_g"] == 1e-3
    assert tab.train_config().model.preset == "paper"
    tab.defaults_button.click()
    assert tab.option_widget("lr_g").value() == MODEL_REGISTRY["multipath"].preset_values("default")["lr_g"]
    assert tab.train_config().model.preset == "default" and tab.train_config().model.resnet_weights == "auto"
    tab.model_combo.setCurrentText("zhang")
    tab.paper_button.click()
    assert tab.epochs_spin.value() == 200  # the paper's, section 6.2
    # only the chosen model's options are shown: zhang has no discriminator, loss weights or ResNet path
    shown = {name for name in ("width", "lr_g", "lr_d", "beta1", "lambda_l1", "resnet_weights")
             if not tab.option_widget(name).isHidden()}
    assert shown == {"width", "lr_g"}
    assert "lambda_l1" not in tab.train_config().model.to_dict()
    tab.model_combo.setCurrentText("scgan")
    assert tab.epochs_spin.value() == 100 and tab.option_widget("lr_d").value() == 1e-3  # section 6.1
    tab.model_combo.setCurrentText("multipath")
    assert not tab.option_widget("lambda_sal").isHidden() and not tab.resnet_combo.isHidden()
    assert [tab.model_combo.itemText(i) for i in range(tab.model_combo.count())] == sorted(MODEL_REGISTRY)
    assert tab.loss_plot.loss_names() == list(MODEL_REGISTRY["multipath"].loss_names)
    assert tab.device_combo.count() >= 1 and tab.device_combo.itemData(tab.device_combo.count() - 1) == "cpu"


def test_validate_and_checkpoint_interval_reaches_the_config_and_is_remembered(
    qtbot, main_window: MainWindow, prepared_dataset: Path, tmp_path: Path
) -> None:
    from app.tabs.training import TrainingTab

    tab = main_window.training_tab
    assert tab.epoch_interval_spin.value() == 0 and tab.epoch_interval_spin.text() == "epoch"
    _fill_tiny_run(tab, prepared_dataset, tmp_path / "run")
    tab.batch_spin.setValue(1)  # 6 training photos: epochs of 6 steps, not short
    assert tab.train_config().min_epoch_interval_s == 0.0 and tab.train_config().keep_checkpoints > 0
    tab.batch_spin.setValue(3)  # epochs of 2 steps: the engine's short-epoch rule, as `colorcore train` applies it
    config = tab.train_config()
    assert (config.min_epoch_interval_s, config.keep_checkpoints) == (30.0, 0)
    assert epoch_schedule(6, 3) == EpochSchedule(30.0, 0, 2)
    tab.epoch_interval_spin.setValue(30)
    assert tab.train_config().min_epoch_interval_s == 30.0
    tab.save_settings()
    again = TrainingTab(main_window.settings)
    qtbot.addWidget(again)
    assert again.epoch_interval_spin.value() == 30


def test_training_run_draws_curves_pauses_resumes_stops_and_leaves_a_checkpoint(
    qtbot, main_window: MainWindow, prepared_dataset: Path, tmp_path: Path
) -> None:
    from colorcore.models.checkpoint import load_model

    tab = main_window.training_tab
    run = tmp_path / "run"
    _fill_tiny_run(tab, prepared_dataset, run)
    ends = []
    assert tab.start_training()
    tab._worker.end.connect(ends.append)
    assert tab.state() == "running" and main_window.stop_action.isEnabled()
    assert main_window.job_label.text() == "Training"

    qtbot.waitUntil(lambda: tab.steps_seen >= 2 and tab.metrics_plot.series("psnr")[0].size >= 1
                    and tab.sample_view.has_image(), timeout=120000)
    for name in tab.loss_plot.loss_names():
        steps, values = tab.loss_plot.series(name)
        assert steps.size >= 2 and np.all(np.isfinite(values))
        x, _ = tab.loss_plot.curves[name].getData()
        assert x is not None and len(x) == steps.size  # the curve item holds the data
    assert tab.sample_view.has_image()

    tab.toggle_pause()
    assert tab.state() == "paused" and tab.pause_button.text() == "Resume"
    qtbot.wait(1500)  # the step in flight lands, then nothing
    paused_at = tab.steps_seen
    qtbot.wait(1500)
    assert tab.steps_seen == paused_at
    tab.toggle_pause()
    assert tab.state() == "running"
    qtbot.waitUntil(lambda: tab.steps_seen > paused_at, timeout=60000)

    tab.stop_training()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=60000)
    assert tab.state() == "idle" and [e.status for e in ends] == ["stopped"]
    assert (run / "checkpoints" / "last.pt").is_file()
    model = load_model(run)
    assert model.name == "multipath" and not model.training
    assert tab.resume_box.isChecked()  # the run can be resumed

    # opening the run again (File > Open run...) redraws its logged history and offers resuming
    tab.loss_plot.clear()
    main_window.open_run(str(run))
    logged = (run / "metrics.csv").read_text().strip().splitlines()[1:]
    assert tab.loss_plot.series("g")[0].size == len(logged) >= 2
    assert tab.run_edit.text() == str(run) and tab.resume_box.isChecked()
    assert tab.sample_view.has_image()


def test_closing_the_window_mid_training_asks_then_stops_cleanly(
    qtbot, qtlog, gui_settings, prepared_dataset: Path, tmp_path: Path, monkeypatch
) -> None:
    window = make_main_window(qtbot, gui_settings)
    tab = window.training_tab
    run = tmp_path / "run"
    _fill_tiny_run(tab, prepared_dataset, run)
    assert tab.start_training()
    qtbot.waitUntil(lambda: tab.steps_seen >= 1, timeout=120000)
    thread = tab._worker._thread

    # a first wait far shorter than a step: the window must keep waiting, never drop the thread
    monkeypatch.setattr("app.main_window.SHUTDOWN_TIMEOUT_MS", 1)
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: asked.append(args[2]) or answers.pop(0))
    window.close()
    assert window.isVisible() and tab.is_busy()  # "No" keeps everything going
    window.close()
    assert len(asked) == 2 and "Training" in asked[0]
    assert not window.isVisible()
    assert not tab.is_busy() and thread.isFinished() and not thread.isRunning()
    assert not [record.message for record in qtlog.records if "QThread" in record.message]
    assert (run / "checkpoints" / "last.pt").is_file()


def test_an_engine_error_shows_a_dialog_with_a_suggestion(
    qtbot, main_window: MainWindow, prepared_dataset: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken_dataset"
    shutil.copytree(prepared_dataset, broken)
    for array in broken.glob("train_*.npy"):
        array.write_bytes(b"not an array")
    tab = main_window.training_tab
    _fill_tiny_run(tab, broken, tmp_path / "run")
    assert tab.start_training()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=60000)
    boxes = _visible_boxes(tab)
    assert tab.last_error is not None and boxes
    assert boxes[-1].text() == tab.last_error.message and str(broken) in boxes[-1].text()
    assert Advice("data", REDO) in tab.last_error.advice  # the engine's advice (prepare the dataset again)...
    assert boxes[-1].informativeText().startswith("check the prepared dataset folder, or prepare it again in the "
                                                  "Dataset tab")  # ... worded with the GUI's table
    assert "--" not in boxes[-1].informativeText() and "colorcore " not in boxes[-1].informativeText()
    assert tab.state() == "idle" and tab.start_button.isEnabled()
    assert "Training failed" in tab.progress_label.text() and "finished" not in tab.progress_label.text()
    assert str(broken) in tab.progress_label.text()  # with its reason


def test_a_run_that_is_not_learning_shows_a_warning_beside_the_curves(
    qtbot, main_window: MainWindow, prepared_dataset: Path, tmp_path: Path
) -> None:
    tab = main_window.training_tab
    _fill_tiny_run(tab, prepared_dataset, tmp_path / "run")
    tab.option_widget("lr_g").setValue(1.0)
    tab.option_widget("lr_d").setValue(1.0)
    tab.max_steps_spin.setValue(30)
    assert tab.notice_label.isHidden()
    assert tab.start_training()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=120000)
    assert not tab.notice_label.isHidden()
    assert "Not learning" in tab.notice_label.text() and "lower the LR G" in tab.notice_label.text()  # its label
    assert "--" not in tab.notice_label.text()  # GUI words, not the command line's
    assert "Step 30/30" in tab.progress_label.text()  # max steps is the stopping rule, beyond 1000 epochs' cap


def test_log_scale_draws_negative_losses_as_absolute_values_and_says_so(main_window: MainWindow,
                                                                       tmp_path: Path) -> None:
    """Issue 15: the log axis cannot show the discriminator's negative loss; it is drawn as |d|,
    dashed, with a note, instead of disappearing without a word."""
    import csv

    run = tmp_path / "run"
    run.mkdir()
    with (run / "metrics.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "epoch", "time_s", "img_per_s", "loss_g", "loss_l1", "loss_gan", "loss_sal",
                         "loss_edge", "loss_d"])
        for step, d in enumerate([-0.5, -0.25, 0.125, -1.0], start=1):
            writer.writerow([step, 0, step, 10, 2.0 / step, 0.5, 0.25, 0.1, 0.05, d])
    tab = main_window.training_tab
    tab.set_resume_run(str(run))
    plot = tab.loss_plot
    assert plot.series("d")[1].tolist() == [-0.5, -0.25, 0.125, -1.0]
    assert not plot.log_note.isVisibleTo(tab)

    plot.log_scale.setChecked(True)
    assert plot.curves["d"].yData.tolist() == [0.5, 0.25, 0.125, 1.0]  # every point drawn, none hidden
    assert plot.absolute_curves() == ["d"]
    assert plot.curves["d"].opts["pen"].style() == Qt.PenStyle.DashLine
    assert plot.legend.getLabel(plot.curves["d"]).text == "|d|"
    assert plot.log_note.isVisibleTo(tab) and plot.log_note.text().startswith("Log scale: d has values \u2264 0 and is drawn as |d|")
    assert plot.curves["g"].yData.tolist() == [2.0, 1.0, 2.0 / 3, 0.5] and plot.legend.getLabel(plot.curves["g"]).text == "g"

    plot.log_scale.setChecked(False)
    assert plot.curves["d"].yData.tolist() == [-0.5, -0.25, 0.125, -1.0]
    assert plot.absolute_curves() == [] and not plot.log_note.isVisibleTo(tab)
    assert plot.legend.getLabel(plot.curves["d"]).text == "d"


def test_a_runs_curves_and_results_come_back_after_a_restart(qtbot, gui_settings, prepared_dataset: Path,
                                                             tmp_path: Path) -> None:
    """Issue 15: "Results and curves are not restored after a restart"."""
    from PySide6.QtCore import QSettings

    from colorcore.models.base import ModelConfig
    from colorcore.training.trainer import TrainConfig, Trainer

    run = tmp_path / "run"
    Trainer(TrainConfig(data=str(prepared_dataset), run_dir=str(run), batch_size=2, max_steps=2,
                        model=ModelConfig(name="multipath", width=8, resnet_weights="none"))).run()
    first = make_main_window(qtbot, gui_settings)
    first.open_run(str(run))
    qtbot.waitUntil(lambda: not first.busy_tabs(), timeout=120000)  # the Results tab scores it
    steps, losses = (a.tolist() for a in first.training_tab.loss_plot.series("g"))
    psnr = first.training_tab.metrics_plot.series("psnr")[1].tolist()
    assert len(steps) >= 1 and len(psnr) >= 1
    first.close()

    second = make_main_window(qtbot, QSettings(gui_settings.fileName(), QSettings.Format.IniFormat))
    try:
        training = second.training_tab
        assert training.run_edit.text() == str(run)
        assert [a.tolist() for a in training.loss_plot.series("g")] == [steps, losses]
        assert training.metrics_plot.series("psnr")[1].tolist() == psnr
        assert training.sample_view.has_image()
        qtbot.waitUntil(lambda: bool(second.results_tab.runs()), timeout=120000)
        assert [r.path for r in second.results_tab.runs()] == [str(run.resolve())]
        qtbot.waitUntil(lambda: not second.busy_tabs(), timeout=120000)
        assert second.results_tab.runs()[0].predictions is not None
    finally:
        second.shutdown()
        second.close()
        second.deleteLater()


def test_opening_a_runs_checkpoint_fills_the_form_with_the_settings_it_was_trained_with(
    main_window: MainWindow, prepared_dataset: Path, tmp_path: Path
) -> None:
    from colorcore.models.base import MODEL_REGISTRY, ModelConfig
    from colorcore.training.trainer import TrainConfig, Trainer

    run = tmp_path / "runs" / "scgan"
    config = TrainConfig(data=str(prepared_dataset), run_dir=str(run), batch_size=3, max_steps=1, seed=5,
                         model=ModelConfig(name="scgan", width=4, preset="paper", lambda_l1=2.0),
                         eval_subset=0, sample_count=0)
    assert Trainer(config).run().status == "finished"
    tab = main_window.training_tab
    tab.set_resume_run(str(run / "checkpoints" / "last.pt"))  # the run a checkpoint lies in
    assert tab.run_edit.text() == str(run) and tab.resume_box.isChecked()
    assert tab.dataset_edit.text() == str(prepared_dataset)
    assert tab.model_combo.currentText() == "scgan" and tab.preset == "paper"
    assert (tab.width_spin.value(), tab.batch_spin.value(), tab.seed_spin.value(), tab.max_steps_spin.value()) == (4, 3, 5, 1)
    assert tab.option_widget("lambda_l1").value() == 2.0
    assert tab.option_widget("lr_g").value() == MODEL_REGISTRY["scgan"].preset_values("paper")["lr_g"]  # the preset's, recorded
    assert tab.train_config().model.lambda_l1 == 2.0 and tab.train_config().data == str(prepared_dataset)
