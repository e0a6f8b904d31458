"""Downstream tab: the CIFAR-10 representation-learning experiment (paper Table 1) with live
accuracy curves and the table filling in as configurations finish, beside the paper's numbers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QSettings, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton, QSpinBox, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.devices import DeviceCombo, gui_torch_threads
from app.tabs import DOWNSTREAM_WORDS, ask_folder, dialog_start, error_text
from app.theme import plot_colours
from app.workers import JobWorker
from colorcore.core.atomic import atomic_write_text
from colorcore.core.events import StopFlag
from colorcore.downstream.settings import (
    CONFIG_NAMES,
    CUSTOM_PROTOCOL,
    DEFAULT_CONFIGS,
    IMAGE_SIZES,
    INPUT_MODES,
    PROTOCOL_LABELS,
    PROTOCOLS,
    DownstreamError,
    DownstreamSettings,
    config_label,
    protocol_of,
)
from colorcore.downstream.results import ResultsFolder, RunRecord
from colorcore.downstream.tables import (
    SPLITS,
    format_diff,
    format_mean_std,
    load_paper_table,
    markdown_table,
    results_csv,
    summarise,
)

JOB_NAME = "CIFAR-10 experiment"
SETTINGS_PREFIX = "experiment/"  # the tab's old name, kept: users' saved settings live under it
CONFIG_COLUMNS = 4  # configuration check boxes per row
TABLE_COLUMNS = ("Configuration", "Seeds", "Train", "Validation", "Test", "Test \u2212 scratch (95 % CI)",
                 "Paper train", "Paper val.", "Paper test")
COL_SEEDS, COL_TRAIN, COL_VAL, COL_TEST, COL_DIFF, COL_PAPER = 1, 2, 3, 4, 5, 6
MAX_IMAGES = 50000
PROGRESS_FORMAT = "%v / %m epochs  {}"


def downstream_job(settings: Any, cifar_root: str, download: bool, verify: bool, encoder_path: str,
                   out_dir: str, device: str = "auto"):
    """An engine job: load CIFAR-10 and the encoder, then run the experiment into `out_dir` on `device`."""

    def job(callbacks: list, stop: StopFlag) -> object:
        from colorcore.downstream.cifar import load_cifar10
        from colorcore.core.device import resolve_device
        from colorcore.downstream.experiment import load_encoder, run_downstream

        cifar = load_cifar10(cifar_root, download=download, verify=verify)
        encoder = load_encoder(encoder_path)
        return run_downstream(settings, encoder, cifar, out_dir, device=resolve_device(device),
                              callbacks=callbacks, stop=stop)

    return job


def _spin(minimum: int, maximum: int, value: int, step: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setValue(value)
    return box


class DownstreamTab(QWidget):
    """Runs the CIFAR-10 experiment off the GUI thread; curves and table update as it goes."""

    status_message = Signal(str)
    job_progress = Signal(str, int, int)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._defaults = DownstreamSettings()
        self._paper = load_paper_table()["rows"]
        self._worker: JobWorker | None = None
        self._rows: dict[str, dict[str, Any]] = {}
        self._seed_runs: dict[str, list[RunRecord]] = {}
        self._run_settings: DownstreamSettings | None = None
        self._next_settings: DownstreamSettings | None = None  # a started run's settings, until the engine accepts its output folder
        self._progress: tuple[int, int] | None = None  # (done, total) epochs of the running experiment
        self._curves: dict[tuple[str, int], tuple[pg.PlotDataItem, list[float], list[float]]] = {}
        self._build()
        self._restore()
        self._reset_table()
        self._show_remembered_results()
        self._update_state()

    # --- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        d = self._defaults
        self.cifar_edit = QLineEdit()
        self.cifar_edit.setPlaceholderText("folder that holds cifar-10-batches-py")
        cifar_browse = QPushButton("Browse...")
        cifar_browse.clicked.connect(lambda: self._browse_folder(self.cifar_edit, "CIFAR-10 folder"))
        self.download_check = QCheckBox("Download if missing")
        self.verify_check = QCheckBox("Check official checksums")
        self.verify_check.setChecked(True)
        self.verify_check.setToolTip("Off: accept files in the CIFAR-10 format that are not the official ones")
        cifar_row = QHBoxLayout()
        cifar_row.addWidget(self.cifar_edit, 1)
        cifar_row.addWidget(cifar_browse)
        cifar_options_row = QHBoxLayout()
        cifar_options_row.addWidget(self.download_check)
        cifar_options_row.addWidget(self.verify_check)
        cifar_options_row.addStretch(1)

        self.encoder_edit = QLineEdit()
        self.encoder_edit.setPlaceholderText("run folder, .pt checkpoint or .safetensors model of the paper model")
        encoder_browse = QPushButton("Browse...")
        encoder_browse.clicked.connect(self._browse_encoder)
        encoder_row = QHBoxLayout()
        encoder_row.addWidget(self.encoder_edit, 1)
        encoder_row.addWidget(encoder_browse)

        default_out = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
                           or Path.home()) / "ColorCore" / "cifar10-experiment"
        self.out_edit = QLineEdit(str(default_out))
        self.out_edit.setToolTip("Results, curves and the table are written here; running again with the "
                                 "same folder and settings skips finished configurations")
        out_browse = QPushButton("Browse...")
        out_browse.clicked.connect(lambda: self._browse_folder(self.out_edit, "Output folder"))
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(out_browse)

        self.train_size = _spin(20, MAX_IMAGES, d.train_size, 10)
        self.val_size = _spin(10, MAX_IMAGES, d.val_size, 10)
        self.test_size = _spin(10, 10000, d.test_size, 10)
        self.seeds = _spin(1, 20, d.seeds)
        self.epochs = _spin(1, 500, d.epochs)
        self.epochs.setToolTip("At most this many epochs per run")
        self.patience = _spin(0, 100, d.patience)
        self.patience.setSpecialValueText("never")
        self.patience.setToolTip("Stop a run when its validation accuracy has not improved for this many epochs "
                                 "(the best validation epoch is evaluated)")
        self.protocol_combo = QComboBox()
        for name, label in PROTOCOL_LABELS.items():
            self.protocol_combo.addItem(label[0].upper() + label[1:], name)
        self.protocol_combo.addItem("Custom (the epochs and patience below)", CUSTOM_PROTOCOL)
        self.protocol_combo.setToolTip(
            "The paper's protocol as far as it can be read: each run trains until its validation accuracy "
            "stops improving (patience and cap are ours). Quick: a CPU budget, not the paper's protocol.")
        self.protocol_combo.activated.connect(lambda _i: self._apply_protocol(self.protocol_combo.currentData()))
        self.epochs.valueChanged.connect(lambda _v: self._sync_protocol())
        self.patience.valueChanged.connect(lambda _v: self._sync_protocol())
        self.device_combo = DeviceCombo()
        self.input_combo = QComboBox()
        self.input_combo.addItems(INPUT_MODES)
        self.size_combo = QComboBox()
        self.size_combo.addItems([str(size) for size in IMAGE_SIZES])
        sizes_row = QHBoxLayout()
        for label, widget in (("train", self.train_size), ("validation", self.val_size),
                              ("test", self.test_size), ("seeds", self.seeds),
                              ("input", self.input_combo), ("px", self.size_combo)):
            sizes_row.addWidget(QLabel(label))
            sizes_row.addWidget(widget)
        sizes_row.addStretch(1)
        training_row = QHBoxLayout()
        for label, widget in (("", self.protocol_combo), ("at most", self.epochs), ("epochs, patience", self.patience),
                              ("device", self.device_combo)):
            if label:
                training_row.addWidget(QLabel(label))
            training_row.addWidget(widget)
        training_row.addStretch(1)

        self.config_checks: dict[str, QCheckBox] = {}
        configs_row = QGridLayout()
        for index, name in enumerate(CONFIG_NAMES):
            box = QCheckBox(config_label(name))
            box.setChecked(name in DEFAULT_CONFIGS)
            self.config_checks[name] = box
            configs_row.addWidget(box, index // CONFIG_COLUMNS, index % CONFIG_COLUMNS)
        configs_row.setColumnStretch(CONFIG_COLUMNS, 1)

        form = QFormLayout()
        form.addRow("CIFAR-10:", cifar_row)
        form.addRow("", cifar_options_row)
        form.addRow("Encoder model:", encoder_row)
        form.addRow("Images:", sizes_row)
        form.addRow("Training:", training_row)
        form.addRow("Configurations:", configs_row)
        form.addRow("Output folder:", out_row)
        self.settings_box = QGroupBox("Settings")
        self.settings_box.setLayout(form)

        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.progress_bar = QProgressBar()
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        controls = QHBoxLayout()
        controls.addWidget(self.run_button)
        controls.addWidget(self.stop_button)
        controls.addWidget(self.progress_bar, 1)

        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "epoch")
        self.plot.setLabel("left", "validation accuracy (%)")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.legend = self.plot.addLegend(offset=(-10, 10))

        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(TABLE_COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table_note = QLabel("Accuracy in %, mean \u00b1 std over seeds; the difference to scratch is paired "
                                 "by seed with a 95 % t-interval. The paper reports one run per configuration.")
        self.table_note.setWordWrap(True)
        self.export_csv_button = QPushButton("Export CSV...")
        self.export_csv_button.clicked.connect(lambda: self._export_dialog("csv"))
        self.export_md_button = QPushButton("Export Markdown...")
        self.export_md_button.clicked.connect(lambda: self._export_dialog("md"))
        export_row = QHBoxLayout()
        export_row.addWidget(self.table_note, 1)
        export_row.addWidget(self.export_csv_button)
        export_row.addWidget(self.export_md_button)
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(self.table, 1)
        table_layout.addLayout(export_row)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plot)
        splitter.addWidget(table_box)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 300])

        layout = QVBoxLayout(self)
        layout.addWidget(self.settings_box)
        layout.addLayout(controls)
        layout.addWidget(self.message_label)
        layout.addWidget(splitter, 1)

    # --- public API ------------------------------------------------------------------------------
    def set_cifar_folder(self, path: str, *, verify: bool = True, download: bool = False) -> None:
        """The folder holding `cifar-10-batches-py`; `verify` checks the official checksums."""
        self.cifar_edit.setText(path)
        self.verify_check.setChecked(verify)
        self.download_check.setChecked(download)

    def set_encoder(self, path: str) -> None:
        """The paper model whose encoder is evaluated (run folder, checkpoint or model file)."""
        self.encoder_edit.setText(path)

    def set_output_dir(self, path: str) -> None:
        """Where the experiment writes its results (and resumes from)."""
        self.out_edit.setText(path)

    def set_sizes(self, *, train: int, val: int, test: int, seeds: int, epochs: int, patience: int | None = None) -> None:
        """Image counts, number of seeds, at most `epochs` epochs per run and (if given) the patience."""
        for box, value in ((self.train_size, train), (self.val_size, val), (self.test_size, test),
                           (self.seeds, seeds), (self.epochs, epochs), (self.patience, patience)):
            if value is not None:
                box.setValue(value)

    def engine_ready(self) -> None:
        """List the devices this machine has, the best chosen."""
        self.device_combo.fill()

    def _apply_protocol(self, name: str) -> None:
        """Set the epochs and patience to protocol `name`'s ("paper", "quick"; "custom" keeps them)."""
        if name in PROTOCOLS:
            self.set_sizes(train=self.train_size.value(), val=self.val_size.value(), test=self.test_size.value(),
                           seeds=self.seeds.value(), **PROTOCOLS[name])

    def _sync_protocol(self) -> None:
        """Show the protocol the epochs and patience amount to."""
        name = protocol_of(self.epochs.value(), self.patience.value())
        self.protocol_combo.setCurrentIndex(self.protocol_combo.findData(name))

    def set_configs(self, configs: list[str]) -> None:
        """Tick exactly these configurations ("1".."5", "scratch", "0")."""
        for name, box in self.config_checks.items():
            box.setChecked(name in configs)

    def selected_configs(self) -> tuple[str, ...]:
        """The ticked configurations in the paper's order."""
        return tuple(name for name in CONFIG_NAMES if self.config_checks[name].isChecked())

    def downstream_settings(self) -> DownstreamSettings:
        """The DownstreamSettings the form describes (DownstreamError when invalid)."""
        settings = DownstreamSettings(
            train_size=self.train_size.value(), val_size=self.val_size.value(), test_size=self.test_size.value(),
            seeds=self.seeds.value(), epochs=self.epochs.value(), patience=self.patience.value(),
            configs=self.selected_configs(),
            input=self.input_combo.currentText(), image_size=int(self.size_combo.currentText()),
        )
        settings.validate()
        return settings

    def start(self) -> bool:
        """Start the experiment with the form's settings; False (with a message) if they are unusable."""
        if self.is_busy():
            return False
        problems = []
        if not self.cifar_edit.text().strip():
            problems.append("choose the CIFAR-10 folder (or tick Download if missing)")
        if not self.encoder_edit.text().strip():
            problems.append("choose the encoder model (a model trained in the Training tab)")
        elif not Path(self.encoder_edit.text().strip()).expanduser().exists():
            problems.append(f"encoder {self.encoder_edit.text().strip()} does not exist")
        if not self.selected_configs():
            problems.append("tick at least one configuration")
        try:
            settings = self.downstream_settings() if self.selected_configs() else None
        except DownstreamError as exc:
            problems.append(error_text(exc, DOWNSTREAM_WORDS))
            settings = None
        if problems:
            self._say("Cannot start: " + "; ".join(problems) + ".")
            return False
        self._save()
        self._next_settings = settings  # the table shown stays until the output folder is accepted
        self._progress = None
        job = downstream_job(settings, self.cifar_edit.text().strip(), self.download_check.isChecked(),
                             self.verify_check.isChecked(), self.encoder_edit.text().strip(),
                             self.out_edit.text().strip(), self.device_combo.device())
        worker = JobWorker(job, JOB_NAME, self, torch_threads=gui_torch_threads())
        worker.epoch_end.connect(self._on_epoch)
        worker.progress.connect(self._on_progress)
        worker.event.connect(self._on_event)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setFormat(PROGRESS_FORMAT.format("loading"))
        self.job_progress.emit(JOB_NAME, 0, 0)
        self._say("Loading CIFAR-10 and the encoder...")
        worker.start()
        self._update_state()
        return True

    def stop(self) -> None:
        """Stop after the current epoch (finished configurations are kept and resumed next time)."""
        if self._worker is not None:
            self._worker.stop()
            self._say("Stopping after the current epoch...")

    def open_results(self, folder: str) -> bool:
        """Show the table and curves an earlier run wrote to `folder` (False, with a message, when it
        holds none); the form takes that run's settings, so Run resumes it."""
        try:
            results = ResultsFolder.load(folder)
        except DownstreamError as exc:
            self._say(f"No experiment results to show: {error_text(exc, DOWNSTREAM_WORDS)}")
            return False
        if self.is_busy():
            return False
        settings = results.settings
        self.set_output_dir(str(results.folder))
        self.set_sizes(train=settings.train_size, val=settings.val_size, test=settings.test_size,
                       seeds=settings.seeds, epochs=settings.epochs, patience=settings.patience)
        self.input_combo.setCurrentText(settings.input)
        self.size_combo.setCurrentText(str(settings.image_size))
        self.set_configs(list(settings.configs))
        if results.config.encoder_path:
            self.encoder_edit.setText(results.config.encoder_path)
        if results.config.cifar_root is not None:
            self.cifar_edit.setText(str(results.config.cifar_root))
        self._run_settings = settings
        self._reset_table()
        self._clear_curves()
        for run in results.runs:
            self._seed_runs.setdefault(run.config, []).append(run)
            for point in results.curves.get((run.config, run.seed), ()):
                self._add_point(run.config, run.seed, float(point.epoch), point.val_acc)
        self._set_rows(self._summary_rows())
        self._update_state()
        count = len(results.runs)
        unread = f" {len(results.curve_problems)} curve file(s) could not be read." if results.curve_problems else ""
        self._say(f"Showing {count} finished run{'s' if count != 1 else ''} from {results.folder}.{unread}")
        return True

    def result_rows(self) -> list[dict[str, Any]]:
        """The finished configurations' result rows (results.csv columns), in table order."""
        return [self._rows[name] for name in self._table_configs() if name in self._rows]

    def export(self, path: str, fmt: str) -> None:
        """Write the table as CSV (`fmt` "csv") or Markdown ("md") atomically."""
        rows = self.result_rows()
        if not rows:
            raise ValueError("no finished configuration to export yet")
        text = results_csv(rows) if fmt == "csv" else markdown_table(rows, self._run_settings or self.downstream_settings())
        atomic_write_text(Path(path), text)
        self._say(f"Saved the table to {path}.")

    def is_busy(self) -> bool:
        """True while the experiment runs."""
        return self._worker is not None and self._worker.is_running()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop the experiment and wait for its thread."""
        if self._worker is not None:
            self._worker.stop_and_wait(timeout_ms)

    # --- events ----------------------------------------------------------------------------------
    def _begin_results(self) -> None:
        """The engine accepted the output folder: the table and curves now show this run."""
        if self._next_settings is None:
            return
        self._run_settings, self._next_settings = self._next_settings, None
        self._reset_table()
        self._clear_curves()

    def _on_epoch(self, event: Any) -> None:
        self._begin_results()
        config, seed = getattr(event, "config", None), getattr(event, "seed", 0)
        accuracy = event.metrics.get("val_acc", math.nan)
        if config is None or math.isnan(accuracy):
            return
        self._add_point(config, seed, float(event.epoch), float(accuracy))

    def _add_point(self, config: str, seed: int, epoch: float, accuracy: float) -> None:
        key = (config, seed)
        if key not in self._curves:
            colours = plot_colours().curves
            colour = colours[CONFIG_NAMES.index(config) % len(colours)] if config in CONFIG_NAMES else colours[0]
            first_of_config = not any(c == config for c, _ in self._curves)
            item = self.plot.plot([], [], pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5,
                                  symbolBrush=colour, name=config_label(config) if first_of_config else None)
            self._curves[key] = (item, [], [])
        item, xs, ys = self._curves[key]
        xs.append(epoch)
        ys.append(accuracy)
        item.setData(xs, ys)

    def _on_progress(self, event: Any) -> None:
        self._begin_results()
        self._progress = (event.done, event.total)
        self.progress_bar.setRange(0, max(event.total, 1))
        self.progress_bar.setValue(event.done)
        self.progress_bar.setFormat(PROGRESS_FORMAT.format(event.message))
        self.job_progress.emit(JOB_NAME, event.done, event.total)

    def _end_progress(self, status: str) -> None:
        """The bar after the run: the epochs it got through of all it had, and how it ended."""
        done, total = self._progress if self._progress is not None else (0, 0)
        if status == "finished":
            done = total
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)
        self.progress_bar.setFormat(PROGRESS_FORMAT.format(status) if total else status)

    def _on_event(self, hook: str, event: Any) -> None:
        if hook == "on_config_end":
            self._begin_results()
            self._seed_runs[event.config] = list(event.runs)
            self._set_rows(self._summary_rows())
            self._say(f"{event.label}: test {format_mean_std(event.row['test_mean'], event.row['test_std'])} %"
                      + (" (from an earlier session)" if event.resumed else ""))
            self._update_state()

    def _on_finished(self, result: object, error: object) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.wait()  # its thread ends right after `finished`; never delete a running QThread
            worker.deleteLater()
        self.job_progress.emit("", 0, 0)
        if error is not None:
            self._next_settings = None  # a run that never got going leaves the table as it was
            self._end_progress("failed")
            self._say(f"The experiment failed: {error_text(error, DOWNSTREAM_WORDS)}")
        else:
            self._begin_results()
            if getattr(result, "rows", None):
                self._set_rows(result.rows)
            status = getattr(result, "status", "finished")
            where = getattr(result, "out_dir", self.out_edit.text())
            self._end_progress(status)
            self._say(f"Experiment {status}; results in {where}"
                      + (" (Run again with the same folder to resume)." if status == "stopped" else "."))
        self._update_state()

    # --- table and curves ------------------------------------------------------------------------
    def _table_configs(self) -> list[str]:
        return list(self._run_settings.configs if self._run_settings is not None else self.selected_configs())

    def _reset_table(self) -> None:
        self._rows.clear()
        self._seed_runs.clear()
        configs = self._table_configs()
        self.table.setRowCount(len(configs))
        for row, name in enumerate(configs):
            self.table.setItem(row, 0, QTableWidgetItem(config_label(name)))
            for col in range(1, len(TABLE_COLUMNS)):
                self.table.setItem(row, col, QTableWidgetItem(""))
            paper = self._paper.get(name, {})
            for offset, split in enumerate(SPLITS):
                value = paper.get(split)
                self.table.item(row, COL_PAPER + offset).setText(f"{value:.2f}" if value is not None else "")
        self._update_state()

    def _summary_rows(self) -> list[dict[str, Any]]:
        """Rows for every finished configuration; the paired difference to scratch needs scratch's
        seeds, so rows finished before scratch are recomputed when it finishes."""
        settings = self._run_settings
        runs = [run for config_runs in self._seed_runs.values() for run in config_runs]
        return summarise(runs, settings.configs, settings.seeds, {"rows": self._paper})

    def _set_rows(self, rows: list[dict[str, Any]]) -> None:
        self._rows = {row["config"]: dict(row) for row in rows}
        for config in self._rows:
            self._fill_row(config)

    def _fill_row(self, config: str) -> None:
        configs = self._table_configs()
        if config not in configs:
            return
        row = configs.index(config)
        data = self._rows[config]
        self.table.item(row, COL_SEEDS).setText(str(data.get("seeds", "")))
        for col, split in ((COL_TRAIN, "train"), (COL_VAL, "val"), (COL_TEST, "test")):
            self.table.item(row, col).setText(format_mean_std(data[f"{split}_mean"], data[f"{split}_std"]))
        self.table.item(row, COL_DIFF).setText(format_diff(data.get("test_diff_mean", math.nan),
                                                           data.get("test_diff_low", math.nan),
                                                           data.get("test_diff_high", math.nan)))

    def _clear_curves(self) -> None:
        for item, _, _ in self._curves.values():
            self.plot.removeItem(item)
        self.legend.clear()
        self._curves.clear()

    # --- dialogs and settings --------------------------------------------------------------------
    def _browse_folder(self, edit: QLineEdit, title: str) -> None:
        folder = ask_folder(self, title, dialog_start(edit.text(), str(Path.home())), create=edit is self.out_edit)
        if folder:
            edit.setText(folder)

    def _browse_encoder(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Encoder model", self.encoder_edit.text(),
                                              "Models and checkpoints (*.safetensors *.pt);;All files (*)")
        if path:
            self.encoder_edit.setText(path)

    def _export_dialog(self, fmt: str) -> None:
        suffix = ".csv" if fmt == "csv" else ".md"
        path, _ = QFileDialog.getSaveFileName(self, "Export table", f"table1{suffix}",
                                              "CSV (*.csv)" if fmt == "csv" else "Markdown (*.md)")
        if path:
            try:
                self.export(path, fmt)
            except (OSError, ValueError) as exc:
                self._say(f"Could not export {path}: {exc}")

    def _fields(self) -> dict[str, QLineEdit | QSpinBox]:
        return {"cifar": self.cifar_edit, "encoder": self.encoder_edit, "out": self.out_edit,
                "train": self.train_size, "val": self.val_size, "test": self.test_size,
                "seeds": self.seeds, "max_epochs": self.epochs, "patience": self.patience}

    def _save(self) -> None:
        for key, widget in self._fields().items():
            value = widget.text() if isinstance(widget, QLineEdit) else widget.value()
            self._settings.setValue(SETTINGS_PREFIX + key, value)
        self._settings.setValue(SETTINGS_PREFIX + "configs", ",".join(self.selected_configs()))
        for key, box in self._checks().items():
            self._settings.setValue(SETTINGS_PREFIX + key, "true" if box.isChecked() else "false")

    def _checks(self) -> dict[str, QCheckBox]:
        return {"verify": self.verify_check, "download": self.download_check}

    def _restore(self) -> None:
        for key, widget in self._fields().items():
            value = self._settings.value(SETTINGS_PREFIX + key)
            if value in (None, ""):
                continue
            if isinstance(widget, QLineEdit):
                widget.setText(str(value))
            else:
                try:
                    widget.setValue(int(value))
                except (TypeError, ValueError):
                    pass
        for key, box in self._checks().items():
            value = self._settings.value(SETTINGS_PREFIX + key)
            if value is not None:
                box.setChecked(str(value).lower() == "true")
        configs = self._settings.value(SETTINGS_PREFIX + "configs")
        if configs:
            names = str(configs).split(",")
            for name, box in self.config_checks.items():
                box.setChecked(name in names)
        for box in self.config_checks.values():
            box.toggled.connect(self._on_configs_toggled)

    def _on_configs_toggled(self) -> None:
        if not self.is_busy() and not self._rows:  # results of the last run stay until the next Run
            self._run_settings = None
            self._reset_table()

    def _show_remembered_results(self) -> None:
        out = self.out_edit.text().strip()
        if out and ResultsFolder.exists(out):
            self.open_results(out)

    def _update_state(self) -> None:
        busy = self.is_busy()
        self.settings_box.setEnabled(not busy)  # a run uses the settings it started with
        self.run_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        has_rows = bool(self._rows)
        self.export_csv_button.setEnabled(has_rows)
        self.export_md_button.setEnabled(has_rows)

    def _say(self, text: str) -> None:
        self.message_label.setText(text)
        self.status_message.emit(text)
