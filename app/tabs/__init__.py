"""The main window's tabs: the `Tab` protocol every tab meets, and small helpers they share: remembered
folders, folder dialogs that start at a field's path, error dialogs in GUI words, revealing files."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

from PySide6.QtCore import QSettings, Qt, QUrl, SignalInstance
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from colorcore.core.advice import GIVE, LOWER, OFF, ON, OTHER, REDO, SET, Advice, AdviceWords, advice_of

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
        "init": "From the starter model", "min_epoch_interval_s": "save every", "out": "Output folder",
    },
    actions={LOWER: "lower the {option}", SET: "set {option} to {value}", ON: "tick {option}",
             OFF: "untick {option}", OTHER: "choose another {option}", REDO: "make the {option} again",
             GIVE: "choose the {option}"},
    phrases={
        ("data", REDO): "prepare it again in the Dataset tab",
        ("device", SET, "cpu"): "choose the CPU as Device",
        ("device", SET, "auto"): "",  # the Device list offers only the devices found
        ("resnet_weights", SET): "choose ResNet-18 \u201c{value}\u201d",
        ("resnet_weights", OTHER): "choose a local ResNet-18 file",
        ("preset", SET): "press the {value} button",
        ("download", ON): "tick \u201cDownload if missing\u201d",
        ("verify", OFF): "untick \u201cCheck official checksums\u201d",
        ("overwrite", ON): "",  # no tab replaces what a user made without asking (see DATASET_WORDS)
        ("suffix", OTHER): "",  # the Colourise tab numbers its outputs instead
    },
    values={"default": "Default settings", "paper": "Paper settings"},
)
# the Dataset tab asks before it replaces a prepared dataset
DATASET_WORDS = GUI_WORDS.with_phrases({("overwrite", ON): "press Prepare again and confirm replacing it"})
# the Downstream tab never discards results: another Output folder is its way out
DOWNSTREAM_WORDS = GUI_WORDS.with_phrases(
    {("out", OTHER): "choose another Output folder; the results in this one stay as they are"})


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


def advice_text(advice: Sequence[Advice], suggestion: str = "", words: AdviceWords = GUI_WORDS) -> str:
    """A suggestion and the engine's advice in GUI words (`words`: a tab's own where they differ; ""
    when there is neither)."""
    return words.text(advice, suggestion)


def with_advice(message: str, advice: Sequence[Advice], words: AdviceWords = GUI_WORDS) -> str:
    """`message (what to try)`: an engine error with its advice in GUI words."""
    text = advice_text(advice, words=words)
    return f"{message} ({text})" if text else message


def error_text(exc: BaseException, words: AdviceWords = GUI_WORDS) -> str:
    """An engine error's message with its advice (`advice_of`) in GUI words."""
    return with_advice(str(exc), advice_of(exc), words)


def show_error(parent: QWidget, title: str, message: str, suggestion: str = "") -> QMessageBox:
    """Show a non-blocking warning dialog (window-modal) with an optional suggestion (the engine's
    advice in GUI words: `advice_text`); returns it."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    if suggestion:
        box.setInformativeText(suggestion)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def reveal_in_file_manager(path: str) -> bool:
    """Open the folder that holds `path` (or the folder itself) in the system file manager; False
    when this system has none to open it with."""
    target = Path(path)
    folder = target if target.is_dir() else target.parent
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
