"""The main window: tabs, menus with standard shortcuts, status bar, settings, drops anywhere."""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QTabWidget, QWidget

from app import theme
from app.refcounts import protect_singletons
from app.tabs import Tab, last_folder, remember_folder
from app.tabs.colorize import ColorizeTab
from app.tabs.dataset import DatasetTab
from app.tabs.downstream import DownstreamTab
from app.tabs.results import ResultsTab
from app.tabs.training import TrainingTab
from app.workers import JobWorker

APP_NAME = "ColorCore Studio"
ORGANISATION = "ColorCore"
TAB_TITLES = ("Dataset", "Training", "Results", "Colourise", "Downstream")
RECENT_KEY = "recent/entries"
MAX_RECENT = 10
STATUS_MESSAGE_MS = 6000
STATUS_GAP_PX = 12  # between a status message and the job/device labels on its right
SHUTDOWN_TIMEOUT_MS = 30000
SHUTDOWN_LIMIT_S = 600
SHUTDOWN_POLL_MS = 200
PAPER_REFERENCE = (
    "K. R. Jerripothula and S. Agarwal, \u201cEdge Map and Saliency Map Guided Multi-path GAN based "
    "Image Colourisation and Representation Learning\u201d, IIIT Delhi, 2021."
)
MODEL_FILTER = "Models (*.safetensors *.pt);;All files (*)"


def _load_engine(callbacks: list, stop: object) -> str:
    """Import the engine's heavy modules (torch, the model registry) and describe the device."""
    from app.workers import uncapped_torch_threads
    from colorcore.core.device import describe_device

    return describe_device(cpu_threads=uncapped_torch_threads())


class MainWindow(QMainWindow):
    """ColorCore Studio's window. `settings` holds geometry, last folders and recent files."""

    engine_loaded = Signal(str)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        protect_singletons()  # PySide6 builds that drop references to None/True (app/refcounts.py)
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.device_description = ""
        theme.apply_pyqtgraph_defaults()

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.dataset_tab = DatasetTab(settings)
        self.training_tab = TrainingTab(settings)
        self.results_tab = ResultsTab(settings)
        self.colorize_tab = ColorizeTab(settings)
        self.downstream_tab = DownstreamTab(settings)
        for tab, title in zip(self.all_tabs(), TAB_TITLES):
            self.tabs.addTab(tab, title)
            tab.status_message.connect(self._show_status)
            tab.job_progress.connect(self._show_job)
        self.setCentralWidget(self.tabs)
        self.dataset_tab.dataset_prepared.connect(self._on_dataset_prepared)
        self.training_tab.run_started.connect(lambda path: self.add_recent("run", path))
        self.training_tab.colourise_requested.connect(self.colourise_with)
        self.results_tab.colourise_requested.connect(self.colourise_with)

        self._build_status_bar()
        self._build_menus()
        self._theme_watcher = theme.ThemeWatcher(self)
        self._theme_watcher.changed.connect(self.apply_theme)
        self.apply_theme(theme.is_dark())
        self._restore_settings()

        self._engine_loader = JobWorker(_load_engine, "Loading engine", self)
        self._engine_loader.finished.connect(self._on_engine_loaded)
        self._engine_loader.start()

    # construction
    def all_tabs(self) -> list[Tab]:
        """The five tabs (widgets) in display order."""
        return [self.dataset_tab, self.training_tab, self.results_tab, self.colorize_tab, self.downstream_tab]

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.job_label = QLabel()
        self.job_progress_bar = QProgressBar()
        self.job_progress_bar.setMaximumWidth(220)
        self.job_progress_bar.setTextVisible(True)
        self.device_label = QLabel("Loading engine\u2026")
        self.device_label.setToolTip("Compute device used for training and colourisation")
        bar.addPermanentWidget(self.job_label)
        bar.addPermanentWidget(self.job_progress_bar)
        bar.addPermanentWidget(self.device_label)
        self._show_job("", 0, 0)

    def _action(self, text: str, slot: Any, shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    def _build_menus(self) -> None:
        menu_bar = self.menuBar()
        file_menu = menu_bar.addMenu("&File")
        self.open_model_menu = file_menu.addMenu("Open &model")  # the Colourise tab's Open model... choices
        self.open_model_action = self._action("Model &file (.safetensors, .pt)\u2026", self._ask_open_model,
                                              QKeySequence.StandardKey.Open)
        self.open_model_folder_action = self._action("Training &run folder\u2026", self._ask_open_model_folder)
        self.open_model_menu.addActions([self.open_model_action, self.open_model_folder_action])
        self.open_run_action = self._action("Open &run\u2026", self._ask_open_run, "Ctrl+Shift+O")
        self.open_dataset_action = self._action("Open prepared &dataset\u2026", self._ask_open_dataset, "Ctrl+Shift+D")
        self.open_photos_action = self._action("Open &photos to colourise\u2026", self._ask_open_photos, "Ctrl+Shift+P")
        file_menu.addActions([self.open_run_action, self.open_dataset_action, self.open_photos_action])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        file_menu.addAction(self.quit_action)

        training_menu = menu_bar.addMenu("&Training")
        self.start_action = self._action("&Start", self.training_tab.start_training, "Ctrl+Return")
        self.pause_action = self._action("&Pause / Resume", self.training_tab.toggle_pause, "Ctrl+P")
        self.stop_action = self._action("S&top", self.training_tab.stop_training, "Ctrl+.")
        training_menu.addActions([self.start_action, self.pause_action, self.stop_action])
        self.training_tab.state_changed.connect(self._update_training_actions)
        self._update_training_actions()

        help_menu = menu_bar.addMenu("&Help")
        self.docs_action = self._action("Open &documentation", self.open_documentation, QKeySequence.StandardKey.HelpContents)
        self.about_action = self._action("&About ColorCore Studio", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        help_menu.addActions([self.docs_action, self.about_action])

    # theme, status
    def apply_theme(self, dark: bool) -> None:
        """Recolour the plots for the light or dark scheme."""
        self.training_tab.apply_colours(theme.apply_pyqtgraph_defaults(dark))  # the only tab with themed plots

    def _show_status(self, message: str) -> None:
        """Show a tab's message, cut short (the whole text in the tooltip) so it never
        runs under the job and device labels."""
        bar = self.statusBar()
        bar.setToolTip(message)
        room = self.status_room()
        shown = bar.fontMetrics().elidedText(message, Qt.TextElideMode.ElideMiddle, room) if room > 0 else message
        bar.showMessage(shown, STATUS_MESSAGE_MS)

    def status_room(self) -> int:
        """Pixels a status message may take: up to the first permanent label that is shown."""
        bar = self.statusBar()
        lefts = [w.geometry().left() for w in (self.job_label, self.job_progress_bar, self.device_label)
                 if w.isVisible() and w.geometry().width() > 0]
        return (min(lefts) if lefts else bar.width()) - STATUS_GAP_PX - bar.layout().contentsMargins().left()

    def _show_job(self, name: str, done: int, total: int) -> None:
        self.job_label.setText(name)
        self.job_label.setVisible(bool(name))
        self.job_progress_bar.setVisible(bool(name))
        self.job_progress_bar.setRange(0, max(total, 0))
        if total > 0:
            self.job_progress_bar.setValue(min(done, total))

    def _on_engine_loaded(self, description: object, error: object) -> None:
        if error is not None:
            self.device_description = "engine failed to load"
            self.device_label.setText(f"Engine failed to load: {error}")
        else:
            self.device_description = str(description)
            self.device_label.setText(self.device_description)
        if error is None:
            for tab in (self.training_tab, self.results_tab, self.colorize_tab, self.downstream_tab):
                tab.engine_ready()  # the tabs that use the engine (the Dataset tab runs without torch)
        self.engine_loaded.emit(self.device_description)

    def is_engine_loaded(self) -> bool:
        """True once the engine (torch, model registry) is imported and the device is known."""
        return bool(self.device_description)

    def _update_training_actions(self) -> None:
        state = self.training_tab.state()
        self.start_action.setEnabled(state == "idle")
        self.pause_action.setEnabled(state in ("running", "paused"))
        self.stop_action.setEnabled(state in ("running", "paused"))

    # opening things
    def open_model(self, path: str) -> bool:
        """Choose a model file, checkpoint or run folder in the Colourise tab and show its run in the
        Results tab; False when the Colourise tab refused it (its message says why)."""
        self.tabs.setCurrentWidget(self.colorize_tab)
        self.colorize_tab.open_model(path)
        chosen = self.colorize_tab.model_path()
        if not chosen or Path(chosen) != Path(path).expanduser().resolve():
            return False
        self.results_tab.open_run(path)
        self.add_recent("model", path)
        return True

    def colourise_with(self, path: str) -> None:
        """Choose a run folder or model file in the Colourise tab and show that tab."""
        self.colorize_tab.open_model(path)
        self.add_recent("model", path)
        self.tabs.setCurrentWidget(self.colorize_tab)

    def open_run(self, path: str) -> None:
        """Show a run folder in the Results tab and offer it for resuming in the Training tab."""
        self.results_tab.open_run(path)
        self.training_tab.set_resume_run(path)
        self.add_recent("run", path)
        self.tabs.setCurrentWidget(self.results_tab)

    def open_dataset(self, path: str) -> None:
        """Show a prepared dataset's summary (Dataset tab) and its images (Results tab)."""
        if self.dataset_tab.open_prepared(path):
            self.results_tab.open_dataset(path)
            self.training_tab.set_dataset(path)
            self.add_recent("dataset", path)
            self.tabs.setCurrentWidget(self.dataset_tab)

    def _ask_open_photos(self) -> None:
        """File > Open photos...: the Colourise tab's file dialog, with that tab shown."""
        self.tabs.setCurrentWidget(self.colorize_tab)
        self.colorize_tab.open_photos_dialog()

    def _on_dataset_prepared(self, path: str) -> None:
        self.training_tab.set_dataset(path)
        self.results_tab.open_dataset(path)
        self.add_recent("dataset", path)

    def _ask_open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", last_folder(self.settings, "model"), MODEL_FILTER)
        if path:
            remember_folder(self.settings, "model", path)
            self.open_model(path)

    def _ask_open_model_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a training run's folder", last_folder(self.settings, "run"))
        if path:
            remember_folder(self.settings, "run", str(Path(path).parent))
            self.open_model(path)

    def _ask_open_run(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open run folder", last_folder(self.settings, "run"))
        if path:
            remember_folder(self.settings, "run", str(Path(path).parent))
            self.open_run(path)

    def _ask_open_dataset(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open prepared dataset", last_folder(self.settings, "dataset"))
        if path:
            remember_folder(self.settings, "dataset", str(Path(path).parent))
            self.open_dataset(path)

    # recent files
    def recent_entries(self) -> list[tuple[str, str]]:
        """(kind, path) pairs, most recent first; kind is "model", "run" or "dataset"."""
        raw = self.settings.value(RECENT_KEY, "[]", type=str)
        try:
            entries = json.loads(raw)
        except json.JSONDecodeError:
            return []
        return [(str(kind), str(path)) for kind, path in entries if kind in ("model", "run", "dataset")]

    def add_recent(self, kind: str, path: str) -> None:
        """Put `path` first in the recent list."""
        path = str(Path(path).resolve())
        entries = [(k, p) for k, p in self.recent_entries() if p != path]
        entries.insert(0, (kind, path))
        self.settings.setValue(RECENT_KEY, json.dumps(entries[:MAX_RECENT]))

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        openers = {"model": self.open_model, "run": self.open_run, "dataset": self.open_dataset}
        entries = [(k, p) for k, p in self.recent_entries() if Path(p).exists()]
        for kind, path in entries:
            action = self.recent_menu.addAction(f"{Path(path).name}  ({kind})")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, k=kind, p=path: openers[k](p))
        if not entries:
            self.recent_menu.addAction("No recent files").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", lambda: self.settings.setValue(RECENT_KEY, "[]"))

    # drops
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt name)
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt name)
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        self.tabs.setCurrentWidget(self.colorize_tab)
        self.colorize_tab.add_paths(paths)

    # help
    def open_documentation(self) -> bool:
        """Open the README (next to the `app` package, or in a frozen build's folder); say so when
        this installation has none."""
        roots = [Path(__file__).resolve().parent.parent, Path(getattr(sys, "_MEIPASS", "") or ".").resolve()]
        readme = next((root / "README.md" for root in roots if (root / "README.md").is_file()), None)
        if readme is None:
            self._show_status("This installation has no README.md; see the project's source distribution.")
            return False
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(readme))):
            return True
        self._show_status(f"No program to open documents was found on this system; the documentation is {readme}")
        return False

    def about_text(self) -> str:
        """The About box's text: versions and the paper reference."""
        import numpy
        import pyqtgraph
        import PySide6
        from PySide6.QtCore import qVersion

        from colorcore import __version__

        versions = [
            f"ColorCore Studio {__version__}",
            f"Python {platform.python_version()}",
            f"PySide6 {PySide6.__version__} (Qt {qVersion()})",
            f"pyqtgraph {pyqtgraph.__version__}",
            f"NumPy {numpy.__version__}",
        ]
        for module, label in (("torch", "PyTorch"), ("cv2", "OpenCV")):
            if module in sys.modules:
                versions.append(f"{label} {sys.modules[module].__version__}")
        device = self.device_description or "detecting\u2026"
        return (
            "<h3>ColorCore Studio</h3><p>Edge- and saliency-guided multi-path GAN image colourisation.</p>"
            f"<p>{'<br>'.join(versions)}<br>Device: {device}</p>"
            f"<p><i>Paper:</i> {PAPER_REFERENCE}</p>"
        )

    def show_about(self) -> None:
        """The About box."""
        QMessageBox.about(self, f"About {APP_NAME}", self.about_text())

    # settings and closing
    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 820)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        self.tabs.setCurrentIndex(self.settings.value("window/tab", 0, type=int))

    def save_settings(self) -> None:
        """Write geometry, window state and the current tab."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/tab", self.tabs.currentIndex())
        self.dataset_tab.save_settings()  # the tabs that keep their fields between sessions
        self.training_tab.save_settings()
        self.settings.sync()

    def busy_tabs(self) -> list[str]:
        """Titles of the tabs with a job running."""
        return [title for tab, title in zip(self.all_tabs(), TAB_TITLES) if tab.is_busy()]

    def shutdown(self, timeout_ms: int = SHUTDOWN_TIMEOUT_MS) -> None:
        """Stop every job (training saves its checkpoint) and wait for all worker threads.

        A job still running after `timeout_ms` (e.g. one long CPU step) is waited for further, up
        to SHUTDOWN_LIMIT_S, with the window responsive: a running QThread is never destroyed.
        """
        for tab in self.all_tabs():
            tab.shutdown(timeout_ms)
        deadline = time.monotonic() + SHUTDOWN_LIMIT_S
        while self.busy_tabs() and time.monotonic() < deadline:
            self.statusBar().showMessage(f"Waiting for {', '.join(self.busy_tabs())} to stop\u2026")
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, SHUTDOWN_POLL_MS)
            for tab in self.all_tabs():
                if tab.is_busy():
                    tab.shutdown(SHUTDOWN_POLL_MS)
        self._engine_loader.wait(timeout_ms)

    def quit_question(self) -> str:
        """What quitting now would lose, in words ("" when nothing): each running job's unfinished work
        and the colour edits not applied yet."""
        parts = []
        for tab, title in zip(self.all_tabs(), TAB_TITLES):
            if not tab.is_busy():
                continue
            if tab is self.training_tab:
                parts.append("Training stops: the run saves its last checkpoint first and can be resumed later.")
            elif tab is self.colorize_tab:
                parts.append(f"Colourising stops. {self.colorize_tab.unfinished_work()}".strip())
            else:
                parts.append(f"The {title} job stops.")
        unapplied = self.colorize_tab.unapplied_edits()
        if unapplied:
            parts.append(f"Colour edits not applied to {', '.join(unapplied)} are lost (Apply writes them).")
        return "\n\n".join(parts)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        question = self.quit_question()
        if question:
            answer = QMessageBox.question(
                self,
                "Quit ColorCore Studio?",
                f"{question}\n\nQuit anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            if self.busy_tabs():
                self._show_status("Stopping jobs\u2026")
        self.save_settings()
        self.shutdown(SHUTDOWN_TIMEOUT_MS)
        event.accept()
