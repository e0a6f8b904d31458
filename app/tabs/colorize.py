"""Colourise tab: queue photos and folders (drops, File > Open photos), colourise them at full
resolution with the chosen model, compare before/after, save the results."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QMenu, QProgressBar, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from app.tabs import ask_folder, dialog_start, last_folder, remember_folder
from app.widgets.before_after import BeforeAfterView
from app.workers import JobWorker
from colorcore.events import ProgressEvent, StopFlag, emit

JOB_NAME = "Colourise"
RECENT_MODELS_KEY = "colorize/recent_models"
OUTPUT_DIR_KEY = "colorize/output_dir"
GUIDED_KEY = "colorize/guided"
MAX_RECENT_MODELS = 8
PREVIEW_MAX_SIDE = 1600  # previews in the before/after view are at most this many pixels wide/high
OUTPUT_SUFFIX = "_colour"
KEPT_SUFFIXES = (".jpg", ".jpeg", ".png")  # other formats are written as PNG
VIEW_LABELS = ("Gray input", "Colourised")  # the before/after view: what the model saw, what it made
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import (on the GUI thread): os.umask can only be read by setting it
RUN_MODEL_FILES = ("model.safetensors", "checkpoints/last.pt")  # what makes a run folder usable as a model
MODEL_FILE_FILTER = "Models and checkpoints (*.safetensors *.pt);;All files (*)"
NO_MODEL_HELP = (
    "<b>No model yet.</b> To get one: train a model in the <i>Training</i> tab, open a model file "
    "(<i>File &gt; Open model...</i> or the button above: a <tt>.safetensors</tt> model, a <tt>.pt</tt> "
    "checkpoint or a run folder), or run <tt>colorcore demo --out demo_out</tt> in a terminal and open "
    "<tt>demo_out</tt>'s model. Photos you add now wait in the queue until a model is chosen."
)

def bundled_starter() -> str | None:
    """The starter model shipped with the app, or None when this installation lacks it."""
    from colorcore.starter import starter_model_path

    try:
        return str(starter_model_path().resolve())
    except FileNotFoundError:
        return None


def model_label(path: str) -> str:
    """How a model is named in the list: the starter model, a run by its folder name, else the file name."""
    file = Path(path)
    if path == bundled_starter():
        return "Starter model (bundled)"
    if file.is_dir():
        return f"{file.name} (run)"
    if file.name == "model.safetensors":
        return f"{file.parent.name} (run)"
    if file.name == "last.pt" and file.parent.name == "checkpoints":
        return f"{file.parent.parent.name} (run, last checkpoint)"
    return file.name


# queue statuses
QUEUED, WORKING, DONE, FAILED, CANCELLED = "Queued", "Colourising...", "Done", "Error", "Cancelled"
COL_PHOTO, COL_STATUS, COL_PROGRESS = range(3)


@dataclass
class QueueItem:
    """One photo in the queue and what became of it."""

    path: Path
    out_path: Path
    status: str = QUEUED
    message: str = ""


@dataclass(frozen=True)
class PhotoEvent:
    """Emitted by the colourise job as `on_photo` when a photo starts, finishes or fails.

    `before`/`after` are downscaled uint8 previews of a finished photo.
    """

    index: int
    status: str
    message: str = ""
    before: np.ndarray | None = None
    after: np.ndarray | None = None


def preview(image: np.ndarray) -> np.ndarray:
    """`image` (RGB or RGBA uint8) as RGB, downscaled so its longest side is <= PREVIEW_MAX_SIDE."""
    import cv2

    rgb = image[:, :, :3] if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    h, w = rgb.shape[:2]
    scale = PREVIEW_MAX_SIDE / max(h, w)
    if scale >= 1.0:
        return np.ascontiguousarray(rgb)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA)


def gray_preview(image: np.ndarray) -> np.ndarray:
    """The gray photo the model colourises (BT.601 luma), as an RGB preview."""
    from colorcore.colorize import luma

    return np.repeat(luma(preview(image))[:, :, None], 3, axis=2)


def load_previews(path: Path, out_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Before (gray input) / after (colourised) previews of a colourised photo from its files."""
    from colorcore.imageio import read_image

    return gray_preview(read_image(path)), preview(read_image(out_path))


def make_readable(path: Path) -> None:
    """Give a written photo the permissions of an ordinary new file (0644 under the usual umask);
    atomic writes create their temporary file readable by the owner only."""
    os.chmod(path, 0o666 & ~_UMASK)


def output_name(path: Path, out_dir: Path, taken: set[Path]) -> Path:
    """A file in `out_dir` for the colourised `path` that neither exists nor is in `taken`."""
    suffix = path.suffix.lower() if path.suffix.lower() in KEPT_SUFFIXES else ".png"
    candidate = out_dir / f"{path.stem}{OUTPUT_SUFFIX}{suffix}"
    counter = 2
    while candidate in taken or candidate.exists():
        candidate = out_dir / f"{path.stem}{OUTPUT_SUFFIX}_{counter}{suffix}"
        counter += 1
    return candidate


def copy_atomic(src: Path, dst: Path) -> None:
    """Copy a file so that `dst` is either the old file or the complete new one."""
    from colorcore.atomic import atomic_write_bytes

    dst.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(dst, src.read_bytes())
    make_readable(dst)


def colourise_job(model_path: str, items: list[tuple[int, Path, Path]], guided: bool):
    """An engine job colourising `items` (queue index, photo, output file) one by one.

    Emits `on_photo` (PhotoEvent) per photo and `on_progress`; a photo that fails is reported and
    the queue goes on; a model that cannot be loaded fails every photo with that message.
    """

    def job(callbacks: list, stop: StopFlag) -> int:
        from colorcore.checkpoint import load_model
        from colorcore.colorize import colorize_file
        from colorcore.imageio import ImageReadError, read_image

        try:
            model = load_model(model_path, "cpu")
        except Exception as exc:  # any unusable model file: said per photo, never a traceback
            message = f"cannot load model {model_path}: {exc}"
            for index, _, _ in items:
                emit(callbacks, "on_photo", PhotoEvent(index, FAILED, message))
            return 0
        done = 0
        for position, (index, path, out_path) in enumerate(items):
            stop.wait_if_paused()
            if stop.stop_requested:
                break
            emit(callbacks, "on_photo", PhotoEvent(index, WORKING))
            try:
                colorize_file(path, model, out_path, guided=guided)
                make_readable(out_path)
                before, after = load_previews(path, out_path)
            except ImageReadError as exc:
                emit(callbacks, "on_photo", PhotoEvent(index, FAILED, f"{exc.path}: {exc.reason}"))
            except (OSError, ValueError, MemoryError) as exc:
                emit(callbacks, "on_photo", PhotoEvent(index, FAILED, f"{path}: {exc}"))
            else:
                done += 1
                emit(callbacks, "on_photo", PhotoEvent(index, DONE, str(out_path), before, after))
            emit(callbacks, "on_progress", ProgressEvent(position + 1, len(items), path.name))
        return done

    return job


class ColorizeTab(QWidget):
    """Full-resolution colourisation of a queue of photos with a before/after view."""

    status_message = Signal(str)
    job_progress = Signal(str, int, int)
    _previews_loaded = Signal(int, object)  # row, (before, after) or the ImageReadError; from the loader thread

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._items: list[QueueItem] = []
        self._worker: JobWorker | None = None
        self._batch: list[int] = []
        self._shown_index: int | None = None
        self._build()
        self._load_recent_models()
        self._update_state()

    # --- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_combo = QComboBox()
        self.model_combo.setMinimumContentsLength(40)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setToolTip("The model used for new photos (recently used models are remembered)")
        self.model_combo.currentIndexChanged.connect(self._on_model_chosen)
        open_model = QPushButton("Open model...")
        open_model.setToolTip("A model file (.safetensors), a checkpoint (.pt) or a training run's folder")
        model_menu = QMenu(open_model)
        self.open_model_file_action = model_menu.addAction("Model file (.safetensors, .pt)...", self._browse_model)
        self.open_run_folder_action = model_menu.addAction("Training run folder...", self._browse_run_folder)
        open_model.setMenu(model_menu)
        self.open_model_button = open_model
        model_row = QHBoxLayout()
        model_row.addWidget(QLabel("Model:"))
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(open_model)

        self.no_model_label = QLabel(NO_MODEL_HELP)
        self.no_model_label.setWordWrap(True)
        self.no_model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.no_model_label.setFrameShape(QLabel.Shape.StyledPanel)
        self.no_model_label.setMargin(8)

        default_out = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
                           or Path.home()) / "ColorCore"
        self.output_edit = QLineEdit(str(self._settings.value(OUTPUT_DIR_KEY, str(default_out))))
        self.output_edit.setToolTip("Colourised photos are written here (never over an existing file)")
        self.output_edit.editingFinished.connect(
            lambda: self._settings.setValue(OUTPUT_DIR_KEY, self.output_edit.text().strip()))
        browse_out = QPushButton("Browse...")
        browse_out.clicked.connect(self._browse_output_dir)
        self.open_output_button = QPushButton("Open output folder")
        self.open_output_button.clicked.connect(self.open_output_folder)
        self.guided_check = QCheckBox("Edge-aware chroma upsampling")
        self.guided_check.setToolTip("Guided filter: colours follow the photo's edges (off: plain bilinear)")
        self.guided_check.setChecked(str(self._settings.value(GUIDED_KEY, "true")).lower() == "true")
        self.guided_check.toggled.connect(lambda on: self._settings.setValue(GUIDED_KEY, "true" if on else "false"))
        out_row = QHBoxLayout()
        out_row.addWidget(QLabel("Output folder:"))
        out_row.addWidget(self.output_edit, 1)
        out_row.addWidget(browse_out)
        out_row.addWidget(self.open_output_button)
        out_row.addWidget(self.guided_check)

        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Photo", "Status", "Progress"])
        self.table.horizontalHeader().setSectionResizeMode(COL_PHOTO, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(COL_STATUS, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(COL_STATUS, 160)
        self.table.setColumnWidth(COL_PROGRESS, 90)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.currentCellChanged.connect(lambda row, *_: self._show_item(row))
        self._loading_row: int | None = None
        self._preview_loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colourise-preview")
        self._previews_loaded.connect(self._on_previews_loaded)
        add_button = QPushButton("Add photos...")
        add_button.clicked.connect(self.open_photos_dialog)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current photo; the rest stay unprocessed")
        self.cancel_button.clicked.connect(self.cancel)
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.clicked.connect(self.clear_finished)
        queue_buttons = QHBoxLayout()
        for button in (add_button, self.cancel_button, self.clear_button):
            queue_buttons.addWidget(button)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("%v / %m photos")
        queue_box = QWidget()
        queue_layout = QVBoxLayout(queue_box)
        queue_layout.setContentsMargins(0, 0, 0, 0)
        queue_layout.addWidget(self.table, 1)
        queue_layout.addLayout(queue_buttons)
        queue_layout.addWidget(self.progress_bar)

        self.view = BeforeAfterView()
        self.view.set_labels(*VIEW_LABELS)
        self.view.setToolTip("Left of the line: the gray photo the model was given; right: colourised. Drag the "
                             "line; wheel to zoom, drag to pan, double-click to fit")
        self.save_button = QPushButton("Save...")
        self.save_button.clicked.connect(self._save_current)
        self.save_all_button = QPushButton("Save all to folder...")
        self.save_all_button.clicked.connect(self._save_all_dialog)
        view_buttons = QHBoxLayout()
        self.view_caption = QLabel("Drop photos or folders anywhere on the window, or use Add photos...")
        view_buttons.addWidget(self.view_caption, 1)
        view_buttons.addWidget(self.save_button)
        view_buttons.addWidget(self.save_all_button)
        view_box = QWidget()
        view_layout = QVBoxLayout(view_box)
        view_layout.setContentsMargins(0, 0, 0, 0)
        view_layout.addWidget(self.view, 1)
        view_layout.addLayout(view_buttons)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(queue_box)
        splitter.addWidget(view_box)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([440, 800])

        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addLayout(model_row)
        layout.addWidget(self.no_model_label)
        layout.addLayout(out_row)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.message_label)

    # --- public API ------------------------------------------------------------------------------
    def open_model(self, path: str) -> None:
        """Choose a model (model file, checkpoint or run folder) and remember it; queued photos start."""
        resolved = str(Path(path).expanduser().resolve())
        if not Path(resolved).exists():
            self._say(f"Model {path} does not exist.")
            return
        if Path(resolved).is_dir() and not any((Path(resolved) / name).is_file() for name in RUN_MODEL_FILES):
            self._say(f"{resolved} holds no model yet: choose a training run's folder once it has trained "
                      "(or a .safetensors / .pt file).")
            return
        recent = [resolved] + [p for p in self._recent_models() if p != resolved]
        self._settings.setValue(RECENT_MODELS_KEY, recent[:MAX_RECENT_MODELS])
        self._load_recent_models()
        self._say(f"Model: {model_label(resolved)} ({resolved})")
        self._start_next()

    def model_path(self) -> str | None:
        """The chosen model, or None."""
        return self.model_combo.currentData() if self.model_combo.count() else None

    def set_output_dir(self, path: str) -> None:
        """Where new results are written (remembered)."""
        self.output_edit.setText(path)
        self._settings.setValue(OUTPUT_DIR_KEY, path)

    def output_dir(self) -> Path:
        """The current output folder."""
        return Path(self.output_edit.text().strip()).expanduser()

    def add_paths(self, paths: list[str]) -> int:
        """Queue photos and the photos inside folders; refuse anything else with a message.

        Returns how many photos were queued.
        """
        from colorcore.imageio import IMAGE_EXTENSIONS, list_images

        photos: list[Path] = []
        refused: list[str] = []
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                found = list_images(path)
                if found:
                    photos.extend(Path(p) for p in found)
                else:
                    refused.append(f"{path}: folder has no photos")
            elif not path.exists():
                refused.append(f"{path}: no such file")
            elif path.suffix.lower() in IMAGE_EXTENSIONS:
                photos.append(path)
            else:
                refused.append(f"{path.name}: not a photo (expected one of {', '.join(sorted(IMAGE_EXTENSIONS))})")
        taken = {item.out_path for item in self._items}
        out_dir = self.output_dir()
        for photo in photos:
            out_path = output_name(photo, out_dir, taken)
            taken.add(out_path)
            self._items.append(QueueItem(photo, out_path))
            self._append_row(self._items[-1])
        parts = []
        if photos:
            parts.append(f"Queued {len(photos)} photo{'s' if len(photos) != 1 else ''}.")
        if refused:
            parts.append("Refused: " + "; ".join(refused))
        if photos and self.model_path() is None:
            parts.append("Choose a model to start.")
        if parts:
            self._say(" ".join(parts))
        self._start_next()
        return len(photos)

    def items(self) -> list[QueueItem]:
        """The queue (finished, failed and waiting photos)."""
        return list(self._items)

    def cancel(self) -> None:
        """Stop after the current photo; photos not started are marked cancelled."""
        if self._worker is not None:
            self._worker.stop()

    def clear_finished(self) -> None:
        """Remove done, failed and cancelled photos from the list (files stay on disk)."""
        if self.is_busy():
            self._say("Wait for the queue to finish (or cancel it) before clearing it.")
            return
        self._items = [item for item in self._items if item.status == QUEUED]
        self.table.setRowCount(0)
        for item in self._items:
            self._append_row(item)
        self._shown_index = None
        self.view.set_images(None, None)
        self._update_state()

    def save_all(self, folder: str) -> int:
        """Copy every finished result into `folder`; returns how many were saved."""
        target = Path(folder)
        saved = 0
        for item in self._items:
            if item.status == DONE:
                try:
                    copy_atomic(item.out_path, target / item.out_path.name)
                    saved += 1
                except OSError as exc:
                    self._say(f"Could not save {item.out_path.name} to {target}: {exc.strerror or exc}")
        self._say(f"Saved {saved} photo{'s' if saved != 1 else ''} to {target}.")
        return saved

    def open_output_folder(self) -> None:
        """Show the output folder in the system's file manager."""
        folder = self.output_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def is_busy(self) -> bool:
        """True while photos are being colourised."""
        return self._worker is not None and self._worker.is_running()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop the queue and wait for its thread."""
        if self._worker is not None:
            self._worker.stop_and_wait(timeout_ms)
        self._preview_loader.shutdown(wait=False, cancel_futures=True)

    # --- queue processing ------------------------------------------------------------------------
    def _start_next(self) -> None:
        if self.is_busy():
            return
        model_path = self.model_path()
        waiting = [i for i, item in enumerate(self._items) if item.status == QUEUED]
        if model_path is None or not waiting:
            self._update_state()
            return
        try:
            self.output_dir().mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._say(f"Cannot create the output folder {self.output_dir()}: {exc.strerror or exc}")
            return
        self._batch = waiting
        jobs = [(i, self._items[i].path, self._items[i].out_path) for i in waiting]
        worker = JobWorker(colourise_job(model_path, jobs, self.guided_check.isChecked()), JOB_NAME, self,
                           torch_threads=max(1, (os.cpu_count() or 2) - 1))
        worker.event.connect(self._on_event)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self.progress_bar.setRange(0, len(jobs))
        self.progress_bar.setValue(0)
        self.job_progress.emit(JOB_NAME, 0, len(jobs))
        worker.start()
        self._update_state()

    def _on_event(self, hook: str, event: object) -> None:
        if hook != "on_photo" or not isinstance(event, PhotoEvent):
            return
        item = self._items[event.index]
        item.status, item.message = event.status, event.message
        self._refresh_row(event.index)
        if event.status == FAILED:
            self._say(f"Could not colourise {item.path.name}: {event.message}")
        elif event.status == DONE and event.after is not None:
            current = self.table.currentRow()
            if current < 0 or current == event.index or self._shown_index is None:
                self._shown_index = event.index
                self.table.blockSignals(True)
                self.table.setCurrentCell(event.index, COL_PHOTO)
                self.table.blockSignals(False)
                self.view.set_images(event.before, event.after)
                self.view_caption.setText(f"{item.path.name} -> {item.out_path}")

    def _on_progress(self, event: ProgressEvent) -> None:
        self.progress_bar.setRange(0, event.total)
        self.progress_bar.setValue(event.done)
        self.job_progress.emit(JOB_NAME, event.done, event.total)

    def _on_finished(self, result: object, error: object) -> None:
        worker, self._worker = self._worker, None
        stopped = worker is not None and worker.stop_flag.stop_requested
        for index in self._batch:
            item = self._items[index] if index < len(self._items) else None
            if item is not None and item.status in (QUEUED, WORKING):
                item.status = CANCELLED if stopped or error is None else FAILED
                item.message = "" if item.status == CANCELLED else str(error)
                self._refresh_row(index)
        self._batch = []
        if worker is not None:
            worker.wait()  # its thread ends right after `finished`; never delete a running QThread
            worker.deleteLater()
        counts = {s: sum(item.status == s for item in self._items) for s in (DONE, FAILED, CANCELLED)}
        summary = f"Colourised {counts[DONE]} photo{'s' if counts[DONE] != 1 else ''}"
        if counts[FAILED]:
            summary += f", {counts[FAILED]} failed"
        if counts[CANCELLED]:
            summary += f", {counts[CANCELLED]} cancelled"
        self.status_message.emit(summary + f" (output: {self.output_dir()})")
        self.job_progress.emit("", 0, 0)
        if stopped:
            self._update_state()
        else:
            self._start_next()  # photos added while this batch ran

    # --- table and view --------------------------------------------------------------------------
    def _append_row(self, item: QueueItem) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        name = QTableWidgetItem(item.path.name)
        name.setToolTip(str(item.path))
        self.table.setItem(row, COL_PHOTO, name)
        self.table.setItem(row, COL_STATUS, QTableWidgetItem())
        bar = QProgressBar()
        bar.setTextVisible(False)
        self.table.setCellWidget(row, COL_PROGRESS, bar)
        self._refresh_row(row)

    def _refresh_row(self, row: int) -> None:
        item = self._items[row]
        status = self.table.item(row, COL_STATUS)
        status.setText(f"{item.status}: {item.message}" if item.status == FAILED else item.status)
        status.setToolTip(item.message or str(item.out_path))
        bar = self.table.cellWidget(row, COL_PROGRESS)
        if isinstance(bar, QProgressBar):
            if item.status == WORKING:
                bar.setRange(0, 0)  # busy: one photo is a single engine call
            else:  # full only for a photo that was colourised
                bar.setRange(0, 1)
                bar.setValue(1 if item.status == DONE else 0)
                bar.setToolTip(item.status)

    def _show_item(self, row: int) -> None:
        self._update_state()
        if not 0 <= row < len(self._items) or row == self._shown_index:
            return
        item = self._items[row]
        self._shown_index = row
        self._loading_row = None
        if item.status != DONE:
            self.view_caption.setText(f"{item.path.name}: {item.status}" + (f" ({item.message})" if item.message else ""))
            return
        # a finished photo's files are read in the loader thread: a 40 MP JPEG must not freeze the window
        self.view_caption.setText(f"{item.path.name}: loading...")
        try:
            future = self._preview_loader.submit(load_previews, item.path, item.out_path)
        except RuntimeError:  # the loader was shut down: the window is closing
            return
        self._loading_row = row
        future.add_done_callback(lambda done, row=row: self._deliver_previews(row, done))

    def _deliver_previews(self, row: int, future: Future) -> None:
        """Runs in the loader thread: hand the result to the GUI thread (a queued signal)."""
        if future.cancelled():
            return
        error = future.exception()
        try:
            self._previews_loaded.emit(row, error if error is not None else future.result())
        except RuntimeError:  # the tab was deleted while the photo loaded
            pass

    def _on_previews_loaded(self, row: int, loaded: object) -> None:
        from colorcore.imageio import ImageReadError

        if row == self._loading_row:
            self._loading_row = None
        if row != self._shown_index or not 0 <= row < len(self._items):
            return  # the user has moved on to another photo
        item = self._items[row]
        if isinstance(loaded, BaseException):
            where, why = (loaded.path, loaded.reason) if isinstance(loaded, ImageReadError) else (item.out_path, loaded)
            self.view_caption.setText(f"{item.path.name}: cannot show it")
            self._say(f"Cannot show {where}: {why}")
            return
        before, after = loaded
        self.view.set_images(before, after)
        self.view_caption.setText(f"{item.path.name} -> {item.out_path}")

    def previews_pending(self) -> bool:
        """True while the selected finished photo's preview is being read."""
        return self._loading_row is not None

    # --- dialogs ---------------------------------------------------------------------------------
    def _browse_model(self) -> None:
        start = dialog_start(self.model_path() or "", last_folder(self._settings, "model"))
        path, _ = QFileDialog.getOpenFileName(self, "Open model", start, MODEL_FILE_FILTER)
        if path:
            remember_folder(self._settings, "model", path)
            self.open_model(path)

    def _browse_run_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a training run's folder", last_folder(self._settings, "run"))
        if folder:
            remember_folder(self._settings, "run", str(Path(folder).parent))
            self.open_model(folder)

    def _browse_output_dir(self) -> None:
        folder = ask_folder(self, "Output folder", dialog_start(self.output_edit.text(), str(Path.home())), create=True)
        if folder:
            self.set_output_dir(folder)

    def open_photos_dialog(self) -> None:
        """Ask for photos to queue (what File > Open photos... does)."""
        from colorcore.imageio import IMAGE_EXTENSIONS

        pattern = " ".join(f"*{s}" for s in sorted(IMAGE_EXTENSIONS))
        paths, _ = QFileDialog.getOpenFileNames(self, "Open photos", last_folder(self._settings, "photos"),
                                                f"Photos ({pattern});;All files (*)")
        if paths:
            remember_folder(self._settings, "photos", paths[0])
            self.add_paths(paths)

    def _save_current(self) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self._items) or self._items[row].status != DONE:
            self._say("Select a colourised photo to save.")
            return
        item = self._items[row]
        path, _ = QFileDialog.getSaveFileName(self, "Save colourised photo", str(item.out_path.name),
                                              f"Image (*{item.out_path.suffix})")
        if path:
            try:
                copy_atomic(item.out_path, Path(path))
                self._say(f"Saved {path}.")
            except OSError as exc:
                self._say(f"Could not save {path}: {exc.strerror or exc}")

    def _save_all_dialog(self) -> None:
        folder = ask_folder(self, "Save all colourised photos to", dialog_start(self.output_edit.text(), str(Path.home())),
                            create=True)
        if folder:
            self.save_all(folder)

    # --- state -----------------------------------------------------------------------------------
    def _recent_models(self) -> list[str]:
        value = self._settings.value(RECENT_MODELS_KEY, [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-element list
            value = [value]
        return [str(v) for v in value or []]

    def _load_recent_models(self) -> None:
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        paths = self._recent_models()
        starter = bundled_starter()
        if starter is not None and starter not in paths:
            paths.append(starter)  # always offered; the only choice (so chosen) at first start
        for path in paths:
            self.model_combo.addItem(model_label(path), path)
            self.model_combo.setItemData(self.model_combo.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        self.model_combo.blockSignals(False)
        self._update_state()

    def _on_model_chosen(self, index: int) -> None:
        path = self.model_combo.itemData(index)
        if path:
            recent = [path] + [p for p in self._recent_models() if p != path]
            self._settings.setValue(RECENT_MODELS_KEY, recent[:MAX_RECENT_MODELS])
        self._start_next()

    def _update_state(self) -> None:
        busy = self.is_busy()
        has_done = any(item.status == DONE for item in self._items)
        self.no_model_label.setVisible(self.model_combo.count() == 0)
        self.model_combo.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.clear_button.setEnabled(not busy and bool(self._items))
        self.save_all_button.setEnabled(has_done)
        row = self.table.currentRow()
        self.save_button.setEnabled(0 <= row < len(self._items) and self._items[row].status == DONE)

    def _say(self, text: str) -> None:
        self.message_label.setText(text)
        self.status_message.emit(text)
