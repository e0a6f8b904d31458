"""The desktop journey of issue 15, driven in the real main window (offscreen, real files, the real
engine): photos -> dataset -> training -> colourised photo, and what must not be lost on the way."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from app.tabs.training import format_eta
from tests.helpers import write_photo
from tests.gui_fixtures import *  # noqa: F401,F403
from tests.gui_fixtures import close_window, make_main_window

from app.main_window import MainWindow

TINY = {"width": 8, "batch": 2, "max_steps": 3}


def drop(widget, paths: list[Path]) -> None:
    """Drop files or folders on `widget` as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def answer_next_box(qtbot, button_text: str, seen: list[str] | None = None) -> None:
    """Click the button starting with `button_text` in the next modal message box (it is driven
    from a timer, as the box runs its own event loop)."""
    timer = QTimer()
    timer.setInterval(50)

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            return
        for button in box.buttons():
            if button.text().replace("&", "").startswith(button_text):
                timer.stop()
                if seen is not None:
                    seen.append(box.text() + "\n" + box.informativeText())
                button.click()
                return

    timer.timeout.connect(click)
    timer.start()
    qtbot._answer_timer = timer  # kept alive until the box is answered


def fill_tiny(tab, max_steps: int = TINY["max_steps"]) -> None:
    tab.model_combo.setCurrentText("multipath")
    tab.width_spin.setValue(TINY["width"])
    tab.batch_spin.setValue(TINY["batch"])
    tab.max_steps_spin.setValue(max_steps)


def wait_idle(qtbot, tab, timeout: int = 180000) -> None:
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=timeout)


@pytest.fixture
def window(qtbot, gui_settings):
    win = make_main_window(qtbot, gui_settings)
    yield win
    close_window(win)


def test_the_whole_journey_photos_dataset_training_colourised_photo(
    qtbot, window: MainWindow, photo_folder: Path, tmp_path: Path
) -> None:
    # 1. drop a photo folder on the Dataset tab, then Prepare
    dataset_tab = window.dataset_tab
    window.tabs.setCurrentWidget(dataset_tab)
    drop(dataset_tab, [photo_folder])
    assert dataset_tab.source_edit.text() == str(photo_folder)
    prepared = Path(dataset_tab.output_edit.text())
    assert prepared == photo_folder.parent / "photos_prepared"
    dataset_tab.prepare_button.click()
    qtbot.waitUntil(lambda: not dataset_tab.is_busy(), timeout=120000)
    assert (prepared / "manifest.json").is_file()
    assert "6 train, 2 test" in dataset_tab.summary_label.text()

    # 2. the Training tab picks the dataset and a run folder that holds no run
    training = window.training_tab
    assert training.dataset_edit.text() == str(prepared)
    run = prepared.parent / "runs" / "photos_prepared"
    assert training.run_edit.text() == str(run) and not run.exists()
    assert not training.colourise_button.isEnabled()  # nothing trained yet
    fill_tiny(training)
    assert training.resnet_combo.currentText() == "auto"  # the default works offline (no ImageNet here)

    # 3. Start a tiny run; it ends, reported as finished, with its model exported
    window.tabs.setCurrentWidget(training)
    training.start_button.click()
    assert training.is_busy()
    wait_idle(qtbot, training)
    assert training.last_result.status == "finished", training.progress_label.text()
    assert "Training finished at step 3" in training.progress_label.text()
    assert (run / "model.safetensors").is_file()
    # a small folder (epochs of 3 steps) keeps only what resuming needs and the best validation's model
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.pt", "last.pt"]

    # 4. one click to the Colourise tab, with the run's model chosen
    assert training.colourise_button.isEnabled()
    training.colourise_button.click()
    colorize = window.colorize_tab
    assert window.tabs.currentWidget() is colorize
    assert Path(colorize.model_path()) == run.resolve()
    assert colorize.model_combo.currentText() == "photos_prepared (run)"

    # 5. a photo dropped on the window is colourised and saved
    out_dir = tmp_path / "colourised"
    colorize.set_output_dir(str(out_dir))
    photo = write_photo(tmp_path / "new" / "holiday.jpg", 120, 90, seed=42)
    drop(window, [photo])
    qtbot.waitUntil(lambda: colorize.items() and colorize.items()[0].status == "Done", timeout=120000)
    saved = colorize.items()[0].out_path
    assert saved.parent == out_dir and saved.is_file()
    assert stat.S_IMODE(saved.stat().st_mode) & 0o044 == 0o044  # readable by others, like any new file
    assert colorize.view.has_image() and colorize.view.labels() == ("Gray input", "Colourised")
    before = colorize.view._before.pixmap().toImage()
    pixel = before.pixelColor(before.width() // 2, before.height() // 2)
    assert pixel.red() == pixel.green() == pixel.blue()  # the left side is the gray input


def test_a_new_run_never_goes_into_a_folder_holding_one(
    qtbot, window: MainWindow, prepared_dataset: Path, tmp_path: Path
) -> None:
    training = window.training_tab
    run = tmp_path / "runs" / "mine"
    training.set_dataset(str(prepared_dataset))
    training.run_edit.setText(str(run))
    fill_tiny(training, max_steps=2)
    assert training.start_training()
    wait_idle(qtbot, training)
    first_config = (run / "config.json").read_text()
    (run / "samples" / "old_marker.png").write_bytes(b"x")  # something only the old run has

    # Resume unticked, Start: asked; "Start in mine-2" keeps the old run untouched
    assert training.resume_box.isChecked()
    training.resume_box.setChecked(False)
    asked: list[str] = []
    answer_next_box(qtbot, "Start in mine-2", asked)
    assert training.start_training()
    assert asked and "already holds a training run" in asked[0] and "replace the old run" in asked[0]
    assert training.run_edit.text() == str(tmp_path / "runs" / "mine-2")
    wait_idle(qtbot, training)
    assert (tmp_path / "runs" / "mine-2" / "model.safetensors").is_file()
    assert (run / "config.json").read_text() == first_config and (run / "samples" / "old_marker.png").is_file()

    # Cancel writes nothing
    training.run_edit.setText(str(run))
    training.resume_box.setChecked(False)
    answer_next_box(qtbot, "Cancel")
    assert not training.start_training() and not training.is_busy()

    # Replace: the old run is set aside and removed as a whole, never mixed with the new one
    training.resume_box.setChecked(False)
    training.seed_spin.setValue(7)
    answer_next_box(qtbot, "Replace")
    assert training.start_training()
    wait_idle(qtbot, training)
    assert training.last_result.status == "finished"
    assert not (run / "samples" / "old_marker.png").exists()
    assert '"seed": 7' in (run / "config.json").read_text()
    assert not [p for p in run.parent.iterdir() if p.name.startswith(".mine.replaced")]

    # a new dataset suggests a fresh folder rather than the last run's
    training.run_edit.setText("")
    training.set_dataset(str(prepared_dataset))
    suggested = Path(training.run_edit.text())
    assert suggested.parent == prepared_dataset.parent / "runs" and not suggested.exists()


def test_progress_tells_the_truth_paused_eta_reasons_and_locked_fields(
    qtbot, window: MainWindow, prepared_dataset: Path, tmp_path: Path
) -> None:
    training = window.training_tab
    run = tmp_path / "run"
    training.set_dataset(str(prepared_dataset))
    training.run_edit.setText(str(run))
    fill_tiny(training, max_steps=100000)
    assert training.start_training()
    qtbot.waitUntil(lambda: training.steps_seen >= 2, timeout=120000)
    assert f"/100000, epoch" in training.progress_label.text()  # Step x/N counts to Max steps
    assert not training.width_spin.isEnabled() and not training.max_steps_spin.isEnabled()
    assert not training.resnet_combo.isEnabled() and not training.colourise_button.isEnabled()

    training.toggle_pause()
    assert "Paused" in training.progress_label.text() and "ETA" not in training.progress_label.text()
    qtbot.wait(1500)
    assert "Paused" in training.progress_label.text()  # a step landing while pausing keeps it
    training.toggle_pause()
    seen = training.steps_seen
    qtbot.waitUntil(lambda: training.steps_seen >= seen + 3, timeout=120000)
    event = training._last_step
    assert event.eta_s is not None and event.eta_s > 1000  # ~100000 steps left at a few steps a second
    assert f"ETA {format_eta(event.eta_s)}" in training.progress_label.text()  # the engine's ETA, shown
    training.stop_training()
    wait_idle(qtbot, training)
    assert "Training stopped at step" in training.progress_label.text()
    assert "Tick Resume" in training.progress_label.text()
    assert training.width_spin.isEnabled() and training.colourise_button.isEnabled()  # a stopped run colourises

    # resuming a run that has nothing left says why, not just "finished"
    steps_done = training.last_result.step
    training.max_steps_spin.setValue(steps_done)
    assert training.resume_box.isChecked()
    assert training.start_training()
    wait_idle(qtbot, training)
    assert "nothing left to train" in training.progress_label.text()


def test_results_tab_scores_a_run_on_its_own_dataset_and_colourises_with_it(
    qtbot, window: MainWindow, prepared_dataset: Path, tmp_path: Path
) -> None:
    from colorcore.data.prepare import prepare
    from colorcore.training.trainer import TrainConfig, Trainer
    from colorcore.models.base import ModelConfig

    run = tmp_path / "run"
    Trainer(TrainConfig(data=str(prepared_dataset), run_dir=str(run), batch_size=2, max_steps=2,
                        model=ModelConfig(name="multipath", width=8, resnet_weights="none"))).run()
    other_photos = tmp_path / "other"
    for index in range(4):
        write_photo(other_photos / f"p{index}.jpg", 80, 64, seed=60 + index)
    other = tmp_path / "other_prepared"
    prepare(other_photos, other, size=64, test_fraction=0.5, seed=0, workers=1)

    results = window.results_tab
    results.open_dataset(str(other))
    results.open_run(str(run))  # trained on prepared_dataset: scored there by default
    assert Path(results.dataset_edit.text()) == prepared_dataset.resolve()
    assert not results.scored_elsewhere()
    qtbot.waitUntil(lambda: not results.is_busy(), timeout=120000)
    assert results.runs()[0].predictions is not None

    results.open_dataset(str(other))  # the user asks for another dataset: said so
    qtbot.waitUntil(lambda: not results.is_busy(), timeout=120000)
    assert [r.path for r, _ in results.scored_elsewhere()] == [str(run.resolve())]
    assert "was trained on prepared" in results.hint_label.text() and "other_prepared" in results.hint_label.text()

    # one click to the Colourise tab with this run
    assert results.colourise_button.isEnabled()
    results.colourise_button.click()
    assert window.tabs.currentWidget() is window.colorize_tab
    assert Path(window.colorize_tab.model_path()) == run.resolve()

    # reopened after a restart
    window.save_settings()
    again = make_main_window(qtbot, window.settings)
    try:
        qtbot.waitUntil(lambda: bool(again.results_tab.runs()), timeout=120000)
        assert [r.path for r in again.results_tab.runs()] == [str(run.resolve())]
        assert Path(again.results_tab.dataset_edit.text()) == other.resolve()
    finally:
        again.shutdown()
        again.close()
        again.deleteLater()


def test_colourise_tab_run_folders_failures_and_new_output_folders(
    qtbot, window: MainWindow, prepared_dataset: Path, tmp_path: Path
) -> None:
    from colorcore.training.trainer import TrainConfig, Trainer
    from colorcore.models.base import ModelConfig

    colorize = window.colorize_tab
    empty = tmp_path / "not_a_run"
    empty.mkdir()
    colorize.open_model(str(empty))
    assert colorize.model_path() != str(empty) and "holds no model yet" in colorize.message_label.text()
    assert [a.text() for a in colorize.open_model_button.menu().actions()] == [
        "Model file (.safetensors, .pt)...", "Training run folder..."]

    run = tmp_path / "run"
    Trainer(TrainConfig(data=str(prepared_dataset), run_dir=str(run), batch_size=2, max_steps=1,
                        model=ModelConfig(name="multipath", width=8, resnet_weights="none"))).run()
    colorize.open_model(str(run))
    assert colorize.model_combo.currentText() == "run (run)"

    # a photo that fails to colourise is not shown as done
    colorize.set_output_dir(str(tmp_path / "out"))
    broken = tmp_path / "broken.jpg"
    broken.write_text("not a photo")
    colorize.add_paths([str(broken)])
    qtbot.waitUntil(lambda: not colorize.is_busy() and colorize.items()[0].status != "Queued", timeout=60000)
    assert colorize.items()[0].status == "Error"
    bar = colorize.table.cellWidget(0, 2)
    assert bar.value() == 0

    # Browse... for the output folder opens at the field's path and can make a new folder there
    from PySide6.QtWidgets import QToolButton

    def choose_new_folder() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog) and w.isVisible())
        assert Path(dialog.directory().absolutePath()) == tmp_path / "out"
        new_folder_button = dialog.findChild(QToolButton, "newFolderButton")
        assert new_folder_button is not None and new_folder_button.isVisible() and new_folder_button.isEnabled()
        new_folder_button.click()
        qtbot.waitUntil(lambda: any(p.is_dir() for p in (tmp_path / "out").iterdir()), timeout=120000)
        dialog.accept()

    QTimer.singleShot(300, choose_new_folder)
    colorize._browse_output_dir()
    made = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
    assert len(made) == 1 and colorize.output_dir() == made[0]
