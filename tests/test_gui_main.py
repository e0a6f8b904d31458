"""The main window, driven for real offscreen: tabs, menus, status bar, settings, drops, theme."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl, SignalInstance
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget

from tests.gui_fixtures import *  # noqa: F401,F403
from tests.gui_fixtures import make_main_window

from app.main_window import TAB_TITLES, MainWindow
from app.tabs import Tab
from app.theme import DARK, LIGHT


def test_window_has_the_five_tabs_menus_and_device(main_window: MainWindow) -> None:
    from colorcore.core.device import describe_device

    titles = [main_window.tabs.tabText(i) for i in range(main_window.tabs.count())]
    assert titles == list(TAB_TITLES) == ["Dataset", "Training", "Results", "Colourise", "Downstream"]
    menus = [action.text().replace("&", "") for action in main_window.menuBar().actions()]
    assert menus == ["File", "Training", "Help"]
    assert main_window.quit_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Quit)
    assert main_window.open_model_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert main_window.device_label.text() == describe_device()
    # idle: training can start, not pause or stop; no job shown
    assert main_window.start_action.isEnabled() and not main_window.stop_action.isEnabled()
    assert main_window.job_label.isHidden()


def test_every_tab_meets_the_tab_protocol_and_reaches_the_status_bar(main_window: MainWindow) -> None:
    assert not isinstance(QWidget(), Tab)  # a widget without the members is no Tab
    tabs = main_window.all_tabs()
    assert [main_window.tabs.indexOf(tab) for tab in tabs] == list(range(len(TAB_TITLES)))
    for tab, title in zip(tabs, TAB_TITLES):
        assert isinstance(tab, Tab), title
        assert isinstance(tab.status_message, SignalInstance) and isinstance(tab.job_progress, SignalInstance)
        inspect.signature(tab.shutdown).bind(1000)  # takes the window's timeout_ms
        assert tab.is_busy() is False
        tab.shutdown(0)  # idle: returns at once
        tab.status_message.emit(f"Hello from {title}")
        assert main_window.statusBar().toolTip() == f"Hello from {title}"
        tab.job_progress.emit(f"{title} job", 2, 5)
        assert main_window.job_label.text() == f"{title} job" and main_window.job_progress_bar.maximum() == 5
        tab.job_progress.emit("", 0, 0)
    assert not main_window.busy_tabs()


def test_about_names_versions_and_the_paper(main_window: MainWindow) -> None:
    import PySide6
    import torch

    text = main_window.about_text()
    assert PySide6.__version__ in text and torch.__version__ in text
    assert "Edge Map and Saliency Map Guided Multi-path GAN" in text
    assert main_window.device_description in text


def test_job_progress_of_a_tab_shows_in_the_status_bar(main_window: MainWindow) -> None:
    main_window.dataset_tab.job_progress.emit("Preparing dataset", 3, 10)
    assert main_window.job_label.text() == "Preparing dataset" and main_window.job_label.isVisibleTo(main_window)
    assert (main_window.job_progress_bar.value(), main_window.job_progress_bar.maximum()) == (3, 10)
    main_window.dataset_tab.job_progress.emit("", 0, 0)
    assert not main_window.job_label.isVisibleTo(main_window)


def test_settings_persist_across_two_windows(qtbot, gui_settings: QSettings, tmp_path: Path, prepared_dataset: Path) -> None:
    first = make_main_window(qtbot, gui_settings)
    first.resize(first.minimumSizeHint().width(), 720)  # the offscreen screen is 800 px high; every tab fits
    size = (first.width(), first.height())
    assert size[1] == 720
    first.tabs.setCurrentIndex(1)
    first.open_dataset(str(prepared_dataset))  # sets the form to the dataset's settings
    first.dataset_tab.size_spin.setValue(128)
    first.training_tab.batch_spin.setValue(12)
    first.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: not first.busy_tabs(), timeout=60000)  # the Results tab reads the dataset
    first.close()
    assert not first.isVisible()

    settings_again = QSettings(gui_settings.fileName(), QSettings.Format.IniFormat)
    second = make_main_window(qtbot, settings_again)
    assert (second.width(), second.height()) == size
    assert second.tabs.currentIndex() == 1
    assert second.dataset_tab.size_spin.value() == 128
    assert second.training_tab.batch_spin.value() == 12
    assert second.training_tab.dataset_edit.text() == str(prepared_dataset)
    assert second.recent_entries()[0] == ("dataset", str(prepared_dataset.resolve()))
    second.recent_menu.aboutToShow.emit()
    assert any(prepared_dataset.name in action.text() for action in second.recent_menu.actions())
    second.close()


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")  # Qt has no QPointF form
def test_dropping_photos_anywhere_queues_them_in_the_colourise_tab(main_window: MainWindow, photo_folder: Path) -> None:
    photos = sorted(str(p) for p in photo_folder.glob("*.jpg"))[:2]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(p) for p in photos])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(main_window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(main_window, drop)
    assert main_window.tabs.currentWidget() is main_window.colorize_tab
    queued = [str(item.path) for item in main_window.colorize_tab.items()]
    assert queued == photos


def test_theme_switch_recolours_the_plots(main_window: MainWindow) -> None:
    plot = main_window.training_tab.loss_plot.plot_widget
    main_window.apply_theme(True)
    assert plot.backgroundBrush().color().name() == DARK.background
    main_window.apply_theme(False)
    assert plot.backgroundBrush().color().name() == LIGHT.background


def test_opening_a_non_dataset_folder_says_so_and_changes_nothing(main_window: MainWindow, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QMessageBox

    main_window.open_dataset(str(tmp_path))
    boxes = [b for b in main_window.dataset_tab.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and str(tmp_path) in boxes[-1].text()
    assert main_window.recent_entries() == []


def test_open_documentation_opens_the_readme(main_window: MainWindow, monkeypatch) -> None:
    from PySide6.QtGui import QDesktopServices

    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    assert main_window.open_documentation()
    readme = Path(opened[0].toLocalFile())
    assert readme.name == "README.md" and "<!-- section: gui -->" in readme.read_text(encoding="utf-8")


def test_f1_without_a_program_to_open_documents_says_so(main_window: MainWindow, tmp_path: Path,
                                                       monkeypatch) -> None:
    """Issue 15: F1 did nothing when no browser is installed (none on PATH here; the offscreen
    platform opens nothing either)."""
    no_programs = tmp_path / "no_programs"
    no_programs.mkdir()
    monkeypatch.setenv("PATH", str(no_programs))
    assert main_window.docs_action.shortcut() == QKeySequence("F1")
    main_window.docs_action.trigger()
    said = main_window.statusBar().toolTip()
    prefix = "No program to open documents was found on this system; the documentation is "
    assert said.startswith(prefix)
    readme = Path(said.removeprefix(prefix))
    assert readme.name == "README.md" and readme.is_file()
    assert main_window.statusBar().currentMessage()


def test_screenshot_flag_renders_a_tab_to_png_and_refuses_unknown_tabs(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "HOME": str(tmp_path)}
    out = tmp_path / "shots" / "training.png"
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "app", "--screenshot", str(out), "--tab", "Training"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 820)
    bad = subprocess.run([sys.executable, "-m", "app", "--screenshot", str(tmp_path / "x.png"), "--tab", "Nope"],
                         cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown tab 'Nope'" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x.png").exists()


def test_the_downstream_tab_answers_to_its_old_name_too() -> None:
    from app.main import parse_args, tab_index

    assert tab_index("Downstream") == tab_index("experiment") == TAB_TITLES.index("Downstream")
    assert parse_args(["--downstream", "OUT"]).downstream == parse_args(["--experiment", "OUT"]).downstream == "OUT"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None, True and False are immortal from Python 3.12 "
                    "(PEP 683): their reference counts cannot run down, so there is nothing to check")
def test_pyside_calls_cannot_run_the_none_and_true_refcounts_down(main_window: MainWindow) -> None:
    """Issue 15 item 8 ("deallocating None" at quit): some PySide6 builds take a reference from None on
    every void call and from True on every emit; the window keeps a reserve no session can use up."""
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        fired = Signal(object)

    emitter = Emitter()
    emitter.fired.connect(lambda _value: None)
    for _ in range(5000):
        main_window.statusBar().showMessage("x")
        emitter.fired.emit(None)
    from app.refcounts import RESERVE

    assert min(sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)) > RESERVE // 2


def test_file_open_model_takes_a_training_run_folder(qtbot, main_window: MainWindow, prepared_dataset: Path,
                                                     tmp_path: Path, monkeypatch) -> None:
    """Issue 15: "run folders accepted everywhere a model is" - File > Open model too; a folder
    that holds no model is refused with the Colourise tab's reason and is not remembered."""
    from PySide6.QtWidgets import QFileDialog

    from colorcore.models.base import ModelConfig
    from colorcore.training.trainer import TrainConfig, Trainer

    run = tmp_path / "run"
    Trainer(TrainConfig(data=str(prepared_dataset), run_dir=str(run), batch_size=2, max_steps=1,
                        model=ModelConfig(name="multipath", width=8, resnet_weights="none"))).run()
    empty = tmp_path / "empty"
    empty.mkdir()
    answers = [str(empty), str(run)]
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda parent, title, start: answers.pop(0)))

    file_menu = main_window.menuBar().actions()[0].menu()
    assert main_window.open_model_menu.menuAction() in file_menu.actions()
    assert [a.text() for a in main_window.open_model_menu.actions()] == [
        "Model &file (.safetensors, .pt)\u2026", "Training &run folder\u2026"]
    colorize = main_window.colorize_tab
    main_window.open_model_folder_action.trigger()
    assert main_window.tabs.currentWidget() is colorize
    assert "holds no model yet" in colorize.message_label.text()
    assert main_window.recent_entries() == [] and main_window.results_tab.runs() == []

    main_window.open_model_folder_action.trigger()
    assert Path(colorize.model_path()) == run.resolve() and main_window.tabs.currentWidget() is colorize
    assert main_window.recent_entries() == [("model", str(run.resolve()))]
    assert [r.path for r in main_window.results_tab.runs()] == [str(run.resolve())]
    qtbot.waitUntil(lambda: not main_window.busy_tabs(), timeout=120000)  # the Results tab scores it
