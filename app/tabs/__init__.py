"""The main window's tabs: the `Tab` protocol every tab meets, and small helpers they share: remembered
folders, folder dialogs that start at a field's path, error dialogs in GUI words, revealing files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

from PySide6.QtCore import QSettings, Qt, QUrl, SignalInstance
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from colorcore.core.advice import LOWER, OFF, ON, OTHER, REDO, SET, Advice, AdviceWords

FOLDERS_GROUP = "folders"


@runtime_checkable
class Tab(Protocol):
    """What the main window uses on each of its five tabs (QWidgets): its messages and job progress for
    the status bar, whether a job runs, and stopping that job when the window closes."""

    status_message: SignalInstance  # (message): shown in the status bar
    job_progress: SignalInstance  # (job name, done, total): the status bar's job; "" when none runs

    def is_busy(self) -> bool:
        """True while a job of this tab runs."""

    def shutdown(self, timeout_ms: int) -> None:
        """Ask the tab's job to stop and wait up to `timeout_ms` for it."""

# the engine's advice (`colorcore.core.advice`: which setting to change) in GUI words: the controls' labels
GUI_WORDS = AdviceWords(
    options={
        "batch_size": "Batch size", "width": "Width", "device": "Device", "resume": "Resume",
        "run_dir": "Run folder", "data": "Dataset", "resnet_weights": "ResNet-18", "lr_g": "LR G",
        "lr_d": "LR D", "epochs": "Epochs", "max_steps": "Max steps", "seed": "Seed",
        "init": "From the starter model", "min_epoch_interval_s": "save every",
    },
    actions={LOWER: "lower the {option}", SET: "set {option} to {value}", ON: "tick {option}",
             OFF: "untick {option}", OTHER: "choose another {option}", REDO: "make the {option} again"},
    phrases={
        ("data", REDO): "prepare it again in the Dataset tab",
        ("device", SET, "cpu"): "choose the CPU as Device",
        ("device", SET, "auto"): "",  # the Device list offers only the devices found
        ("resnet_weights", SET): "choose ResNet-18 \u201c{value}\u201d",
        ("resnet_weights", OTHER): "choose a local ResNet-18 file",
        ("preset", SET): "press the {value} button",
    },
    values={"default": "Default settings", "paper": "Paper settings"},
)
# what the engine's messages from modules whose errors carry no advice yet say in flags, in GUI words
# (longest phrases first: they are replaced before the bare flags inside them)
CLI_TO_GUI = (
    ("use --overwrite to replace it", "choose another output folder, or confirm replacing it"),
    ("or run again with --download", "or tick \u201cDownload if missing\u201d and run again"),
    ("(--download after deleting the folder)", "(delete the folder, then run with \u201cDownload if missing\u201d)"),
    ("or pass --no-verify to use files", "or untick \u201cCheck official checksums\u201d to use files"),
    # the Downstream tab replaces no results: its "Output folder" is the way out
    ("use another --out folder, or --overwrite to discard them",
     "choose another Output folder (the results there stay as they are)"),
    ("use another --out or --overwrite", "choose another Output folder"),
    ("delete it or use --overwrite", "delete it or choose another Output folder"),
    ("pass --data DATA", "open the prepared dataset in the Results tab"),
)
FLAG_NAMES = {
    "--batch-size": "Batch size", "--width": "Width", "--max-steps": "Max steps", "--epochs": "Epochs",
    "--resume": "Resume", "--device": "Device", "--resnet-weights": "ResNet-18", "--seed": "Seed",
    "--lr-g": "LR G", "--lr-d": "LR D", "--init": "From the starter model", "--out": "the output folder",
    "--download": "Download if missing", "--no-verify": "Check official checksums (unticked)",
    "--min-epoch-interval": "save every",
}
FLAG = re.compile(r"--[a-z][a-z-]*")


def gui_words(text: str) -> str:
    """An engine message with its command-line flags replaced by the GUI controls that do the same."""
    for cli, gui in CLI_TO_GUI:
        text = text.replace(cli, gui)
    return FLAG.sub(lambda match: FLAG_NAMES.get(match.group(0), match.group(0).lstrip("-").replace("-", " ")), text)


def last_folder(settings: QSettings, kind: str, fallback: str = "") -> str:
    """The folder last used for `kind` (e.g. "photos", "run"), else `fallback` (a folder), else the home folder."""
    for value in (settings.value(f"{FOLDERS_GROUP}/{kind}", "", type=str), fallback):
        if value and Path(value).is_dir():
            return value
    return str(Path.home())


def remember_folder(settings: QSettings, kind: str, path: str) -> None:
    """Remember `path` (or its folder, for a file) as the last folder used for `kind`."""
    folder = Path(path)
    if not folder.is_dir():
        folder = folder.parent
    settings.setValue(f"{FOLDERS_GROUP}/{kind}", str(folder))


def dialog_start(field_text: str, fallback: str) -> str:
    """Where a file dialog opens: the field's path (or the nearest folder of it that exists), else
    `fallback`."""
    text = field_text.strip()
    if not text:
        return fallback
    path = Path(text).expanduser()
    for candidate in (path, *path.parents):
        if candidate.is_dir() and str(candidate) not in ("", "."):
            return str(candidate)
    return fallback


def ask_folder(parent: QWidget, title: str, start: str, create: bool = False) -> str:
    """A folder chosen in a dialog that opens at `start` ("" when cancelled). With `create`, the
    dialog is Qt's own, whose New Folder button makes a folder where the user is (some system dialogs
    offer none)."""
    dialog = QFileDialog(parent, title, start)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, create)
    dialog.setLabelText(QFileDialog.DialogLabel.Accept, "Choose")
    if dialog.exec() != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
        return ""
    return dialog.selectedFiles()[0]


def advice_text(advice: Sequence[Advice], suggestion: str = "") -> str:
    """A suggestion and the engine's advice in GUI words ("" when there is neither)."""
    return GUI_WORDS.text(advice, gui_words(suggestion))


def show_error(parent: QWidget, title: str, message: str, suggestion: str = "") -> QMessageBox:
    """Show a non-blocking warning dialog (window-modal) with an optional suggestion, both in GUI
    words (see `gui_words`; the engine's advice: `advice_text`); returns it."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, gui_words(message), QMessageBox.StandardButton.Ok, parent)
    if suggestion:
        box.setInformativeText(gui_words(suggestion))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def reveal_in_file_manager(path: str) -> bool:
    """Open the folder that holds `path` (or the folder itself) in the system file manager; False
    when this system has none to open it with."""
    target = Path(path)
    folder = target if target.is_dir() else target.parent
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
