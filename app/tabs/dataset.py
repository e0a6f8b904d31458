"""Dataset tab: choose a photo folder, tune size/split/saliency/Canny with live previews, prepare
the dataset with progress and cancel, and show its summary and skipped files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from colorcore.core.advice import advice_of
from colorcore.core.events import ErrorEvent, emit
from colorcore.data.settings import (
    DEFAULT_CROPS_PER_PHOTO,
    DEFAULT_SALIENCY,
    DEFAULT_SEED,
    DEFAULT_SIZE,
    DEFAULT_TEST_FRACTION,
    MAX_CROPS_PER_PHOTO,
    SALIENCY_METHODS,
)

from app.tabs import (DATASET_WORDS, advice_text, ask_folder, dialog_start, error_text, last_folder, remember_folder,
                      reveal_in_file_manager, show_error)
from app.widgets.image_view import numpy_to_qimage
from app.workers import JobWorker

if TYPE_CHECKING:
    from colorcore.data.prepared import Manifest

PREVIEW_PHOTOS = 4
PREVIEW_COLUMNS = ("Original", "Gray", "Canny", "Saliency")
PREVIEW_TILE_PX = 150
PREVIEW_DEBOUNCE_MS = 150
PREVIEW_DECODE_MIN_SIZE = 256  # photos are decoded reduced to at least this size for previews
DEFAULT_CANNY = (50, 150)  # where the sliders start when Canny is set by hand
SETTINGS_GROUP = "dataset"
JOB_NAME = "Preparing dataset"


def failure_event(exc: Exception) -> ErrorEvent:
    """The error event of a preparation the engine refused before it began (it reports later failures
    itself): the engine's advice, else a general suggestion."""
    advice = advice_of(exc)
    return ErrorEvent(str(exc), "" if advice else "Check the photo and output folders.", exc, advice)


class DatasetTab(QWidget):
    """Prepare a photo folder into a dataset (see colorcore.data.prepare), with live guidance previews."""

    status_message = Signal(str)
    job_progress = Signal(str, int, int)
    dataset_prepared = Signal(str)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setAcceptDrops(True)
        self._prepare_worker: JobWorker | None = None
        self._preview_worker: JobWorker | None = None
        self._preview_dirty = False
        self._preview_paths: list[str] = []
        self._decoded: dict[str, np.ndarray] = {}
        self._decode_errors: dict[str, str] = {}
        self.last_result: Any = None
        self.preview_rows: list[tuple[str, list[np.ndarray]]] = []
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DEBOUNCE_MS)
        self._preview_timer.timeout.connect(self._start_preview)
        self._build()
        self._restore_settings()

    # layout
    def _build(self) -> None:
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("Choose or drop a folder of photos")
        self.source_edit.editingFinished.connect(lambda: self.set_source_folder(self.source_edit.text()))
        browse_source = QPushButton("Browse\u2026")
        browse_source.clicked.connect(self._ask_source)
        self.output_edit = QLineEdit()
        self.output_edit.setPlaceholderText("Folder for the prepared dataset")
        browse_output = QPushButton("Browse\u2026")
        browse_output.clicked.connect(self._ask_output)

        self.size_spin = QSpinBox()
        self.size_spin.setRange(32, 512)
        self.size_spin.setSingleStep(32)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Side of the square training images (the paper uses 64)")
        self.crops_spin = QSpinBox()
        self.crops_spin.setRange(0, MAX_CROPS_PER_PHOTO)
        self.crops_spin.setSpecialValueText("no crops")
        self.crops_spin.setSuffix(" crops/photo")
        self.crops_spin.setToolTip("Besides each photo's centre square, this many random square crops at several "
                                   "scales (half of them mirrored): many training images from few photos. "
                                   "Photos, never crops, are split into train and test.")
        self.test_fraction_spin = QDoubleSpinBox()
        self.test_fraction_spin.setRange(0.0, 0.9)
        self.test_fraction_spin.setSingleStep(0.05)
        self.test_fraction_spin.setDecimals(2)
        self.test_fraction_spin.setToolTip("Share of photos held out for testing (the paper: 5k of 20k)")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("Seed of the train/test split")
        self.saliency_combo = QComboBox()
        self.saliency_combo.addItems(SALIENCY_METHODS)
        self.saliency_combo.setToolTip("spectral: spectral residual (the paper); fine: fine-grained saliency")
        self.canny_auto = QCheckBox("Auto (from each image's median)")
        self.canny_low = QSlider(Qt.Orientation.Horizontal)
        self.canny_high = QSlider(Qt.Orientation.Horizontal)
        self.canny_low_label, self.canny_high_label = QLabel(), QLabel()
        for slider, label in ((self.canny_low, self.canny_low_label), (self.canny_high, self.canny_high_label)):
            slider.setRange(0, 255)
            label.setMinimumWidth(28)
            slider.valueChanged.connect(lambda value, lab=label: lab.setText(str(value)))
        self.canny_low.valueChanged.connect(lambda v: self.canny_high.setValue(max(self.canny_high.value(), v)))
        self.canny_high.valueChanged.connect(lambda v: self.canny_low.setValue(min(self.canny_low.value(), v)))
        self.canny_auto.toggled.connect(self._update_canny_enabled)

        def row(*widgets: QWidget) -> QWidget:
            box = QWidget()
            layout = QHBoxLayout(box)
            layout.setContentsMargins(0, 0, 0, 0)
            for widget in widgets:
                layout.addWidget(widget)
            return box

        form = QFormLayout()
        form.addRow("Photos", row(self.source_edit, browse_source))
        form.addRow("Output", row(self.output_edit, browse_output))
        form.addRow("Size", self.size_spin)
        form.addRow("Test fraction", self.test_fraction_spin)
        form.addRow("Seed / crops", row(self.seed_spin, self.crops_spin))
        form.addRow("Saliency", self.saliency_combo)
        form.addRow("Canny", self.canny_auto)
        form.addRow("  low", row(self.canny_low, self.canny_low_label))
        form.addRow("  high", row(self.canny_high, self.canny_high_label))
        settings_box = QGroupBox("Settings")
        settings_box.setLayout(form)

        self.prepare_button = QPushButton("Prepare")
        self.prepare_button.setDefault(True)
        self.prepare_button.clicked.connect(self.start_prepare)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_prepare)
        self.cancel_button.setEnabled(False)
        self.open_button = QPushButton("Open prepared dataset\u2026")
        self.open_button.clicked.connect(self._ask_open_prepared)
        self.progress_bar = QProgressBar()
        self.progress_bar.setVisible(False)
        self.summary_label = QLabel("No dataset prepared yet.")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.skipped_list = QListWidget()
        self.skipped_list.setToolTip("Double-click a file to show it in its folder")
        self.skipped_list.itemDoubleClicked.connect(self._reveal_skipped)

        left = QVBoxLayout()
        left.addWidget(settings_box)
        left.addWidget(row(self.prepare_button, self.cancel_button, self.open_button))
        left.addWidget(self.progress_bar)
        left.addWidget(self.summary_label)
        left.addWidget(QLabel("Skipped files"))
        left.addWidget(self.skipped_list, 1)
        left_widget = QWidget()
        left_widget.setLayout(left)

        self.preview_grid = QGridLayout()
        for col, title in enumerate(PREVIEW_COLUMNS):
            header = QLabel(f"<b>{title}</b>")
            header.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.preview_grid.addWidget(header, 0, col)
        self.preview_labels: list[list[QLabel]] = []
        for r in range(PREVIEW_PHOTOS):
            labels = []
            for col in range(len(PREVIEW_COLUMNS)):
                tile = QLabel()
                tile.setFixedSize(PREVIEW_TILE_PX, PREVIEW_TILE_PX)
                tile.setAlignment(Qt.AlignmentFlag.AlignCenter)
                tile.setFrameShape(QLabel.Shape.StyledPanel)
                self.preview_grid.addWidget(tile, r + 1, col)
                labels.append(tile)
            self.preview_labels.append(labels)
        self.preview_note = QLabel("Choose a photo folder to see how its photos will be prepared.")
        self.preview_note.setWordWrap(True)
        grid_widget = QWidget()
        grid_layout = QVBoxLayout(grid_widget)
        grid_layout.addWidget(self.preview_note)
        grid_layout.addLayout(self.preview_grid)
        grid_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_widget)
        preview_box = QGroupBox("Preview (as stored in the dataset)")
        QVBoxLayout(preview_box).addWidget(scroll)

        splitter = QSplitter()
        splitter.addWidget(left_widget)
        splitter.addWidget(preview_box)
        splitter.setStretchFactor(1, 1)
        left_widget.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        QVBoxLayout(self).addWidget(splitter)

        for signal in (
            self.size_spin.valueChanged,
            self.saliency_combo.currentIndexChanged,
            self.canny_auto.toggled,
            self.canny_low.valueChanged,
            self.canny_high.valueChanged,
        ):
            signal.connect(self.schedule_preview)

    def _restore_settings(self) -> None:
        s, g = self.settings, SETTINGS_GROUP
        self.size_spin.setValue(s.value(f"{g}/size", DEFAULT_SIZE, type=int))
        self.test_fraction_spin.setValue(s.value(f"{g}/test_fraction", DEFAULT_TEST_FRACTION, type=float))
        self.crops_spin.setValue(s.value(f"{g}/crops_per_photo", DEFAULT_CROPS_PER_PHOTO, type=int))
        self.seed_spin.setValue(s.value(f"{g}/seed", DEFAULT_SEED, type=int))
        self.saliency_combo.setCurrentText(s.value(f"{g}/saliency", DEFAULT_SALIENCY, type=str))
        self.canny_high.setValue(s.value(f"{g}/canny_high", DEFAULT_CANNY[1], type=int))
        self.canny_low.setValue(s.value(f"{g}/canny_low", DEFAULT_CANNY[0], type=int))
        self.canny_auto.setChecked(s.value(f"{g}/canny_auto", True, type=bool))
        self._update_canny_enabled()
        self.canny_low_label.setText(str(self.canny_low.value()))
        self.canny_high_label.setText(str(self.canny_high.value()))

    def save_settings(self) -> None:
        """Remember the preparation settings."""
        s, g = self.settings, SETTINGS_GROUP
        s.setValue(f"{g}/size", self.size_spin.value())
        s.setValue(f"{g}/test_fraction", self.test_fraction_spin.value())
        s.setValue(f"{g}/crops_per_photo", self.crops_spin.value())
        s.setValue(f"{g}/seed", self.seed_spin.value())
        s.setValue(f"{g}/saliency", self.saliency_combo.currentText())
        s.setValue(f"{g}/canny_auto", self.canny_auto.isChecked())
        s.setValue(f"{g}/canny_low", self.canny_low.value())
        s.setValue(f"{g}/canny_high", self.canny_high.value())

    def _update_canny_enabled(self) -> None:
        manual = not self.canny_auto.isChecked()
        for widget in (self.canny_low, self.canny_high, self.canny_low_label, self.canny_high_label):
            widget.setEnabled(manual)

    def canny_thresholds(self) -> tuple[int, int] | None:
        """The chosen (low, high) Canny thresholds, or None for automatic ones."""
        if self.canny_auto.isChecked():
            return None
        return self.canny_low.value(), self.canny_high.value()

    # choosing folders
    def _ask_source(self) -> None:
        start = dialog_start(self.source_edit.text(), last_folder(self.settings, "photos"))
        path = QFileDialog.getExistingDirectory(self, "Photo folder", start)
        if path:
            self.set_source_folder(path)

    def _ask_output(self) -> None:
        start = dialog_start(self.output_edit.text(), last_folder(self.settings, "dataset"))
        path = ask_folder(self, "Output folder", start, create=True)
        if path:
            self.output_edit.setText(path)

    def _ask_open_prepared(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open prepared dataset", last_folder(self.settings, "dataset"))
        if path:
            self.open_prepared(path)

    def set_source_folder(self, path: str) -> bool:
        """Use `path` as the photo folder: suggest an output folder and preview a few photos."""
        folder = Path(path).expanduser()
        if not path or not folder.is_dir():
            if path:
                self.status_message.emit(f"Not a folder: {path}")
            return False
        previous = self.source_edit.text().strip()
        self.source_edit.setText(str(folder))
        remember_folder(self.settings, "photos", str(folder.parent))
        if not previous or Path(previous).resolve() != folder.resolve():
            if not self.is_busy():  # the summary and skipped files were another folder's
                self.summary_label.setText(f"{folder.name}: not prepared yet. Press Prepare.")
                self.skipped_list.clear()
            suggested = self._suggested_output(previous)
            if not self.output_edit.text() or self.output_edit.text() == suggested:
                self.output_edit.setText(str(folder.parent / f"{folder.name}_prepared"))
        from colorcore.data.imageio import list_images

        self._preview_paths = [str(p) for p in list_images(folder)[: PREVIEW_PHOTOS * 2]]
        self._decoded, self._decode_errors = {}, {}
        if not self._preview_paths:
            self.preview_note.setText(f"No photos found in {folder}.")
        self.schedule_preview()
        return True

    @staticmethod
    def _suggested_output(source: str) -> str:
        """The output folder suggested for a photo folder ("" for none)."""
        return str(Path(source).parent / f"{Path(source).name}_prepared") if source else ""

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt name)
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and Path(urls[0].toLocalFile()).is_dir():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt name)
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and self.set_source_folder(urls[0].toLocalFile()):
            event.acceptProposedAction()

    # previews (debounced, computed off the GUI thread, latest settings win)
    def schedule_preview(self) -> None:
        """Recompute the previews shortly (restarts the debounce timer)."""
        if self._preview_paths:
            self._preview_timer.start()

    def has_pending_work(self) -> bool:
        """True while previews are scheduled or being computed."""
        return self._preview_timer.isActive() or self._preview_dirty or (
            self._preview_worker is not None and self._preview_worker.is_running()
        )

    def _start_preview(self) -> None:
        if self._preview_worker is not None and self._preview_worker.is_running():
            self._preview_dirty = True
            self._preview_worker.stop()
            return
        self._preview_dirty = False
        paths = list(self._preview_paths)
        size, canny, saliency = self.size_spin.value(), self.canny_thresholds(), self.saliency_combo.currentText()
        decoded, errors = self._decoded, self._decode_errors

        def job(callbacks: list, stop: Any) -> list[tuple[str, list[np.ndarray]]]:
            from colorcore.data.prepare import preview_samples
            from colorcore.data.imageio import ImageReadError, read_image

            photos = []
            for path in paths:
                if len(photos) == PREVIEW_PHOTOS or stop.stop_requested:
                    break
                if path not in decoded and path not in errors:
                    try:
                        decoded[path] = read_image(path, min_size=PREVIEW_DECODE_MIN_SIZE)
                    except ImageReadError as exc:
                        errors[path] = exc.reason
                if path in decoded:
                    photos.append((path, decoded[path]))
            return [] if stop.stop_requested else preview_samples(photos, size, canny, saliency)

        self._preview_worker = JobWorker(job, "Preview", self)
        self._preview_worker.finished.connect(self._on_preview_done)
        self._preview_worker.start()

    def _on_preview_done(self, rows: object, error: object) -> None:
        worker = self.sender()
        if worker is self._preview_worker:
            self._preview_worker = None
        if isinstance(worker, JobWorker):
            worker.wait()
            worker.deleteLater()
        if self._preview_dirty:
            self._start_preview()
        elif error is not None:
            self.preview_note.setText(f"Preview failed: {error}")
        elif rows:
            self._show_preview(rows)  # type: ignore[arg-type]

    def _show_preview(self, rows: list[tuple[str, list[np.ndarray]]]) -> None:
        for r, labels in enumerate(self.preview_labels):
            for c, tile in enumerate(labels):
                if r < len(rows):
                    pixmap = QPixmap.fromImage(numpy_to_qimage(rows[r][1][c]))
                    tile.setPixmap(pixmap.scaled(PREVIEW_TILE_PX, PREVIEW_TILE_PX, Qt.AspectRatioMode.KeepAspectRatio))
                    tile.setToolTip(rows[r][0])
                else:
                    tile.clear()
                    tile.setToolTip("")
        canny = self.canny_thresholds()
        canny_text = "auto" if canny is None else f"{canny[0]}/{canny[1]}"
        unreadable = len(self._decode_errors)
        note = f"{len(rows)} photo(s) at {self.size_spin.value()} px, Canny {canny_text}, saliency {self.saliency_combo.currentText()}."
        if unreadable:
            note += f" {unreadable} unreadable photo(s) left out of the preview."
        self.preview_note.setText(note)
        self.preview_rows = rows

    # preparing
    def is_busy(self) -> bool:
        """True while a dataset is being prepared."""
        return self._prepare_worker is not None and self._prepare_worker.is_running()

    def start_prepare(self) -> bool:
        """Prepare the chosen folder with the current settings (in a worker thread)."""
        from colorcore.data.prepared import is_prepared_dataset

        if self.is_busy():
            return False
        source, output = self.source_edit.text().strip(), self.output_edit.text().strip()
        if not source or not Path(source).is_dir():
            show_error(self, "Prepare dataset", f"The photo folder does not exist: {source or '(none chosen)'}", "Choose a folder of photos first.")
            return False
        if not output:
            show_error(self, "Prepare dataset", "No output folder chosen.", "Choose where the prepared dataset goes.")
            return False
        overwrite = False
        if is_prepared_dataset(output):
            answer = QMessageBox.question(
                self, "Prepare dataset", f"{output} already holds a prepared dataset.\n\nReplace it?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
            overwrite = True
        self.save_settings()
        low, high = self.canny_thresholds() or (None, None)
        options = dict(
            size=self.size_spin.value(),
            test_fraction=self.test_fraction_spin.value(),
            seed=self.seed_spin.value(),
            crops_per_photo=self.crops_spin.value(),
            saliency=self.saliency_combo.currentText(),
            canny_low=low,
            canny_high=high,
            overwrite=overwrite,
        )

        def job(callbacks: list, stop: Any) -> Any:
            from colorcore.data.prepare import prepare
            from colorcore.data.prepared import DatasetError

            reported: list[Any] = []  # an error the engine reports itself is shown once, as it words it

            class Reported:
                def on_error(self, event: Any) -> None:
                    reported.append(event)

            try:
                return prepare(source, output, callbacks=[*callbacks, Reported()], stop=stop, **options)
            except (DatasetError, ValueError) as exc:
                if not reported:
                    emit(callbacks, "on_error", failure_event(exc))
                raise

        self.skipped_list.clear()
        self.summary_label.setText(f"Preparing {source}\u2026")
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setVisible(True)
        self._prepare_worker = JobWorker(job, JOB_NAME, self)
        self._prepare_worker.progress.connect(self._on_progress)
        self._prepare_worker.error.connect(self._on_error)
        self._prepare_worker.finished.connect(self._on_prepare_finished)
        self._prepare_worker.start()
        self.prepare_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.job_progress.emit(JOB_NAME, 0, 0)
        self.status_message.emit(f"Preparing {source}")
        return True

    def cancel_prepare(self) -> None:
        """Ask the running preparation to stop (it leaves no half-written dataset)."""
        if self.is_busy():
            self._prepare_worker.stop()
            self.cancel_button.setEnabled(False)
            self.status_message.emit("Cancelling preparation\u2026")

    def _on_progress(self, event: Any) -> None:
        self.progress_bar.setRange(0, max(event.total, 0))
        self.progress_bar.setValue(event.done)
        if event.message:
            self.summary_label.setText(event.message)
        self.job_progress.emit(JOB_NAME, event.done, event.total)

    def _on_error(self, event: Any) -> None:
        show_error(self, "Preparing the dataset failed", event.message,
                   advice_text(event.advice, event.suggestion, DATASET_WORDS))

    def _on_prepare_finished(self, result: object, error: object) -> None:
        worker = self._prepare_worker
        self.prepare_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress_bar.setVisible(False)
        self.job_progress.emit("", 0, 0)
        if worker is not None:
            worker.wait()
        if error is not None:
            self.summary_label.setText(f"Preparation failed: {error}")
            return
        self.last_result = result
        if getattr(result, "cancelled", False):
            self.summary_label.setText("Preparation cancelled; no dataset was written.")
            self.status_message.emit("Preparation cancelled")
            return
        output = self.output_edit.text().strip()
        self.open_prepared(output)
        self.status_message.emit(f"Dataset ready: {output}")
        self.dataset_prepared.emit(output)

    # prepared datasets
    def open_prepared(self, path: str) -> bool:
        """Show the summary and skipped files of a prepared dataset; False (with a message) if
        `path` is not one."""
        from colorcore.data.prepared import MANIFEST_NAME, load_prepared

        try:
            manifest = load_prepared(path).manifest
        except Exception as exc:  # any unreadable dataset is a user error here
            show_error(self, "Open prepared dataset", f"{path} is not a usable prepared dataset: {error_text(exc, DATASET_WORDS)}",
                       f"Choose a folder written by Prepare (it holds {MANIFEST_NAME}).")
            return False
        remember_folder(self.settings, "dataset", str(Path(path).parent))
        if not self.is_busy():
            self.apply_manifest_settings(path, manifest)
        self.show_summary(path, manifest)  # after the form: choosing its photo folder clears the summary
        return True

    def apply_manifest_settings(self, path: str, manifest: Manifest) -> None:
        """Set the form to the settings a prepared dataset was made with (and preview its source)."""
        self.size_spin.setValue(manifest.size)
        if manifest.saliency in SALIENCY_METHODS:
            self.saliency_combo.setCurrentText(manifest.saliency)
        self.test_fraction_spin.setValue(manifest.test_fraction)
        self.seed_spin.setValue(manifest.seed)
        self.crops_spin.setValue(manifest.crops_per_photo)
        self.canny_auto.setChecked(manifest.canny_auto)
        if not manifest.canny_auto:
            self.canny_high.setValue(round(manifest.canny_high))
            self.canny_low.setValue(round(manifest.canny_low))
        self.output_edit.setText(str(path))
        source = manifest.source_folder
        if source is not None and source.is_dir() and str(source) != self.source_edit.text():
            self.set_source_folder(str(source))

    def show_summary(self, path: str, manifest: Manifest) -> None:
        """Fill the summary text and the skipped list from a manifest."""
        self.summary_label.setText(
            f"<b>{Path(path).name}</b>: {manifest.splits['train']} train, {manifest.splits['test']} test photos "
            f"at {manifest.size} px; saliency {manifest.saliency}; Canny {manifest.canny_description}; "
            f"{len(manifest.skipped)} skipped.<br><small>{path}</small>"
        )
        self.skipped_list.clear()
        source = manifest.source_folder or Path()
        for entry in manifest.skipped:
            full_path = str(source / entry.path)  # stored relative to the source folder
            item = QListWidgetItem(f"{Path(entry.path).as_posix()}: {entry.reason}")  # sub-folders kept
            item.setToolTip(full_path)
            item.setData(Qt.ItemDataRole.UserRole, full_path)
            self.skipped_list.addItem(item)

    def skipped_entries(self) -> list[tuple[str, str]]:
        """(path, shown text) of each row of the skipped list."""
        return [
            (self.skipped_list.item(i).data(Qt.ItemDataRole.UserRole), self.skipped_list.item(i).text())
            for i in range(self.skipped_list.count())
        ]

    def _reveal_skipped(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        if not reveal_in_file_manager(path):
            self.status_message.emit(f"No file manager could be opened on this system; the file is {path}")

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop preparation and previews and wait for their threads."""
        self._preview_timer.stop()
        self._preview_dirty = False
        for worker in (self._prepare_worker, self._preview_worker):
            if worker is not None:
                worker.stop_and_wait(timeout_ms)
