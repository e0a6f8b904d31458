"""Results tab: browse a prepared dataset's test photos as gray | fake | real with the predicted and
true saliency/edge maps, per-image PSNR/SSIM, sorting, synchronised zoom, PNG export, and several
runs side by side on the same photo."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSettings, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
                               QSpinBox, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.devices import DeviceCombo, gui_torch_threads
from app.tabs import last_folder, remember_folder
from app.widgets.image_view import ImageView, numpy_to_qimage
from app.widgets.sync_views import SyncGroup
from app.workers import JobWorker
from colorcore.core.events import ProgressEvent, StopFlag
from colorcore.data.prepared import is_prepared_dataset, load_prepared
from colorcore.training.runs import dataset_of_run

if TYPE_CHECKING:
    from colorcore.evaluation.evaluate import EvaluationResult

JOB_NAME = "Results: predicting"
OPEN_RUNS_KEY = "results/runs"  # restored at the next start
OPEN_DATASET_KEY = "results/dataset"
PREDICT_BATCH = 64
MAP_KEYS = ("saliency", "edge")  # auxiliary outputs shown below the photos when a model predicts them
SORT_MODES = {"dataset": "Dataset order", "best": "Best PSNR first", "worst": "Worst PSNR first"}
EXPORT_SCALE = 4  # dataset photos are small: exported tiles are upscaled (nearest) this many times
EXPORT_PAD = 4
CAPTION_HEIGHT = 22
DEFAULT_GRID_PHOTOS = 8
COL_INDEX, COL_NAME = 0, 1
FIRST_METRIC_COL = 2


@dataclass
class RunEntry:
    """An opened run folder or model file and, once computed, its scored predictions."""

    path: str
    label: str
    predictions: EvaluationResult | None = None
    error: str = ""
    shown: bool = True


@dataclass
class Cell:
    """One captioned image of the current view."""

    caption: str
    image: np.ndarray | None
    row: int
    col: int
    tooltip: str = ""


def predict_split_job(model_path: str, dataset_path: str, split: str, device: str = "auto"):
    """An engine job scoring every photo of a prepared dataset split with a model on `device` and keeping
    its predictions (`colorcore.evaluation.evaluate.evaluate_model_file`); None when stopped."""

    def job(callbacks: list, stop: StopFlag) -> EvaluationResult | None:
        from colorcore.evaluation.evaluate import evaluate_model_file

        result = evaluate_model_file(model_path, dataset_path, split, device=device, batch_size=PREDICT_BATCH,
                                     grid_count=0, callbacks=callbacks, stop=stop, keep_predictions=True)
        return None if result.stopped else result

    return job


def same_folder(a: str | os.PathLike[str] | None, b: str | os.PathLike[str] | None) -> bool:
    """True when two paths name the same folder."""
    return a is not None and b is not None and Path(a).resolve() == Path(b).resolve()


def save_qimage_atomic(image: QImage, path: Path) -> None:
    """Write a QImage as PNG so that `path` is either absent/old or complete."""
    from colorcore.core.atomic import atomic_write_bytes

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"could not encode {path.name} as PNG")
    buffer.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, bytes(data.data()))


def _as_rgb(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)


def render_cells(cells: list[Cell], scale: int = EXPORT_SCALE) -> QImage:
    """A captioned grid of images (nearest-neighbour upscaled) as one QImage."""
    tile = max((max(c.image.shape[:2]) for c in cells if c.image is not None), default=1) * scale
    rows = max((c.row for c in cells), default=0) + 1
    cols = max((c.col for c in cells), default=0) + 1
    width = cols * (tile + EXPORT_PAD) + EXPORT_PAD
    height = rows * (tile + CAPTION_HEIGHT + EXPORT_PAD) + EXPORT_PAD
    canvas = QImage(width, height, QImage.Format.Format_RGB888)
    canvas.fill(QColor(255, 255, 255))
    painter = QPainter(canvas)
    font = QFont()
    font.setPixelSize(CAPTION_HEIGHT - 8)
    painter.setFont(font)
    painter.setPen(QColor(20, 20, 20))
    for cell in cells:
        x = EXPORT_PAD + cell.col * (tile + EXPORT_PAD)
        y = EXPORT_PAD + cell.row * (tile + CAPTION_HEIGHT + EXPORT_PAD)
        painter.drawText(QRectF(x, y, tile, CAPTION_HEIGHT), Qt.AlignmentFlag.AlignCenter, cell.caption)
        if cell.image is not None:
            qimage = numpy_to_qimage(_as_rgb(cell.image))
            painter.drawImage(QRectF(x, y + CAPTION_HEIGHT, tile, tile), qimage)
    painter.end()
    return canvas


class _CaptionedView(QWidget):
    """An ImageView with a caption above it."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel(caption)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.view = ImageView()
        self.view.setMinimumSize(96, 96)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)


class ResultsTab(QWidget):
    """Browse predictions of one or more runs on a prepared dataset's photos."""

    status_message = Signal(str)
    job_progress = Signal(str, int, int)
    colourise_requested = Signal(str)  # a run folder or model file to colourise with

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._restored = False
        self._runs: list[RunEntry] = []
        self._dataset = None
        self._dataset_path: str | None = None
        self._split = "test"
        self._order: list[int] = []
        self._position = -1
        self._worker: JobWorker | None = None
        self._worker_run: RunEntry | None = None
        self._worker_source: tuple[str, str] | None = None  # (dataset, split) the running job predicts
        self._closing = False
        self._cells: dict[tuple[int, int], _CaptionedView] = {}
        self._sync = SyncGroup(self)
        self._build()
        self._update_state()

    # --- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.run_list = QListWidget()
        self.run_list.setMaximumHeight(84)
        self.run_list.setToolTip("Runs and model files; tick several to compare them on the same photo")
        self.run_list.itemChanged.connect(self._on_run_toggled)
        add_model = QPushButton("Add model...")
        add_model.setToolTip("A .safetensors model file or a .pt checkpoint")
        add_model.clicked.connect(self._browse_run)
        add_run_folder = QPushButton("Add run folder...")
        add_run_folder.setToolTip("A training run folder (its last checkpoint or exported model)")
        add_run_folder.clicked.connect(self._browse_run_folder)
        add_starter = QPushButton("Add starter model")
        add_starter.setToolTip("The bundled starter model, as a reference to compare your runs with")
        add_starter.clicked.connect(self.add_starter)
        remove_run = QPushButton("Remove")
        remove_run.clicked.connect(self._remove_selected_run)
        self.colourise_button = QPushButton("Colourise with this model")
        self.colourise_button.setToolTip("Open the Colourise tab with the selected run's model chosen")
        self.colourise_button.clicked.connect(self.request_colourise)
        self.run_list.currentRowChanged.connect(lambda _row: self._update_state())
        run_buttons = QVBoxLayout()
        run_buttons.setSpacing(2)
        first_row = QHBoxLayout()
        first_row.setSpacing(2)
        first_row.addWidget(add_model)
        first_row.addWidget(add_starter)
        run_buttons.addLayout(first_row)
        run_buttons.addWidget(add_run_folder)
        last_row = QHBoxLayout()
        last_row.setSpacing(2)
        last_row.addWidget(remove_run)
        last_row.addWidget(self.colourise_button)
        run_buttons.addLayout(last_row)
        self.dataset_edit = QLineEdit()
        self.dataset_edit.setReadOnly(True)
        self.dataset_edit.setPlaceholderText("a prepared dataset folder (Dataset tab)")
        open_dataset = QPushButton("Open dataset...")
        open_dataset.clicked.connect(self._browse_dataset)
        self.split_combo = QComboBox()
        self.split_combo.addItems(["test", "train"])
        self.split_combo.currentTextChanged.connect(self._on_split_changed)
        top = QGridLayout()
        top.addWidget(QLabel("Runs:"), 0, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.run_list, 0, 1)
        top.addLayout(run_buttons, 0, 2)
        top.addWidget(QLabel("Dataset:"), 1, 0)
        dataset_row = QHBoxLayout()
        dataset_row.addWidget(self.dataset_edit, 1)
        dataset_row.addWidget(QLabel("Split:"))
        dataset_row.addWidget(self.split_combo)
        self.device_combo = DeviceCombo()
        dataset_row.addWidget(QLabel("Device:"))
        dataset_row.addWidget(self.device_combo)
        top.addLayout(dataset_row, 1, 1)
        top.addWidget(open_dataset, 1, 2)
        top.setColumnStretch(1, 1)

        self.sort_combo = QComboBox()
        for key, title in SORT_MODES.items():
            self.sort_combo.addItem(title, key)
        self.sort_combo.currentIndexChanged.connect(lambda _i: self.set_sort(self.sort_combo.currentData()))
        self.table = QTableWidget(0, FIRST_METRIC_COL)
        self.table.setHorizontalHeaderLabels(["#", "Photo"])
        self.table.horizontalHeader().setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.currentCellChanged.connect(lambda row, *_: self._on_row_changed(row))
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        sort_row = QHBoxLayout()
        sort_row.addWidget(QLabel("Sort:"))
        sort_row.addWidget(self.sort_combo, 1)
        self.export_view_button = QPushButton("Export view...")
        self.export_view_button.clicked.connect(self._export_view_dialog)
        self.grid_count = QSpinBox()
        self.grid_count.setRange(1, 256)
        self.grid_count.setValue(DEFAULT_GRID_PHOTOS)
        self.grid_count.setSuffix(" photos")
        self.export_grid_button = QPushButton("Export grid...")
        self.export_grid_button.clicked.connect(self._export_grid_dialog)
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_view_button)
        export_row.addWidget(self.grid_count)
        export_row.addWidget(self.export_grid_button)
        self.progress_bar = QProgressBar()
        self.progress_bar.setVisible(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(sort_row)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.summary_label)
        left_layout.addLayout(export_row)
        left_layout.addWidget(self.progress_bar)

        self.views_widget = QWidget()
        self.views_layout = QGridLayout(self.views_widget)
        self.views_layout.setContentsMargins(0, 0, 0, 0)
        self.photo_label = QLabel()
        self.photo_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint_label = QLabel()
        self.hint_label.setWordWrap(True)
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.photo_label)
        right_layout.addWidget(self.hint_label)
        right_layout.addWidget(self.views_widget, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([360, 900])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

        for key, handler in ((Qt.Key.Key_Left, self.previous_photo), (Qt.Key.Key_Right, self.next_photo),
                             (Qt.Key.Key_Home, self.first_photo), (Qt.Key.Key_End, self.last_photo)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(handler)

    # --- public API ------------------------------------------------------------------------------
    def open_run(self, path: str) -> None:
        """Add a run folder, checkpoint or model file (compared with the runs already open)."""
        resolved = str(Path(path).expanduser().resolve())
        if not Path(resolved).exists():
            self._say(f"Run or model {path} does not exist.")
            return
        if any(run.path == resolved for run in self._runs):
            self._say(f"{resolved} is already open.")
            return
        label = Path(resolved).name if Path(resolved).is_dir() else Path(resolved).stem
        if any(run.label == label for run in self._runs):
            label = f"{Path(resolved).parent.name}/{label}"
        self._runs.append(RunEntry(resolved, label))
        item = QListWidgetItem(label)
        item.setToolTip(resolved)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        self.run_list.blockSignals(True)
        self.run_list.addItem(item)
        self.run_list.blockSignals(False)
        if Path(resolved).is_dir():  # the folders the other tabs and File > Open start in
            remember_folder(self._settings, "run", str(Path(resolved).parent))
        else:
            remember_folder(self._settings, "model", resolved)
        self.run_list.setCurrentRow(self.run_list.count() - 1)
        self._save_open()
        own = dataset_of_run(resolved)
        if own is not None and is_prepared_dataset(own) and not same_folder(own, self._dataset_path):
            self.open_dataset(str(own.resolve()))  # a run is scored on the photos it was trained on by default
            return
        self._rebuild_views()
        self._start_next()

    def add_starter(self) -> None:
        """Add the bundled starter model (a reference row: the colour a user gets with no training)."""
        from colorcore.models.settings import starter_model_path

        try:
            path = starter_model_path()
        except FileNotFoundError as exc:
            self._say(f"No starter model: {exc}.")
            return
        self.open_run(str(path))

    def open_dataset(self, path: str) -> None:
        """Show a prepared dataset's photos (predictions of the open runs are recomputed)."""
        try:
            dataset = load_prepared(path)
            if self._split not in dataset.manifest.splits:
                self._split = next(iter(dataset.manifest.splits))
            dataset.split(self._split)
        except Exception as exc:  # any unreadable folder: a message, never a traceback
            self._say(f"Cannot open the prepared dataset {path}: {exc}")
            return
        self._dataset, self._dataset_path = dataset, str(Path(path).resolve())
        for run in self._runs:
            run.predictions, run.error = None, ""
        self._stop_worker()  # its result is for the previous dataset and is dropped
        self.dataset_edit.setText(str(path))
        self.split_combo.blockSignals(True)
        self.split_combo.setCurrentText(self._split)
        self.split_combo.blockSignals(False)
        self._reset_order()
        self._rebuild_views()
        self._fill_table()
        self._say(f"Dataset {path}: {self.photo_count()} {self._split} photos.")
        self._save_open()
        self._start_next()

    def scored_elsewhere(self) -> list[tuple[RunEntry, str]]:
        """(run, the dataset it was trained on) for each open run scored on another dataset."""
        out = []
        for run in self._runs:
            own = dataset_of_run(run.path)
            if own is not None and self._dataset_path is not None and not same_folder(own, self._dataset_path):
                out.append((run, str(own.resolve())))
        return out

    def request_colourise(self) -> None:
        """Ask the window to colourise with the selected run (or the only one)."""
        row = self.run_list.currentRow()
        if not 0 <= row < len(self._runs):
            row = 0 if len(self._runs) == 1 else -1
        if row >= 0:
            self.colourise_requested.emit(self._runs[row].path)

    def engine_ready(self) -> None:
        """List the devices (the best chosen), then reopen the runs and dataset of the last session (once)."""
        if self._restored:
            return
        self._restored = True
        self.device_combo.fill()
        dataset = self._settings.value(OPEN_DATASET_KEY, "", type=str)
        runs = self._settings.value(OPEN_RUNS_KEY, [])
        runs = [runs] if isinstance(runs, str) else list(runs or [])
        for path in runs:
            if Path(path).exists() and not any(run.path == path for run in self._runs):
                self.open_run(path)
        if dataset and is_prepared_dataset(dataset) and not same_folder(dataset, self._dataset_path):
            self.open_dataset(dataset)  # the dataset last shown, even when the user had chosen another one

    def _save_open(self) -> None:
        self._settings.setValue(OPEN_RUNS_KEY, [run.path for run in self._runs])
        self._settings.setValue(OPEN_DATASET_KEY, self._dataset_path or "")

    def photo_count(self) -> int:
        """How many photos the current split has (0 without a dataset)."""
        return len(self._order)

    def photo_order(self) -> list[int]:
        """Dataset indices in the displayed order."""
        return list(self._order)

    def current_photo(self) -> int:
        """Dataset index of the photo shown (-1 when none)."""
        return self._order[self._position] if 0 <= self._position < len(self._order) else -1

    def runs(self) -> list[RunEntry]:
        """The open runs, with their predictions once computed."""
        return list(self._runs)

    def set_sort(self, mode: str) -> None:
        """Order the photos: "dataset", "best" (highest PSNR of the first shown run first) or "worst"."""
        if mode not in SORT_MODES:
            raise ValueError(f"sort mode must be one of {', '.join(SORT_MODES)}, got {mode!r}")
        index = self.sort_combo.findData(mode)
        if self.sort_combo.currentIndex() != index:
            self.sort_combo.setCurrentIndex(index)  # re-enters through currentIndexChanged
            return
        current = self.current_photo()
        self._reset_order()
        self._fill_table(select=self._order.index(current) if current in self._order else 0)

    def show_position(self, position: int) -> None:
        """Show the photo at `position` in the displayed order (clamped)."""
        if not self._order:
            return
        position = min(max(position, 0), len(self._order) - 1)
        self.table.setCurrentCell(position, COL_NAME)

    def next_photo(self) -> None:
        """Show the next photo."""
        self.show_position(self._position + 1)

    def previous_photo(self) -> None:
        """Show the previous photo."""
        self.show_position(self._position - 1)

    def first_photo(self) -> None:
        """Show the first photo."""
        self.show_position(0)

    def last_photo(self) -> None:
        """Show the last photo."""
        self.show_position(len(self._order) - 1)

    def export_view(self, path: str) -> None:
        """Write the current photo's images (all runs, maps) with captions as a PNG."""
        cells = self._current_cells()
        if not cells:
            raise ValueError("no photo to export: open a dataset first")
        save_qimage_atomic(render_cells(cells), Path(path))
        self._say(f"Saved view to {path}.")

    def export_grid(self, path: str, count: int) -> None:
        """Write the first `count` photos in the displayed order as rows of gray | fakes | real."""
        if not self._order:
            raise ValueError("no photos to export: open a dataset first")
        runs = self._shown_runs()
        cells: list[Cell] = []
        for row, index in enumerate(self._order[:count]):
            images = self._photo_images(index)
            cells.append(Cell("gray" if row == 0 else "", images["gray"], row, 0))
            for col, run in enumerate(runs, start=1):
                fake = run.predictions.fake[index] if run.predictions is not None else None
                cells.append(Cell(run.label if row == 0 else "", fake, row, col))
            cells.append(Cell("real" if row == 0 else "", images["real"], row, len(runs) + 1))
        save_qimage_atomic(render_cells(cells, scale=max(1, EXPORT_SCALE // 2)), Path(path))
        self._say(f"Saved a grid of {min(count, len(self._order))} photos to {path}.")

    def is_busy(self) -> bool:
        """True while predictions are being computed."""
        running = self._worker is not None and self._worker.is_running()
        return running or (not self._closing and bool(self._pending_runs()))

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop computing predictions and wait for the thread."""
        self._closing = True
        if self._worker is not None:
            self._worker.stop_and_wait(timeout_ms)

    # --- predictions -----------------------------------------------------------------------------
    def _pending_runs(self) -> list[RunEntry]:
        if self._dataset_path is None:
            return []
        return [run for run in self._runs if run.predictions is None and not run.error]

    def _start_next(self) -> None:
        if self._worker is not None or self._closing:
            return
        pending = self._pending_runs()
        if not pending:
            self.progress_bar.setVisible(False)
            self._update_state()
            return
        run = pending[0]
        worker = JobWorker(predict_split_job(run.path, self._dataset_path, self._split, self.device_combo.device()),
                           JOB_NAME, self, torch_threads=gui_torch_threads())
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        self._worker, self._worker_run = worker, run
        self._worker_source = (self._dataset_path, self._split)
        self.progress_bar.setVisible(True)
        self.progress_bar.setRange(0, 0)
        self.job_progress.emit(JOB_NAME, 0, 0)
        self._say(f"Predicting {self._split} photos with {run.label}...")
        worker.start()
        self._update_state()

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.stop_and_wait()

    def _on_progress(self, event: ProgressEvent) -> None:
        self.progress_bar.setRange(0, event.total)
        self.progress_bar.setValue(event.done)
        self.job_progress.emit(JOB_NAME, event.done, event.total)

    def _on_finished(self, result: object, error: object) -> None:
        worker, run, source = self._worker, self._worker_run, self._worker_source
        self._worker, self._worker_run, self._worker_source = None, None, None
        if worker is not None:
            worker.wait()  # its thread ends right after `finished`; never delete a running QThread
            worker.deleteLater()
        self.job_progress.emit("", 0, 0)
        if run is not None and run in self._runs and source == (self._dataset_path, self._split):
            if error is not None:
                run.error = str(error)
                self._say(f"Cannot show {run.path}: {error}")
            elif result is not None:
                run.predictions = result
                self._say(f"{run.label}: mean PSNR {result.summary['psnr']:.2f} dB, SSIM {result.summary['ssim']:.3f} "
                          f"on {len(result.per_image)} {self._split} photos.")
            # a stopped or stale job (the dataset changed) leaves the run pending
            current = self.current_photo()
            self._reset_order()
            self._rebuild_views()
            self._fill_table(select=self._order.index(current) if current in self._order else 0)
        self._start_next()

    # --- view ------------------------------------------------------------------------------------
    def _shown_runs(self) -> list[RunEntry]:
        return [run for run in self._runs if run.shown]

    def _primary_run(self) -> RunEntry | None:
        return next((run for run in self._shown_runs() if run.predictions is not None), None)

    def _reset_order(self) -> None:
        if self._dataset is None:
            self._order = []
            return
        count = len(self._dataset.split(self._split).rgb)
        mode = self.sort_combo.currentData()
        primary = self._primary_run()
        if mode == "dataset" or primary is None:
            self._order = list(range(count))
        else:
            ranked = np.argsort(primary.predictions.metric("psnr"), kind="stable")
            self._order = [int(i) for i in (ranked[::-1] if mode == "best" else ranked)]

    def _fill_table(self, select: int = 0) -> None:
        runs = [run for run in self._shown_runs() if run.predictions is not None]
        headers = ["#", "Photo"]
        for run in runs:
            suffix = f" {run.label}" if len(runs) > 1 else ""
            headers += [f"PSNR{suffix}", f"SSIM{suffix}"]
        files = self._files()
        scores = [(run.predictions.metric("psnr"), run.predictions.metric("ssim")) for run in runs]
        self.table.blockSignals(True)
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(self._order))
        for row, index in enumerate(self._order):
            self.table.setItem(row, COL_INDEX, QTableWidgetItem(str(index)))
            name = Path(files[index]).name if index < len(files) else f"photo {index}"
            name_item = QTableWidgetItem(name)
            name_item.setToolTip(files[index] if index < len(files) else "")
            self.table.setItem(row, COL_NAME, name_item)
            for r, (psnr, ssim) in enumerate(scores):
                col = FIRST_METRIC_COL + 2 * r
                self.table.setItem(row, col, QTableWidgetItem(f"{psnr[index]:.2f}"))
                self.table.setItem(row, col + 1, QTableWidgetItem(f"{ssim[index]:.3f}"))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.blockSignals(False)
        self._position = -1
        self.summary_label.setText("\n".join(
            f"{run.label}: mean PSNR {run.predictions.summary['psnr']:.2f} dB, SSIM {run.predictions.summary['ssim']:.3f}"
            for run in runs))
        if self._order:
            self.table.setCurrentCell(min(select, len(self._order) - 1), COL_NAME)
        else:
            self._show_current()
        self._update_state()

    def _on_row_changed(self, row: int) -> None:
        self._position = row
        self._show_current()

    def _files(self) -> list[str]:
        if self._dataset is None:
            return []
        try:
            return [str(f) for f in self._dataset.files(self._split)]
        except (KeyError, ValueError):
            return []

    def _photo_images(self, index: int) -> dict[str, np.ndarray]:
        from colorcore.data.imageio import luma

        arrays = self._dataset.split(self._split)
        real = np.asarray(arrays.rgb[index])
        return {"gray": luma(real), "real": real, "saliency": np.asarray(arrays.saliency[index]),
                "edge": np.asarray(arrays.edge[index])}

    def _current_cells(self) -> list[Cell]:
        index = self.current_photo()
        if index < 0 or self._dataset is None:
            return []
        images = self._photo_images(index)
        runs = self._shown_runs()
        cells = [Cell("gray (input)", images["gray"], 0, 0)]
        for col, run in enumerate(runs, start=1):
            pred = run.predictions
            metrics = f" {pred.metric('psnr')[index]:.2f} dB" if pred is not None else ""
            cells.append(Cell(f"fake: {run.label}{metrics}", pred.fake[index] if pred is not None else None, 0, col,
                              run.error or run.path))
        cells.append(Cell("real", images["real"], 0, len(runs) + 1))
        for row, key in enumerate(MAP_KEYS, start=1):
            for col, run in enumerate(runs, start=1):
                pred = run.predictions
                if pred is not None and key in pred.maps:
                    cells.append(Cell(f"predicted {key}: {run.label}", pred.maps[key][index], row, col))
            cells.append(Cell(f"true {key}", images[key], row, len(runs) + 1))
        return cells

    def _rebuild_views(self) -> None:
        """Recreate the grid of image views for the current runs and maps."""
        for view in self._cells.values():
            view.setParent(None)
            view.deleteLater()
        self._cells.clear()
        self._sync.clear()
        self._show_current()

    def _show_current(self) -> None:
        cells = self._current_cells()
        wanted = {(c.row, c.col) for c in cells}
        for key in [k for k in self._cells if k not in wanted]:
            view = self._cells.pop(key)
            view.setParent(None)
            view.deleteLater()
        for cell in cells:
            widget = self._cells.get((cell.row, cell.col))
            if widget is None:
                widget = _CaptionedView(cell.caption)
                self._cells[(cell.row, cell.col)] = widget
                self.views_layout.addWidget(widget, cell.row, cell.col)
                self._sync.add(widget.view)
            widget.caption.setText(cell.caption)
            widget.setToolTip(cell.tooltip)
            widget.view.set_image(cell.image)
        index = self.current_photo()
        files = self._files()
        if index >= 0:
            name = Path(files[index]).name if index < len(files) else f"photo {index}"
            self.photo_label.setText(f"{self._position + 1} / {len(self._order)}: {name}  "
                                     "(Left/Right, Home/End to browse; wheel to zoom, drag to pan)")
        else:
            self.photo_label.setText("")
        self._update_hint()

    def _update_hint(self) -> None:
        if self._dataset is None and not self._runs:
            hint = "Open a run (or model file) and a prepared dataset to browse its photos as gray | fake | real."
        elif self._dataset is None:
            hint = "Open a prepared dataset to see what the model makes of its photos."
        elif not self._runs:
            hint = "Add a run or model file to see its colourisations next to the real photos."
        else:
            notes = [f"{run.label}: {run.error}" for run in self._runs if run.error]
            notes += [f"{run.label} was trained on {Path(own).name}; it is scored here on {Path(self._dataset_path).name}"
                      + ("" if is_prepared_dataset(own) else f" ({own} is gone)")
                      for run, own in self.scored_elsewhere()]
            hint = "; ".join(notes)
        self.hint_label.setText(hint)
        self.hint_label.setVisible(bool(hint))

    # --- user actions ----------------------------------------------------------------------------
    def _on_run_toggled(self, item: QListWidgetItem) -> None:
        row = self.run_list.row(item)
        if 0 <= row < len(self._runs):
            self._runs[row].shown = item.checkState() == Qt.CheckState.Checked
            current = self.current_photo()
            self._reset_order()
            self._rebuild_views()
            self._fill_table(select=self._order.index(current) if current in self._order else 0)

    def _remove_selected_run(self) -> None:
        row = self.run_list.currentRow()
        if not 0 <= row < len(self._runs):
            return
        run = self._runs.pop(row)
        self.run_list.takeItem(row)
        self._save_open()
        if self._worker_run is run:
            self._worker.stop()
        self._reset_order()
        self._rebuild_views()
        self._fill_table()

    def _on_split_changed(self, split: str) -> None:
        if split == self._split or self._dataset_path is None:
            self._split = split
            return
        if split not in self._dataset.manifest.splits:
            self._say(f"The dataset has no {split} split.")
            return
        self._split = split
        self.open_dataset(self._dataset_path)

    def _browse_run(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model or checkpoint", last_folder(self._settings, "model"),
                                              "Models and checkpoints (*.safetensors *.pt);;All files (*)")
        if path:
            self.open_run(path)

    def _browse_run_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open run folder", last_folder(self._settings, "run"))
        if folder:
            remember_folder(self._settings, "run", str(Path(folder).parent))  # the folder that holds the runs
            self.open_run(folder)

    def _browse_dataset(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open prepared dataset", last_folder(self._settings, "dataset"))
        if folder:
            remember_folder(self._settings, "dataset", str(Path(folder).parent))
            self.open_dataset(folder)

    def _export_view_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export view", "results_view.png", "PNG image (*.png)")
        if path:
            try:
                self.export_view(path)
            except (OSError, ValueError) as exc:
                self._say(f"Could not export {path}: {exc}")

    def _export_grid_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export grid", "results_grid.png", "PNG image (*.png)")
        if path:
            try:
                self.export_grid(path, self.grid_count.value())
            except (OSError, ValueError) as exc:
                self._say(f"Could not export {path}: {exc}")

    def _update_state(self) -> None:
        row = self.run_list.currentRow()
        self.colourise_button.setEnabled(0 <= row < len(self._runs) or len(self._runs) == 1)
        has_photos = bool(self._order)
        self.export_view_button.setEnabled(has_photos)
        self.export_grid_button.setEnabled(has_photos)
        self.sort_combo.setEnabled(self._primary_run() is not None)
        self._update_hint()

    def _say(self, text: str) -> None:
        self.status_message.emit(text)
