"""The main window's tabs, and small helpers they share: remembered folders, error dialogs,
revealing files."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

FOLDERS_GROUP = "folders"


def last_folder(settings: QSettings, kind: str) -> str:
    """The folder last used for `kind` (e.g. "photos", "run"), or the home folder."""
    value = settings.value(f"{FOLDERS_GROUP}/{kind}", "", type=str)
    return value if value and Path(value).is_dir() else str(Path.home())


def remember_folder(settings: QSettings, kind: str, path: str) -> None:
    """Remember `path` (or its folder, for a file) as the last folder used for `kind`."""
    folder = Path(path)
    if not folder.is_dir():
        folder = folder.parent
    settings.setValue(f"{FOLDERS_GROUP}/{kind}", str(folder))


def show_error(parent: QWidget, title: str, message: str, suggestion: str = "") -> QMessageBox:
    """Show a non-blocking warning dialog (window-modal) with an optional suggestion; returns it."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    if suggestion:
        box.setInformativeText(suggestion)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def reveal_in_file_manager(path: str) -> bool:
    """Open the folder that holds `path` (or the folder itself) in the system file manager."""
    target = Path(path)
    folder = target if target.is_dir() else target.parent
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
