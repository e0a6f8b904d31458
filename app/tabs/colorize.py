"""Colourise tab: queue photos, videos and folders (drops, File > Open photos), colourise them at full
resolution with the chosen model, compare before/after, save the results. A video shows its frames,
speed and time left while it runs, and the current frame beside its gray input. A finished photo's
colours can be edited (hints, a reference photo, saturation) with the colour tools above the view; for
a finished video they edit its previewed frame, and Apply queues the whole clip again with them as a
new output (hints at the same place on every frame, saved beside it)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QMenu, QProgressBar, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QToolButton, QVBoxLayout, QWidget)

from app.colour_edit import EditState
from app.devices import AUTO_DEVICE, DeviceCombo, gui_torch_threads
from app.tabs import ask_folder, dialog_start, error_text, last_folder, remember_folder
from app.widgets.colour_tools import ColourToolBar
from app.widgets.hint_view import HintView
from app.workers import Job, JobWorker
from colorcore.core.atomic import atomic_copy
from colorcore.inference.batch import (BatchItem, BatchResult, colorize_many, find_inputs, latest_hints_file,
                             result_previews, unused_output_path)
from colorcore.core.events import ItemEvent, ProgressEvent, StopFlag, emit
from colorcore.inference.hints import HintsError, SavedEdits, hints_path_for, load_edits
from colorcore.inference.settings import PREVIEW_LONG_SIDE  # the before/after view's previews too
from colorcore.training.runs import RunFolder

JOB_NAME = "Colourise"
RECENT_MODELS_KEY = "colorize/recent_models"
OUTPUT_DIR_KEY = "colorize/output_dir"
GUIDED_KEY = "colorize/guided"
MAX_RECENT_MODELS = 8
VIEW_LABELS = ("Gray input", "Colourised")  # the before/after view: what the model saw, what it made
MODEL_FILE_FILTER = "Models and checkpoints (*.safetensors *.pt);;All files (*)"
NO_MODEL_HELP = (
    "<b>No model yet.</b> To get one: train a model in the <i>Training</i> tab, open a model file "
    "(<i>File &gt; Open model...</i> or the button above: a <tt>.safetensors</tt> model, a <tt>.pt</tt> "
    "checkpoint or a run folder), or run <tt>colorcore demo --out demo_out</tt> in a terminal and open "
    "<tt>demo_out</tt>'s model. Photos you add now wait in the queue until a model is chosen."
)

def bundled_starter() -> str | None:
    """The starter model shipped with the app, or None when this installation lacks it."""
    from colorcore.models.settings import starter_model_path

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
    if file == RunFolder(file.parent).exported_model:
        return f"{file.parent.name} (run)"
    if file == RunFolder(file.parent.parent).last_checkpoint:
        return f"{file.parent.parent.name} (run, last checkpoint)"
    return file.name


# queue statuses, and what each of the engine's item statuses shows
QUEUED, WORKING, DONE, FAILED, CANCELLED = "Queued", "Colourising...", "Done", "Error", "Cancelled"
ITEM_STATUS = {ItemEvent.STARTED: WORKING, ItemEvent.DONE: DONE, ItemEvent.FAILED: FAILED,
               ItemEvent.STOPPED: CANCELLED}
COL_PHOTO, COL_STATUS, COL_PROGRESS, COL_MODEL = range(4)
PROGRESS_STEPS = 1000  # the status bar's job progress per file: a video's frames move it within its file


def is_video_file(path: Path) -> bool:
    """True for a video container extension (the engine's list)."""
    from colorcore.inference.video import is_video

    return is_video(path)


def duration_text(seconds: float) -> str:
    """A time left as 0:07, 12:34 or 1:02:03."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class QueueItem:
    """One photo or video in the queue and what became of it (for a video, its frames so far)."""

    path: Path
    out_path: Path
    status: str = QUEUED
    message: str = ""
    frames_done: int = 0
    frames_total: int = 0
    model_path: str = ""  # the model that colourised it
    guided: bool = True
    edits: SavedEdits | None = None  # hints, reference, saturation it is colourised with (an earlier result's)
    controls: EditState | None = None  # a video's colour controls (from the colour tools' Apply)

    @property
    def is_video(self) -> bool:
        return is_video_file(self.path)


def batch_item(item: QueueItem) -> BatchItem:
    """The engine's item for a queued file: a video with the colour tools' controls (from Apply) or a
    photo with its earlier result's hints, reference photos and saturation is coloured with them, and
    they are saved beside its output. Call it in the engine's thread (it reads the reference photos;
    one that cannot be read any more is left out, its hints and saturation kept)."""
    from colorcore.inference.colour_control import ColourControls, edits_controls
    from colorcore.data.imageio import ImageReadError
    from colorcore.models.trunks import TrunkUnavailableError

    if item.controls is not None:
        return BatchItem(item.path, item.out_path, item.controls.controls(), save_hints=True)
    if item.edits is not None:
        try:
            controls = edits_controls(item.edits)
        except (ImageReadError, TrunkUnavailableError):
            controls = ColourControls(item.edits.hints, None, item.edits.saturation)
        return BatchItem(item.path, item.out_path, controls, save_hints=True)
    return BatchItem(item.path, item.out_path)


def colourise_job(model_path: str, queued: list[QueueItem], guided: bool, device: str = AUTO_DEVICE) -> Job:
    """An engine job colourising the `queued` files (copies of the queue's items) with
    `colorcore.inference.batch.colorize_many` on `device` (an engine device name; "auto": the best found), with
    previews for the view; a device or model that cannot be used fails every file with that message."""

    def job(callbacks: list, stop: StopFlag) -> BatchResult | None:
        from colorcore.core.device import DeviceError
        from colorcore.models.checkpoint import ModelFileError, load_model

        try:
            model = load_model(model_path, device)
        except DeviceError as exc:
            failure = f"cannot use the device {device}: {error_text(exc)}"  # its advice in GUI words
        except ModelFileError as exc:  # said per file, never a traceback
            failure = f"cannot load the model {exc.path}: {exc.problem}"
        else:
            return colorize_many([batch_item(item) for item in queued], model, callbacks, stop, guided=guided,
                                 preview_long_side=PREVIEW_LONG_SIDE)
        for index, item in enumerate(queued):
            emit(callbacks, "on_item", ItemEvent(index, ItemEvent.FAILED, item.path, item.out_path, failure))
        return None

    return job


class ColorizeTab(QWidget):
    """Full-resolution colourisation of a queue of photos and videos with a before/after view."""

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
        self._working_index: int | None = None
        self._files_done = 0  # files of the running batch finished (the status bar's progress)
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
        self.output_edit.setToolTip("Colourised photos and videos are written here (never over an existing file)")
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
        self.device_combo = DeviceCombo()
        self.device_combo.setToolTip("Device the queue is colourised on (the fastest found is chosen; the "
                                     "colour tools' preview runs on the CPU)")
        out_row.addWidget(self.device_combo)

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Photo or video", "Status", "Progress", "Model"])
        self.table.horizontalHeader().setSectionResizeMode(COL_PHOTO, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(COL_MODEL, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(COL_MODEL, 130)
        self.table.horizontalHeader().setSectionResizeMode(COL_STATUS, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(COL_STATUS, 230)
        self.table.setColumnWidth(COL_PROGRESS, 90)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.currentCellChanged.connect(lambda row, *_: self._show_item(row))
        self._loading_row: int | None = None
        self._preview_loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colourise-preview")
        self._previews_loaded.connect(self._on_previews_loaded)
        add_button = QPushButton("Add photos or videos...")
        add_button.clicked.connect(self.open_photos_dialog)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current photo, or a video at its current frame (no partial "
                                      "file is left); the rest stay unprocessed")
        self.cancel_button.clicked.connect(self.cancel)
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.clicked.connect(self.clear_finished)
        queue_buttons = QHBoxLayout()
        for button in (add_button, self.cancel_button, self.clear_button):
            queue_buttons.addWidget(button)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("%v / %m files")
        queue_box = QWidget()
        queue_layout = QVBoxLayout(queue_box)
        queue_layout.setContentsMargins(0, 0, 0, 0)
        queue_layout.addWidget(self.table, 1)
        queue_layout.addLayout(queue_buttons)
        queue_layout.addWidget(self.progress_bar)

        self.view = HintView()
        self.view.set_labels(*VIEW_LABELS)
        self.view.setToolTip("Left of the line: the gray photo (or video frame) the model was given; right: "
                             "colourised. Drag the line; wheel to zoom, drag to pan, double-click to fit")
        self.colour_tools = ColourToolBar(self.view, self._settings, self)
        self.colour_tools.message.connect(self._say)
        self.colour_tools.apply_video.connect(self._apply_to_video)
        self.addActions([self.colour_tools.undo_action, self.colour_tools.redo_action])  # Ctrl+Z anywhere in the tab
        self.save_button = QPushButton("Save...")
        self.save_button.clicked.connect(self._save_current)
        self.save_all_button = QPushButton("Save all to folder...")
        self.save_all_button.clicked.connect(self._save_all_dialog)
        view_buttons = QHBoxLayout()
        self.view_caption = QLabel("Drop photos, videos or folders anywhere on the window, or use Add photos or "
                                   "videos...")
        view_buttons.addWidget(self.view_caption, 1)
        apply_button = QToolButton()
        apply_button.setDefaultAction(self.colour_tools.apply_action)
        view_buttons.addWidget(apply_button)
        view_buttons.addWidget(self.save_button)
        view_buttons.addWidget(self.save_all_button)
        view_box = QWidget()
        view_layout = QVBoxLayout(view_box)
        view_layout.setContentsMargins(0, 0, 0, 0)
        view_layout.addWidget(self.colour_tools)
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
        if Path(resolved).is_dir() and RunFolder(resolved).model_file() is None:
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
        """Queue photos and videos, and those inside folders; refuse anything else with a message.

        Returns how many files were queued.
        """
        found, refused = find_inputs([Path(raw) for raw in paths])
        photos = [file for file, _ in found]
        taken = {item.out_path for item in self._items}
        out_dir = self.output_dir()
        parts = []
        for photo in photos:
            hints_file = None if is_video_file(photo) else latest_hints_file(photo, out_dir)
            out_path = unused_output_path(photo, out_dir, taken)
            taken.add(out_path)
            self._items.append(QueueItem(photo, out_path))
            if hints_file is not None:
                try:
                    edits = load_edits(hints_file)
                except HintsError as exc:
                    parts.append(f"Cannot use the colour hints in {exc.source}: {exc.reason}. {photo.name} is "
                                 "colourised without them.")
                else:
                    missing = [p for p in edits.reference_paths if not Path(p).is_file()]
                    if missing:
                        parts.append(f"The reference photo {missing[0]} saved with the hints of {photo.name} is "
                                     "missing: it is colourised with its hints and saturation only.")
                        edits = SavedEdits(edits.hints, (), saturation=edits.saturation)
                    self._items[-1].edits = edits
            self._append_row(self._items[-1])
        if photos:
            videos = sum(is_video_file(p) for p in photos)
            counted = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in
                       ((len(photos) - videos, "photo"), (videos, "video")) if n]
            parts.insert(0, f"Queued {' and '.join(counted)}.")
            refined = sum(item.edits is not None for item in self._items[-len(photos):])
            if refined:
                parts.append(f"{refined} with the colour hints of {'its' if refined == 1 else 'their'} earlier "
                             "result (edit them with the colour tools).")
        if refused:
            parts.append("Refused: " + "; ".join(refused))
        if photos and self.model_path() is None:
            parts.append("Choose a model to start.")
        if parts:
            self._say(" ".join(parts))
        self._start_next()
        return len(photos)

    def items(self) -> list[QueueItem]:
        """The queue (finished, failed and waiting photos and videos)."""
        return list(self._items)

    def cancel(self) -> None:
        """Stop after the current photo, or a video at its current frame (its file is not written);
        files not started are marked cancelled."""
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
        self.colour_tools.forget()
        self.view.set_images(None, None)
        self._update_state()

    def save_all(self, folder: str) -> int:
        """Copy every finished result into `folder`; returns how many were saved."""
        target = Path(folder)
        saved = 0
        for item in self._items:
            if item.status == DONE:
                try:
                    atomic_copy(item.out_path, target / item.out_path.name)
                    saved += 1
                except OSError as exc:
                    self._say(f"Could not save {item.out_path.name} to {target}: {exc.strerror or exc}")
        self._say(f"Saved {saved} file{'s' if saved != 1 else ''} to {target}.")
        return saved

    def open_output_folder(self) -> None:
        """Show the output folder in the system's file manager."""
        folder = self.output_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def engine_ready(self) -> None:
        """List the devices once the engine has loaded (the best is chosen)."""
        self.device_combo.fill()

    def is_busy(self) -> bool:
        """True while photos are being colourised."""
        return self._worker is not None and self._worker.is_running()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop the queue and wait for its thread."""
        if self._worker is not None:
            self._worker.stop_and_wait(timeout_ms)
        self.colour_tools.shutdown(timeout_ms)
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
        guided = self.guided_check.isChecked()
        for i in waiting:
            self._items[i].model_path, self._items[i].guided = model_path, guided
        queued = [replace(self._items[i]) for i in waiting]
        worker = JobWorker(colourise_job(model_path, queued, guided, self.device_combo.device()), JOB_NAME, self,
                           torch_threads=gui_torch_threads())
        worker.item.connect(self._on_item)
        worker.frame.connect(self._on_frame)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self.progress_bar.setRange(0, len(queued))
        self.progress_bar.setValue(0)
        self._files_done = 0
        self.job_progress.emit(JOB_NAME, 0, len(queued) * PROGRESS_STEPS)
        worker.start()
        self._update_state()

    def _on_item(self, event: ItemEvent) -> None:
        """A file of the running batch started, was done (with its previews), failed or was stopped."""
        index = self._batch[event.index]
        item = self._items[index]
        item.status, item.message = ITEM_STATUS[event.status], event.message
        self._working_index = index if item.status == WORKING else None
        self._refresh_row(index)
        if item.status == FAILED:
            self._say(f"Could not colourise {item.path.name}: {event.message}")
        elif item.status == DONE and event.after is not None and self._may_show(index):
            self._show_images(index, event.before, event.after, f"{item.path.name} -> {item.out_path}")
            self._edit_item(index)

    def _on_frame(self, event: object) -> None:
        """A video's current frame (a downscaled FrameEvent): its row's progress, and the view."""
        index = self._working_index
        if index is None:
            return
        item = self._items[index]
        item.frames_done, item.frames_total = event.index + 1, event.total
        left = f", {duration_text(event.eta_s)} left" if event.eta_s is not None and item.frames_done < event.total else ""
        item.message = f"frame {item.frames_done} of {event.total}, {event.fps:.1f} fps{left}"
        self._refresh_row(index)
        within = round(PROGRESS_STEPS * item.frames_done / event.total) if event.total else 0
        self.job_progress.emit(JOB_NAME, self._files_done * PROGRESS_STEPS + min(within, PROGRESS_STEPS),
                               len(self._batch) * PROGRESS_STEPS)
        if self._may_show(index):
            cut = " (new shot)" if event.cut else ""
            self._show_images(index, event.gray, event.colour, f"{item.path.name}: {item.message}{cut}")

    def _may_show(self, index: int) -> bool:
        """Whether news of `index` may take over the view: it is selected, or nothing else is."""
        current = self.table.currentRow()
        return current < 0 or current == index or self._shown_index is None

    def _show_images(self, index: int, before: np.ndarray, after: np.ndarray, caption: str) -> None:
        self._shown_index = index
        self.table.blockSignals(True)
        self.table.setCurrentCell(index, COL_PHOTO)
        self.table.blockSignals(False)
        self.view.set_images(before, after)
        self.view_caption.setText(caption)

    def _on_progress(self, event: ProgressEvent) -> None:
        self.progress_bar.setRange(0, event.total)
        self.progress_bar.setValue(event.done)
        self._files_done = event.done
        self.job_progress.emit(JOB_NAME, event.done * PROGRESS_STEPS, event.total * PROGRESS_STEPS)

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
        self._working_index = None
        counts = {s: sum(item.status == s for item in self._items) for s in (DONE, FAILED, CANCELLED)}
        summary = f"Colourised {counts[DONE]} file{'s' if counts[DONE] != 1 else ''}"
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
        name.setToolTip(f"{item.path}\n-> {item.out_path}")
        self.table.setItem(row, COL_PHOTO, name)
        self.table.setItem(row, COL_MODEL, QTableWidgetItem())
        self.table.setItem(row, COL_STATUS, QTableWidgetItem())
        bar = QProgressBar()
        bar.setTextVisible(False)
        self.table.setCellWidget(row, COL_PROGRESS, bar)
        self._refresh_row(row)

    def _refresh_row(self, row: int) -> None:
        item = self._items[row]
        model = self.table.item(row, COL_MODEL)
        model.setText(model_label(item.model_path) if item.model_path else "")
        model.setToolTip(f"{item.model_path}\n-> {item.out_path}" if item.model_path else str(item.out_path))
        status = self.table.item(row, COL_STATUS)
        shows_message = item.status == FAILED or (item.status == WORKING and item.frames_total > 0)
        noted = item.status in (FAILED, DONE) and item.message  # why it failed; a done file's note (first frame)
        status.setText(f"{item.status}: {item.message}" if noted else item.message if shows_message else item.status)
        status.setToolTip(item.message or str(item.out_path))
        bar = self.table.cellWidget(row, COL_PROGRESS)
        if isinstance(bar, QProgressBar):
            if item.status == WORKING and item.frames_total > 0:  # a video: its frames
                bar.setRange(0, item.frames_total)
                bar.setValue(item.frames_done)
                bar.setToolTip(item.message)
            elif item.status == WORKING:
                bar.setRange(0, 0)  # busy: one photo is a single engine call (a video until its first frame)
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
        self.colour_tools.close_photo()
        if item.status != DONE:
            self.view_caption.setText(f"{item.path.name}: {item.status}" + (f" ({item.message})" if item.message else ""))
            return
        # a finished photo's files are read in the loader thread: a 40 MP JPEG must not freeze the window
        self.view_caption.setText(f"{item.path.name}: loading...")
        try:
            future = self._preview_loader.submit(result_previews, item.path, item.out_path, PREVIEW_LONG_SIDE)
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
        from colorcore.data.imageio import ImageReadError

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
        self._edit_item(row)

    def _edit_item(self, index: int) -> None:
        """Let the colour tools edit the shown item if it is a colourised photo or video."""
        item = self._items[index]
        if item.status == DONE and item.model_path:
            self.colour_tools.open_photo(item.out_path, item.path, item.model_path, item.guided, item.edits,
                                         video=item.is_video, state=item.controls)
        else:
            self.colour_tools.close_photo()

    def _apply_to_video(self, key: Path, state: EditState) -> None:
        """Queue the video whose output is `key` again, coloured with `state`, as a new file beside
        that output (never over an existing file)."""
        source = next((item for item in self._items if item.out_path == key), None)
        if source is None:
            return
        out_path = unused_output_path(source.path, key.parent, {item.out_path for item in self._items})
        self._items.append(QueueItem(source.path, out_path, controls=state))
        self._append_row(self._items[-1])
        self._say(f"Colouring {source.path.name} again with the new colours into {out_path.name}.")
        self._start_next()

    def unapplied_edits(self) -> list[str]:
        """Names of the results whose colour edits (hints, reference, saturation) are not applied yet."""
        return [item.out_path.name for item in self._items if self.colour_tools.has_unapplied(item.out_path)]

    def unfinished_work(self) -> str:
        """What stopping the running job now leaves undone, in a sentence ("" when none runs)."""
        if not self.is_busy():
            return ""
        working = self._items[self._working_index] if self._working_index is not None else None
        waiting = sum(self._items[i].status == QUEUED for i in self._batch if i < len(self._items))
        parts = []
        if working is not None and working.is_video:
            parts.append(f"The video {working.path.name} stops at frame {working.frames_done} of "
                         f"{working.frames_total or '?'}: no partial file is kept, so it must be coloured again.")
        elif working is not None:
            parts.append(f"The photo {working.path.name} being colourised is not written.")
        if waiting:
            parts.append(f"{waiting} more file{'s' if waiting != 1 else ''} in the queue stay{'' if waiting != 1 else 's'} "
                         "uncoloured.")
        return " ".join(parts)

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
        """Ask for photos and videos to queue (what File > Open photos... does)."""
        from colorcore.data.imageio import IMAGE_EXTENSIONS
        from colorcore.inference.video import VIDEO_SUFFIXES

        photos = " ".join(f"*{s}" for s in sorted(IMAGE_EXTENSIONS))
        videos = " ".join(f"*{s}" for s in VIDEO_SUFFIXES)
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open photos or videos", last_folder(self._settings, "photos"),
            f"Photos and videos ({photos} {videos});;Photos ({photos});;Videos ({videos});;All files (*)")
        if paths:
            remember_folder(self._settings, "photos", paths[0])
            self.add_paths(paths)

    def _save_current(self) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self._items) or self._items[row].status != DONE:
            self._say("Select a colourised photo or video to save.")
            return
        item = self._items[row]
        kind = "video" if item.is_video else "photo"
        path, _ = QFileDialog.getSaveFileName(self, f"Save colourised {kind}", str(item.out_path.name),
                                              f"{kind.capitalize()} (*{item.out_path.suffix})")
        if not path:
            return
        if (not item.is_video and self.colour_tools.open_key() == item.out_path
                and self.colour_tools.has_unapplied(item.out_path)):
            self.colour_tools.apply(copy_to=Path(path))  # the edited colours, written at full size first
            return
        try:
            atomic_copy(item.out_path, Path(path))
            hints = hints_path_for(item.out_path)
            if hints.is_file():
                atomic_copy(hints, hints_path_for(Path(path)))
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
