"""Shared GUI test fixtures: offscreen Qt, isolated QSettings, the main window, a tiny model file (photo
folders and prepared datasets come from tests/conftest.py).

Use in a test module with `pytest_plugins = ["tests.gui_fixtures"]` or
`from tests.gui_fixtures import *`.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings

from app.refcounts import protect_singletons
from tests.helpers import save_tiny_model

protect_singletons()  # as the app does: PySide6 builds that drop references to None/True (app/refcounts.py)

__all__ = ["gui_settings", "isolated_qsettings", "main_window", "make_main_window", "tiny_model_file", "window"]


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point every default-constructed QSettings at a fresh temporary folder."""
    root = tmp_path_factory.mktemp("qsettings")
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(root))
        QSettings.setPath(QSettings.Format.NativeFormat, scope, str(root))


@pytest.fixture
def gui_settings(tmp_path: Path) -> QSettings:
    """A QSettings backed by an ini file in this test's temporary folder; colourised photos go to a
    folder there too (the starter model is chosen at first start, so a dropped photo is colourised)."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("colorize/output_dir", str(tmp_path / "colourised"))
    return settings


def make_main_window(qtbot, settings: QSettings):
    """A real MainWindow on `settings`, shown offscreen, with its engine loaded. The caller closes
    it (qtbot does not: closing with a job running would ask a blocking question)."""
    from app.main_window import MainWindow

    window = MainWindow(settings)
    window.show()
    qtbot.waitUntil(window.is_engine_loaded, timeout=60000)
    return window


def close_window(window) -> None:
    """Stop a MainWindow's jobs and close it, answering "quit anyway" to the question it asks about work
    a test left unapplied (a modal question nobody answers offscreen would hang the suite)."""
    from unittest import mock

    from PySide6.QtWidgets import QMessageBox

    window.shutdown()
    with mock.patch.object(QMessageBox, "question", return_value=QMessageBox.StandardButton.Yes):
        window.close()
    window.deleteLater()


@pytest.fixture
def main_window(qtbot, gui_settings: QSettings):
    """The real main window (offscreen, isolated settings); its jobs are stopped at teardown."""
    window = make_main_window(qtbot, gui_settings)
    yield window
    close_window(window)


@pytest.fixture
def window(qtbot, gui_settings: QSettings):
    """The real main window at 1100 x 760 (its engine may still be loading); closed at teardown."""
    from app.main_window import MainWindow

    win = MainWindow(gui_settings)
    win.resize(1100, 760)
    win.show()
    yield win
    close_window(win)  # not by qtbot: a test's unapplied edits would make the window ask and hang


@pytest.fixture
def tiny_model_file(tmp_path: Path) -> Path:
    """A real exported model file of a tiny untrained multipath model."""
    return save_tiny_model(tmp_path / "tiny.safetensors", seed=0)
