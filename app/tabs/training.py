"""Training tab: dataset, model (from the registry), hyperparameters (defaults that learn, or the paper's
values), device, run folder; Start/Pause/Stop/Resume; live loss curves, validation metrics, samples, and
a plain-language warning when the run is not learning."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.devices import detected_devices, gui_torch_threads
from app.tabs import advice_text, ask_folder, dialog_start, last_folder, remember_folder, show_error
from app.theme import PlotColours
from app.widgets.image_view import ImageView
from app.widgets.option_controls import OptionControl
from app.widgets.plots import LossPlot, MetricsPlot
from app.workers import JobWorker
from colorcore.core.options import OptionSpec, field_default
from colorcore.training.presets import FINETUNE_LR_SCALE, EpochSchedule, epoch_schedule, finetune_rates
from colorcore.training.runs import LOSS_PREFIX, START_EPOCH, RunFolder, fresh_run_folder, is_unused_folder
from colorcore.training.config import TrainConfig

JOB_NAME = "Training"
SETTINGS_GROUP = "training"
OPTION_COLUMNS = 2  # model options side by side in each row of the form
# the form's values come from the engine's declarations: the run's from TrainConfig's defaults, the
# model's from its declared options (`ColorModel.declared_options`), the learning rates and epochs from
# its preset; docs/hyperparameters.md gives every value's source
PRESET_LABELS = {"default": "Default settings", "paper": "Paper settings"}
STARTING_MODEL_LABEL = "starting model"  # the metrics plot's line for a fine-tuned run's starting score
# the options a run started from the starter model takes from it (the Trainer's ARCHITECTURE_FIELDS)
STARTER_ARCHITECTURE = ("width", "resnet_weights", "finetune_resnet", "trunk")

FAILURE_HINT = "Check the settings and the dataset, then start again (or resume the run)."  # when the engine has none


def format_eta(seconds: float | None) -> str:
    """Like "1 h 05 min", "3 min 20 s" or "12 s"; "-" when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "-"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def training_photos(dataset: str) -> int | None:
    """How many training photos a prepared dataset has (None when it is not a usable one)."""
    from colorcore.data.prepared import DatasetError, load_prepared

    try:
        return len(load_prepared(dataset).split("train"))
    except DatasetError:
        return None


def replacing_job(config: Any, replace: bool):
    """A training job for the worker: `colorcore.training.trainer.train_replacing` (with `replace`, the run
    already in the folder is set aside and removed once the new run has trained, never mixed)."""

    def job(callbacks: list, stop: Any) -> Any:
        from colorcore.training.trainer import train_replacing

        return train_replacing(config, callbacks=callbacks, stop=stop, replace=replace)

    return job


class TrainingTab(QWidget):
    """Drives `colorcore.training.trainer.Trainer` in a worker thread and plots what it reports."""

    status_message = Signal(str)
    job_progress = Signal(str, int, int)
    state_changed = Signal(str)
    run_started = Signal(str)
    colourise_requested = Signal(str)  # a run folder to colourise with

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._worker: JobWorker | None = None
        self._stopping = False
        self._engine_ready = False
        self._pending_run: Path | None = None
        self._last_session_run: Path | None = None  # its curves are drawn once the engine is loaded
        self.last_checkpoint: str | None = None
        self.last_error: Any = None
        self.steps_seen = 0
        self.last_result: Any = None
        self._suggested_run = ""
        self._last_step: Any = None
        self._progress_text = "Not running."
        self._build()
        self._restore_settings()
        if "colorcore.models" in sys.modules:
            self.engine_ready()

    # layout
    def _build(self) -> None:
        def row(*widgets: QWidget) -> QWidget:
            box = QWidget()
            layout = QHBoxLayout(box)
            layout.setContentsMargins(0, 0, 0, 0)
            for widget in widgets:
                layout.addWidget(widget)
            return box

        self.dataset_edit = QLineEdit()
        self.dataset_edit.setPlaceholderText("A prepared dataset folder (Dataset tab)")
        browse_dataset = QPushButton("Browse\u2026")
        browse_dataset.clicked.connect(self._ask_dataset)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Models from the registry; each brings its own losses and learning rates")
        self.model_combo.currentTextChanged.connect(self._on_model_changed)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 100000)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 65536)
        self.max_steps_spin = QSpinBox()
        self.max_steps_spin.setRange(0, 10**9)
        self.max_steps_spin.setSpecialValueText("no limit")
        self.max_steps_spin.setToolTip("Train exactly this many steps, over as many epochs as it takes "
                                       "(no limit: train for the epochs above)")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.epoch_interval_spin = QSpinBox()
        self.epoch_interval_spin.setRange(0, 3600)
        self.epoch_interval_spin.setSuffix(" s")
        self.epoch_interval_spin.setSpecialValueText("epoch")
        self.epoch_interval_spin.setToolTip(
            "Validate and write a checkpoint after every epoch, or, for small photo folders whose epochs "
            "last a step or two, at most every N seconds (the last epoch and Stop always write one)")
        # one control per option any registered model declares, made once the engine is loaded; the
        # chosen model's are shown (`_show_model_options`)
        self.options_box = QWidget()
        self.options_grid = QGridLayout(self.options_box)
        self.options_grid.setContentsMargins(0, 0, 0, 0)
        self._option_controls: dict[str, OptionControl] = {}
        self.starter_box = QCheckBox("From the starter model")
        self.starter_box.setToolTip(
            "Fine-tune the bundled starter model on these photos instead of training from scratch: its "
            "architecture is used (multipath, its width, no ResNet path, shown in the form), the learning "
            f"rates are {FINETUNE_LR_SCALE:g} of the preset's, it is scored on the held-out photos first (a "
            "dashed line in the validation plot) and the run keeps its checkpoint with the best held-out PSNR")
        self.starter_box.toggled.connect(self._on_starter_toggled)
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("Devices detected on this machine")
        self.run_edit = QLineEdit()
        self.run_edit.setPlaceholderText("Folder for this run (checkpoints, curves, samples)")
        self.run_edit.textChanged.connect(self._update_resume_box)
        browse_run = QPushButton("Browse\u2026")
        browse_run.clicked.connect(self._ask_run)
        self.resume_box = QCheckBox("Resume")
        self.resume_box.setToolTip("Continue the run in the run folder from its last checkpoint")
        self.resume_box.setEnabled(False)
        self.preset = "default"
        self.defaults_button = QPushButton(PRESET_LABELS["default"])
        self.defaults_button.setToolTip("Reset the hyperparameters to our defaults for this model: measured to "
                                        "learn at small batches (benchmarks/bench_learning.py, docs/learning.md)")
        self.defaults_button.clicked.connect(lambda: self.apply_preset("default"))
        self.paper_button = QPushButton(PRESET_LABELS["paper"])
        self.paper_button.setToolTip("Reset the hyperparameters to the paper's values for this model where the paper "
                                     "states them (learning rates, batch size, loss weights, the baselines' "
                                     "epochs); what it leaves open stays ours: Adam beta1, the multipath epochs")
        self.paper_button.clicked.connect(lambda: self.apply_preset("paper"))

        form = QFormLayout()
        form.addRow("Dataset", row(self.dataset_edit, browse_dataset))
        form.addRow("Model", self.model_combo)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Max steps", self.max_steps_spin)
        form.addRow("Seed / save every", row(self.seed_spin, self.epoch_interval_spin))
        form.addRow(self.options_box)
        form.addRow("Device", self.device_combo)
        form.addRow("Run folder", row(self.run_edit, browse_run))
        form.addRow("", row(self.resume_box, self.starter_box))
        form.addRow("", row(self.defaults_button, self.paper_button))
        settings_box = QGroupBox("Settings")
        settings_box.setLayout(form)
        self.settings_box = settings_box

        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start_training)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop_training)
        self.progress_label = QLabel(self._progress_text)
        self.progress_label.setWordWrap(True)
        self.colourise_button = QPushButton("Colourise with this model")
        self.colourise_button.setToolTip("Colourise photos with this run's model: opens the Colourise tab with it chosen")
        self.colourise_button.clicked.connect(self.request_colourise)
        self.starting_model_button = QPushButton("Colourise with the starting model")
        self.starting_model_button.setToolTip("This run did not beat the model it started from: colourise with that one")
        self.starting_model_button.clicked.connect(self.request_starting_model)
        self.starting_model_button.setVisible(False)

        left = QVBoxLayout()
        left.addWidget(settings_box)
        left.addWidget(row(self.start_button, self.pause_button, self.stop_button, self.colourise_button))
        left.addWidget(self.progress_label)
        left.addWidget(self.starting_model_button)
        left.addStretch(1)
        left_widget = QWidget()
        left_widget.setLayout(left)

        self.notice_label = QLabel("")
        self.notice_label.setWordWrap(True)
        self.notice_label.setVisible(False)
        self.notice_label.setStyleSheet("QLabel { background: #fff3cd; color: #664d03; padding: 6px; "
                                        "border: 1px solid #ffe69c; border-radius: 4px; }")
        self.loss_plot = LossPlot()
        self.metrics_plot = MetricsPlot(("psnr", "ssim"))
        self.sample_view = ImageView()
        self.sample_view.setMinimumHeight(120)
        samples_box = QGroupBox("Latest samples (gray | fake | real)")
        QVBoxLayout(samples_box).addWidget(self.sample_view)
        losses_box = QGroupBox("Losses")
        losses_layout = QVBoxLayout(losses_box)
        losses_layout.addWidget(self.notice_label)
        losses_layout.addWidget(self.loss_plot)
        metrics_box = QGroupBox("Validation per epoch")
        QVBoxLayout(metrics_box).addWidget(self.metrics_plot)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(losses_box)
        lower = QSplitter()
        lower.addWidget(metrics_box)
        lower.addWidget(samples_box)
        lower.setSizes([1, 1])
        right.addWidget(lower)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)

        splitter = QSplitter()
        splitter.addWidget(left_widget)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        QVBoxLayout(self).addWidget(splitter)
        self._update_buttons()

    # engine-dependent parts
    def engine_ready(self) -> None:
        """Fill the model and device lists (needs torch; called once the engine is imported)."""
        if self._engine_ready:
            return
        self._engine_ready = True
        from colorcore.models.base import MODEL_REGISTRY, ModelConfig, registered_options

        wanted_model = self.settings.value(f"{SETTINGS_GROUP}/model", field_default(ModelConfig, "name"), type=str)
        self.model_combo.blockSignals(True)
        self.model_combo.addItems(sorted(MODEL_REGISTRY))
        if wanted_model in MODEL_REGISTRY:
            self.model_combo.setCurrentText(wanted_model)
        self.model_combo.blockSignals(False)
        self._make_option_controls(registered_options())
        self._apply_option_defaults(self._model_class())
        self._restore_option_values()
        self._on_model_changed(self.model_combo.currentText(), keep_learning_rates=self._rates_restored)
        self._apply_starter_architecture()
        for name, label in detected_devices():
            self.device_combo.addItem(label, name)
        self._update_buttons()
        self._open_pending_run()
        self._show_last_session_run()

    def _model_class(self) -> Any:
        from colorcore.models.base import MODEL_REGISTRY

        return MODEL_REGISTRY.get(self.model_combo.currentText())

    # the model's options
    def _make_option_controls(self, options: dict[str, dict[str, OptionSpec]]) -> None:
        """One control per declared option (`registered_options()`: name -> {model: spec}), showing its
        first model's default until the chosen model's are applied."""
        specs = [next(iter(by_model.values())) for by_model in options.values()]
        for spec in specs:
            control = OptionControl(spec, self._option_tooltip(spec, specs), self.options_box)
            if spec.default is not None:
                control.set_value(spec.default)
            self._option_controls[spec.name] = control

    @staticmethod
    def _option_tooltip(spec: OptionSpec, specs: list[OptionSpec]) -> str:
        """The option's help in GUI words (the options it names are called by their controls' labels)."""
        labels = {other.name: other.label for other in specs}
        text = spec.help_in(lambda option: f"\u201c{labels.get(option, option.replace('_', ' '))}\u201d")
        return text[:1].upper() + text[1:]

    def option_widget(self, name: str) -> QWidget:
        """The control of a declared model option (e.g. "lambda_l1")."""
        return self._option_controls[name].widget

    @property
    def width_spin(self) -> QSpinBox:
        """The Width control (the models' shared `width` option)."""
        return self.option_widget("width")

    @property
    def resnet_combo(self) -> QComboBox:
        """The ResNet-18 weights control (the multipath model's `resnet_weights` option)."""
        return self.option_widget("resnet_weights")

    def _show_model_options(self, model_class: Any) -> None:
        """Lay out the controls of the options `model_class` takes; hide the others."""
        for control in self._option_controls.values():
            for widget in (control.label, control.widget):
                self.options_grid.removeWidget(widget)
                widget.setVisible(False)
        for index, spec in enumerate(model_class.declared_options()):
            control = self._option_controls[spec.name]
            row, column = divmod(index, OPTION_COLUMNS)
            self.options_grid.addWidget(control.label, row, 2 * column)
            self.options_grid.addWidget(control.widget, row, 2 * column + 1)
            control.label.setVisible(True)
            control.widget.setVisible(True)

    def _apply_option_defaults(self, model_class: Any) -> None:
        """Set the options `model_class` takes to its declared defaults (the preset fills the rest)."""
        if model_class is None:
            return
        for spec in model_class.declared_options():
            if spec.default is not None:
                self._option_controls[spec.name].set_value(spec.default)

    def _on_model_changed(self, name: str, keep_learning_rates: bool = False) -> None:
        model_class = self._model_class() if self._engine_ready else None
        if model_class is None:
            return
        self.loss_plot.set_loss_names(model_class.loss_names)
        self._show_model_options(model_class)
        if not keep_learning_rates:
            self._set_learning_rates(model_class)

    def _set_learning_rates(self, model_class: Any) -> None:
        """The epochs and the options the preset fills in (learning rates, beta1...); fine-tuning from
        the starter model scales the learning rates as the engine does (`presets.finetune_rates`)."""
        self.epochs_spin.setValue(model_class.preset_epochs(self.preset))
        values = model_class.preset_values(self.preset)
        if self.starter_box.isChecked():
            values.update(finetune_rates(values))
        for key, value in values.items():
            if key in self._option_controls:
                self._option_controls[key].set_value(value)

    @staticmethod
    def starter_config() -> dict[str, Any]:
        """The starter model's architecture ({} when this installation lacks it)."""
        from colorcore.models.checkpoint import ModelFileError, read_metadata
        from colorcore.models.settings import starter_model_path

        from colorcore.models.base import ModelConfig

        try:
            config = read_metadata(starter_model_path()).get("model_config")
            return ModelConfig.from_dict(config).to_dict()  # with the options the file leaves at their defaults
        except (ModelFileError, FileNotFoundError, AttributeError, TypeError, ValueError):
            return {}

    def _on_starter_toggled(self, checked: bool) -> None:
        if not self._engine_ready:
            return
        if not checked:  # back to training from scratch: the model's own defaults
            self._apply_option_defaults(self._model_class())
        self._apply_starter_architecture()
        self._set_learning_rates(self._model_class())

    def _apply_starter_architecture(self) -> None:
        """With "From the starter model": show the architecture that trains (the starter's model, width and
        ResNet path) and lock those controls; without it, unlock them."""
        starter = self.starter_config() if self.starter_box.isChecked() and self._engine_ready else {}
        locked = bool(starter) and self.state() == "idle"
        if starter and self.model_combo.currentText() != starter.get("name"):
            self.model_combo.setCurrentText(str(starter.get("name")))
        for name in STARTER_ARCHITECTURE:
            control = self._option_controls.get(name)
            if control is None:
                continue
            if starter.get(name) is not None:
                control.set_value(starter[name])
            control.widget.setEnabled(not locked and self.state() == "idle")
        self.model_combo.setEnabled(not locked and self.state() == "idle")

    def apply_preset(self, preset: str, announce: bool = True) -> None:
        """Set every hyperparameter to `preset`'s values ("default" or "paper") for the chosen model."""
        self.preset = preset
        self.batch_spin.setValue(field_default(TrainConfig, "batch_size"))
        self.seed_spin.setValue(field_default(TrainConfig, "seed"))
        self.max_steps_spin.setValue(field_default(TrainConfig, "max_steps") or 0)  # 0: "no limit"
        model_class = self._model_class() if self._engine_ready else None
        if model_class is not None:
            self._apply_option_defaults(model_class)
            self._apply_starter_architecture()
            self._set_learning_rates(model_class)
        if announce:
            self.status_message.emit(f"{PRESET_LABELS[preset]} applied")

    # settings
    _SPINS = (
        ("epochs", "epochs_spin"), ("batch_size", "batch_spin"), ("max_steps", "max_steps_spin"),
        ("seed", "seed_spin"), ("min_epoch_interval_s", "epoch_interval_spin"),
    )

    def _restore_settings(self) -> None:
        s, g = self.settings, SETTINGS_GROUP
        self.apply_preset(s.value(f"{g}/preset", "default", type=str) if s.value(f"{g}/preset") in PRESET_LABELS
                          else "default", announce=False)
        self._rates_restored = s.value(f"{g}/lr_g") is not None  # else the preset's, once the engine is loaded
        for key, attr in self._SPINS:
            box = getattr(self, attr)
            value = s.value(f"{g}/{key}")
            if value is not None:
                box.setValue(type(box.value())(value))
        self.starter_box.setChecked(s.value(f"{g}/init_starter", False, type=bool))
        self.dataset_edit.setText(s.value(f"{g}/dataset", "", type=str))
        self.run_edit.setText(s.value(f"{g}/run", "", type=str))
        run = Path(self.run_edit.text())
        if self.run_edit.text() and RunFolder(run).is_run():
            self._last_session_run = run

    def _restore_option_values(self) -> None:
        """The model options remembered by `save_settings` (once their controls exist)."""
        s, g = self.settings, SETTINGS_GROUP
        for name, control in self._option_controls.items():
            key = f"{g}/{name}"
            if s.value(key) is None:
                continue
            kind = control.spec.kind
            try:
                control.set_value(s.value(key, type=bool) if kind is bool else kind(s.value(key)))
            except (TypeError, ValueError):
                continue  # a remembered value this version cannot read: the default stays

    def save_settings(self) -> None:
        """Remember the form."""
        s, g = self.settings, SETTINGS_GROUP
        for key, attr in self._SPINS:
            s.setValue(f"{g}/{key}", getattr(self, attr).value())
        for name, control in self._option_controls.items():
            s.setValue(f"{g}/{name}", control.value())
        s.setValue(f"{g}/preset", self.preset)
        s.setValue(f"{g}/init_starter", self.starter_box.isChecked())
        s.setValue(f"{g}/dataset", self.dataset_edit.text())
        s.setValue(f"{g}/run", self.run_edit.text())
        if self.model_combo.currentText():
            s.setValue(f"{g}/model", self.model_combo.currentText())

    # folders
    def _ask_dataset(self) -> None:
        start = dialog_start(self.dataset_edit.text(), last_folder(self.settings, "dataset"))
        path = QFileDialog.getExistingDirectory(self, "Prepared dataset", start)
        if path:
            self.set_dataset(path)

    def _ask_run(self) -> None:
        path = ask_folder(self, "Run folder", dialog_start(self.run_edit.text(), last_folder(self.settings, "run")),
                          create=True)
        if path:
            self.run_edit.setText(path)
            remember_folder(self.settings, "run", str(Path(path).parent))

    def set_dataset(self, path: str) -> None:
        """Train on this prepared dataset, and suggest a run folder next to it that holds no run yet
        (runs/<dataset>, runs/<dataset>-2, ...) unless the user chose one."""
        if self.is_busy():
            return
        self.dataset_edit.setText(path)
        current = self.run_edit.text().strip()
        other_run = bool(current) and RunFolder(current).is_run() and not self._same_dataset(RunFolder(current), path)
        if not current or current == self._suggested_run or other_run:
            self._suggested_run = str(fresh_run_folder(Path(path).parent / "runs" / Path(path).name))
            self.run_edit.setText(self._suggested_run)

    @staticmethod
    def _same_dataset(run: RunFolder, dataset: str) -> bool:
        trained_on = run.trained_on()
        return trained_on is not None and trained_on.resolve() == Path(dataset).resolve()

    def set_resume_run(self, path: str) -> None:
        """Offer to resume the run in `path` (a run folder, or a model file or checkpoint in one): fill
        the form from its recorded settings and show its curves (once the engine is loaded)."""
        if self.is_busy():
            return
        run = Path(path)
        if run.is_file():
            containing = RunFolder.containing(run)
            run = containing.path if containing is not None else run.parent
        self.run_edit.setText(str(run))
        self._pending_run = run
        if self._engine_ready:
            self._open_pending_run()

    def _open_pending_run(self) -> None:
        run, self._pending_run = self._pending_run, None
        if run is None:
            return
        self.apply_run(RunFolder(run))
        self._update_resume_box()
        self.load_history(run)

    def _show_last_session_run(self) -> None:
        """Draw the curves of the run the last session ended with (the form stays as it was left)."""
        run, self._last_session_run = self._last_session_run, None
        if run is not None and not self.is_busy() and self.run_edit.text() == str(run):
            self.load_history(run)

    def apply_run(self, run: RunFolder) -> None:
        """Fill the form from a run's recorded settings (left as it is when they cannot be read)."""
        config = run.train_config()
        if config is None:
            return
        dataset = run.trained_on()
        if dataset is not None:
            self.dataset_edit.setText(str(dataset))
        model = config.model
        self.model_combo.setCurrentText(model.name)
        if model.preset in PRESET_LABELS:
            self.preset = model.preset
        values = {"epochs": config.epochs, "batch_size": config.batch_size, "max_steps": config.max_steps or 0,
                  "seed": config.seed}
        for key, attr in self._SPINS:
            value = values.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                getattr(self, attr).setValue(value)
        used = run.hyperparameters()  # what the preset gave the options the run left unset
        recorded = model.to_dict()
        model_class = self._model_class()
        for spec in model_class.declared_options() if model_class is not None else ():
            value = recorded.get(spec.name)
            value = used.get(spec.name) if value is None else value
            if value is not None:
                self._option_controls[spec.name].set_value(value)

    def load_history(self, run: Path) -> None:
        """Draw the curves, metrics and latest samples already logged in a run folder."""
        folder = RunFolder(run)
        steps, evaluations = folder.steps(), folder.evaluations()
        self.loss_plot.clear()
        self.metrics_plot.clear()
        for record in steps:
            self.loss_plot.add_point(record.step, record.losses)
        for evaluation in evaluations:
            if evaluation.epoch == START_EPOCH:
                self.metrics_plot.set_reference(evaluation.metrics, STARTING_MODEL_LABEL)
            else:
                self.metrics_plot.add_epoch(evaluation.epoch + 1, evaluation.metrics)
        self._show_latest_samples(folder)
        if steps:
            psnr = evaluations[-1].metrics.get("psnr") if evaluations else None
            self._progress_text = (f"Run {run.name}: step {steps[-1].step}, {len(evaluations)} epoch(s) evaluated"
                                   + (f", PSNR {psnr:.2f} dB" if psnr is not None else ""))
            self.progress_label.setText(self._progress_text)

    def _show_latest_samples(self, run: RunFolder) -> None:
        from colorcore.data.imageio import ImageReadError, read_image

        grid = run.latest_samples()
        if grid is None:
            return
        try:
            self.sample_view.set_image(read_image(grid))
        except ImageReadError as exc:
            self.status_message.emit(f"Cannot show {grid}: {exc.reason}")

    def _update_resume_box(self) -> None:
        text = self.run_edit.text().strip()
        run = RunFolder(text) if text else None
        resumable = run is not None and run.can_resume()
        self.resume_box.setEnabled(resumable and not self.is_busy())
        self.resume_box.setChecked(resumable)
        self.colourise_button.setEnabled(not self.is_busy() and run is not None and run.model_file() is not None)

    # running
    def state(self) -> str:
        """"idle", "running", "paused" or "stopping"."""
        if not self.is_busy():
            return "idle"
        if self._stopping:
            return "stopping"
        return "paused" if self._worker.is_paused() else "running"

    def is_busy(self) -> bool:
        """True while a training run is going (including pausing and stopping)."""
        return self._worker is not None and self._worker.is_running()

    def epoch_schedule(self) -> EpochSchedule:
        """The engine's end-of-epoch schedule for the chosen dataset and batch size (`presets.epoch_schedule`):
        short epochs validate and save at most every 30 s unless "save every" is set, and keep only the last
        checkpoint."""
        interval = float(self.epoch_interval_spin.value())
        return epoch_schedule(training_photos(self.dataset_edit.text().strip()), self.batch_spin.value(),
                              interval or None)

    def train_config(self) -> Any:
        """The `TrainConfig` the form describes, with the engine's end-of-epoch schedule (`epoch_schedule`)."""
        from colorcore.models.base import ModelConfig

        options = {}
        for spec in self._model_class().declared_options():
            value = self._option_controls[spec.name].value()
            problem = spec.problem(value)
            if problem:
                raise ValueError(f"{spec.label} {problem}")
            options[spec.name] = value
        model = ModelConfig(name=self.model_combo.currentText(), preset=self.preset, **options)
        schedule = self.epoch_schedule()
        values = {
            "data": self.dataset_edit.text().strip(),
            "run_dir": self.run_edit.text().strip(),
            "model": model,
            "epochs": self.epochs_spin.value(),
            "batch_size": self.batch_spin.value(),
            "max_steps": self.max_steps_spin.value() or None,
            "seed": self.seed_spin.value(),
            "min_epoch_interval_s": schedule.min_epoch_interval_s,
            "keep_checkpoints": schedule.keep_checkpoints,
            "device": self.device_combo.currentData() or "cpu",
            "resume": self.resume_box.isChecked(),
            "init": "starter" if self.starter_box.isChecked() and not self.resume_box.isChecked() else None,
        }
        return TrainConfig(**values)

    def _choose_run_folder(self, run: str) -> tuple[str, bool] | None:
        """For a new run: the folder to write it into and whether the run there is replaced; None
        when the user cancels. A folder holding a run (or anything else) is never written into
        without asking: a fresh folder next to it is offered first."""
        folder = Path(run)
        if is_unused_folder(folder):
            return run, False
        fresh = fresh_run_folder(folder)
        is_run = RunFolder(folder).is_run()
        box = QMessageBox(QMessageBox.Icon.Question, "Start training",
                          f"{folder} already holds {'a training run' if is_run else 'other files'}.", parent=self)
        box.setInformativeText(
            f"Start the new run in {fresh.name} next to it"
            + (", replace the old run (its checkpoints, curves and samples are deleted)," if is_run else "")
            + " or cancel? To continue the old run instead, cancel and tick Resume.")
        use_fresh = box.addButton(f"Start in {fresh.name}", QMessageBox.ButtonRole.AcceptRole)
        replace = box.addButton("Replace the old run", QMessageBox.ButtonRole.DestructiveRole) if is_run else None
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(use_fresh)
        box.exec()
        clicked = box.clickedButton()
        if clicked is use_fresh:
            self.run_edit.setText(str(fresh))
            return str(fresh), False
        if replace is not None and clicked is replace:
            return run, True
        return None

    def start_training(self) -> bool:
        """Start (or resume) a run with the form's settings in a worker thread."""
        from colorcore.data.prepared import is_prepared_dataset

        if self.is_busy() or not self._engine_ready:
            return False
        dataset, run = self.dataset_edit.text().strip(), self.run_edit.text().strip()
        if not dataset or not is_prepared_dataset(dataset):
            show_error(self, "Start training", f"Not a prepared dataset: {dataset or '(none chosen)'}",
                       "Prepare one in the Dataset tab or choose its folder.")
            return False
        if not run:
            show_error(self, "Start training", "No run folder chosen.", "Choose where checkpoints and curves go.")
            return False
        resuming = self.resume_box.isChecked()
        replace = False
        if not resuming:
            chosen = self._choose_run_folder(run)
            if chosen is None:
                return False
            run, replace = chosen
        try:
            config = self.train_config()
        except (TypeError, ValueError) as exc:
            show_error(self, "Start training", f"These settings cannot be used: {exc}", "")
            return False
        self.save_settings()
        if resuming:
            self.load_history(Path(run))
        else:
            self._on_model_changed(self.model_combo.currentText(), keep_learning_rates=True)
            self.loss_plot.clear()
            self.metrics_plot.clear()
            self.sample_view.set_image(None)
        self.last_error = None
        self.last_result = None
        self.last_checkpoint = None
        self.notice_label.setVisible(False)
        self.starting_model_button.setVisible(False)
        self.steps_seen = 0
        self._last_step = None
        self._progress_text = "Resuming\u2026" if resuming else "Starting\u2026"
        steps = self.epoch_schedule().short_steps
        if steps is not None and self.epoch_interval_spin.value() == 0:
            self._progress_text += (f"<br><small>Small photo folder: an epoch is {steps} step{'s' if steps != 1 else ''}, "
                                    f"so validation and the checkpoint run at most every "
                                    f"{config.min_epoch_interval_s:.0f} s (set \u201csave every\u201d to change it); "
                                    "only the last checkpoint is kept.</small>")

        threads = gui_torch_threads() if str(self.device_combo.currentData() or "cpu") == "cpu" else None
        self._worker = JobWorker(replacing_job(config, replace), JOB_NAME, self, torch_threads=threads)
        self._worker.step.connect(self._on_step)
        self._worker.epoch_end.connect(self._on_epoch_end)
        self._worker.samples.connect(self._on_samples)
        self._worker.checkpoint.connect(self._on_checkpoint)
        self._worker.error.connect(self._on_error)
        self._worker.notice.connect(self._on_notice)
        self._worker.end.connect(self._on_end)
        self._worker.finished.connect(self._on_finished)
        self._stopping = False
        self._worker.start()
        self.progress_label.setText(self._progress_text)
        self.job_progress.emit(JOB_NAME, 0, 0)
        self.status_message.emit(f"Training started: {run}" + (" (the old run there is replaced)" if replace else ""))
        self.run_started.emit(run)
        self._update_buttons()
        return True

    def toggle_pause(self) -> None:
        """Pause a running run, or resume a paused one."""
        if not self.is_busy() or self._stopping:
            return
        if self._worker.is_paused():
            self._worker.resume()
            self._progress_text = self._step_text(self._last_step, eta="-") if self._last_step else "Resuming\u2026"
            self.progress_label.setText(self._progress_text)
            self.status_message.emit("Training resumed")
        else:
            self._worker.pause()
            where = self._step_text(self._last_step, eta=None) if self._last_step else "Not started yet"
            self.progress_label.setText(f"<b>Paused</b> ({where}).<br>Press Resume to go on.")
            self.status_message.emit("Training paused (it waits at the next step)")
        self._update_buttons()

    def stop_training(self) -> None:
        """Ask the run to stop; it saves a checkpoint first."""
        if not self.is_busy() or self._stopping:
            return
        self._stopping = True
        self._worker.stop()
        self.progress_label.setText(f"{self._progress_text}<br>Stopping, saving a checkpoint\u2026")
        self._update_buttons()

    def request_colourise(self) -> None:
        """Ask the window to colourise with the run in the run folder (the Colourise tab)."""
        run = Path(self.run_edit.text().strip())
        if self.is_busy() or RunFolder(run).model_file() is None:
            return
        self.colourise_requested.emit(str(run))

    def request_starting_model(self) -> None:
        """Ask the window to colourise with the starter model (a fine-tuned run that did not beat it)."""
        from colorcore.models.settings import starter_model_path

        try:
            self.colourise_requested.emit(str(starter_model_path().resolve()))
        except FileNotFoundError as exc:
            self.status_message.emit(str(exc))

    def _update_buttons(self) -> None:
        state = self.state()
        self.start_button.setEnabled(state == "idle" and self._engine_ready)
        self.pause_button.setEnabled(state in ("running", "paused"))
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(state in ("running", "paused"))
        for kind in (QLineEdit, QAbstractSpinBox, QComboBox, QAbstractButton):
            for widget in self.settings_box.findChildren(kind):
                widget.setEnabled(state == "idle")  # a run uses the settings it started with
        if state == "idle":
            self._update_resume_box()
            self._apply_starter_architecture()
        else:
            self.resume_box.setEnabled(False)
        if state != "idle":
            self.colourise_button.setEnabled(False)
        self.state_changed.emit(state)

    # engine events (GUI thread)
    def _step_text(self, event: Any, eta: str | None) -> str:
        total = f"/{event.total_steps}" if event.total_steps else ""
        text = f"Step {event.step}{total}, epoch {event.epoch + 1}"
        if eta is not None:
            text += f"<br>{event.img_per_s:.1f} img/s, ETA {eta}"
        return text

    def _on_step(self, event: Any) -> None:
        self.steps_seen += 1
        self._last_step = event
        self.loss_plot.add_point(event.step, {k.removeprefix(LOSS_PREFIX): v for k, v in event.losses.items()})
        self._progress_text = self._step_text(event, format_eta(event.eta_s))
        if self.state() == "paused":
            self.progress_label.setText(f"<b>Paused</b> ({self._step_text(event, None)}).<br>Press Resume to go on.")
        elif not self._stopping:
            self.progress_label.setText(self._progress_text)
        self.job_progress.emit(JOB_NAME, event.step, event.total_steps or 0)

    def _on_epoch_end(self, event: Any) -> None:
        shown = ", ".join(f"{k} {v:.3f}" for k, v in event.metrics.items() if isinstance(v, float) and math.isfinite(v))
        if event.epoch == START_EPOCH:
            self.metrics_plot.set_reference(event.metrics, STARTING_MODEL_LABEL)
            self.status_message.emit("The starting model scored" + (f" {shown}" if shown else " nothing"))
            return
        self.metrics_plot.add_epoch(event.epoch + 1, event.metrics)
        self.status_message.emit(f"Epoch {event.epoch + 1} done" + (f": {shown}" if shown else ""))

    def _on_samples(self, event: Any) -> None:
        self.sample_view.set_image(event.image)

    def _on_checkpoint(self, event: Any) -> None:
        self.last_checkpoint = event.path
        self.status_message.emit(f"Checkpoint saved: {event.path}")

    def _on_error(self, event: Any) -> None:
        self.last_error = event
        hint = advice_text(event.advice, event.suggestion) or FAILURE_HINT
        show_error(self, "Training stopped", event.message,
                   hint + (f"\n\nLast checkpoint: {self.last_checkpoint}" if self.last_checkpoint else ""))

    def _on_notice(self, event: Any) -> None:
        if event.kind == "learning":
            hint = advice_text(event.advice, event.suggestion)
            text = f"<b>Not learning:</b> {event.message}." + (f"<br>Try: {hint}." if hint else "")
            self.notice_label.setText(text)
            self.notice_label.setVisible(True)
        self.status_message.emit(event.message)

    def _on_end(self, event: Any) -> None:
        self.status_message.emit(f"Training {event.status}")

    def ending_text(self, result: Any, error: object, stop_requested: bool) -> str:
        """How the run ended, with the reason, in the tab's words."""
        status = getattr(result, "status", None)  # the Trainer reports its own failures in its result
        if error is not None or status == "failed":
            reason = getattr(result, "error", None) or getattr(self.last_error, "message", None) or str(error or "")
            return f"<b>Training failed</b>: {reason}" if reason else "<b>Training failed.</b>"
        step = getattr(result, "step", None)
        at = f" at step {step}" if step is not None else ""
        if status == "stopped" or stop_requested:
            return f"Training stopped{at}; its checkpoint is saved. Tick Resume and press Start to go on."
        if self.steps_seen == 0 and step:
            return (f"Training finished: nothing left to train, the run had already reached step {step}. "
                    "Raise Epochs or Max steps to train it further.")
        model = getattr(result, "model_file", None)
        return f"Training finished{at}." + (f" {self.comparison_text(result)}" if model else "")

    def comparison_text(self, result: Any) -> str:
        """Which checkpoint the run's model is, and for a fine-tuned run whether it beats its starting
        model (the "Colourise with the starting model" button is offered when it does not)."""
        best = getattr(result, "best", {}) or {}
        start = (getattr(result, "start_metrics", {}) or {}).get("psnr")
        text = (f"Its model is the step {int(best['step'])} checkpoint, the best held-out PSNR "
                f"({best['psnr']:.2f} dB), ready to colourise." if best.get("psnr") is not None
                else "Its model is ready to colourise.")
        if start is None:
            return text
        if best.get("psnr") is None:
            return text + f" The starting model scored {start:.2f} dB; this run has no held-out score yet."
        if best["psnr"] > start:
            return text + (f"<br>It <b>beats the starting model</b>: {best['psnr']:.2f} vs {start:.2f} dB "
                           f"(+{best['psnr'] - start:.2f} dB).")
        self.starting_model_button.setVisible(True)
        return text + (f"<br>It does <b>not beat the starting model</b> ({best['psnr']:.2f} vs {start:.2f} dB "
                       "held-out PSNR): keep colourising with the starting model, or train longer or on more "
                       "photos.")

    def _on_finished(self, result: object, error: object) -> None:
        worker = self._worker
        if worker is not None:
            worker.wait()
        self._stopping = False
        self.last_result = result
        ending = self.ending_text(result, error, worker is not None and worker.stop_flag.stop_requested)
        shown = self._progress_text if self.steps_seen else ""
        self.progress_label.setText(f"{shown}<br>{ending}" if shown else ending)
        self.job_progress.emit("", 0, 0)
        self._update_buttons()

    def apply_colours(self, colours: PlotColours) -> None:
        """Recolour the plots for a light or dark scheme."""
        self.loss_plot.apply_colours(colours)
        self.metrics_plot.apply_colours(colours)

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop a running run (it saves its checkpoint) and wait for its thread."""
        if self._worker is not None:
            self._stopping = True
            self._worker.stop_and_wait(timeout_ms)
