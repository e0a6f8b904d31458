"""Colour editing of one colourised photo (hints, a reference photo, saturation) off the GUI thread.

Each photo being edited gets one engine job in a `JobWorker` thread that owns its `ChromaEditor` (the
editor is not thread-safe). The GUI hands it requests through `EditRequests`: preview requests are
coalesced (only the latest waiting one is rendered), reference photos and saves run in order. What
the user asked for is an `EditState`; an `EditHistory` of them gives undo/redo.

Only `colorcore.inference.hints` (torch-free) is imported here at module level: the engine's colour control
module loads torch, so it is imported in the job's thread.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.devices import gui_torch_threads
from app.workers import JobWorker
from colorcore.core.events import StopFlag, emit
from colorcore.inference.hints import Hints, hints_path_for, save_edits
from colorcore.inference.settings import PREVIEW_LONG_SIDE

JOB_NAME = "Colour edit"


@dataclass(frozen=True)
class EditState:
    """What the user asked for on one photo: hints, a reference photo's colours (a
    `colour_control.ReferenceColours`, read in the editor's thread) with its file, and saturation."""

    hints: Hints = field(default_factory=Hints)
    reference: object | None = None
    reference_path: str = ""
    saturation: float = 1.0

    def controls(self) -> object:
        """The engine's `ColourControls` (imports the engine: call it in the editor's thread)."""
        from colorcore.inference.colour_control import ColourControls

        return ColourControls(hints=self.hints, reference=self.reference, saturation=self.saturation)


class EditHistory:
    """Undo/redo of one photo's `EditState`s. Consecutive changes with the same `merge` key (a slider
    being dragged) make one undo step. `saved` is the state its output file was last written with."""

    def __init__(self, state: EditState | None = None) -> None:
        self.current = state or EditState()
        self.saved = self.current
        self._undo: list[EditState] = []
        self._redo: list[EditState] = []
        self._merge: str | None = None

    def push(self, state: EditState, merge: str | None = None) -> bool:
        """Make `state` current (undoable); False when it is the current state already."""
        if state == self.current:
            return False
        if merge is None or merge != self._merge:
            self._undo.append(self.current)
        self._redo.clear()
        self.current = state
        self._merge = merge
        return True

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        """Go back one step; False when there is none."""
        if not self._undo:
            return False
        self._redo.append(self.current)
        self.current = self._undo.pop()
        self._merge = None
        return True

    def redo(self) -> bool:
        """Go forward one undone step; False when there is none."""
        if not self._redo:
            return False
        self._undo.append(self.current)
        self.current = self._redo.pop()
        self._merge = None
        return True

    def fill_reference(self, path: str, colours: object | None) -> bool:
        """Give every state waiting for the reference photo `path` (its path set, its colours not read
        yet: restored from a hints file) its `colours`, or, None, no reference; no undo step, and the
        saved state stays saved. True when a state changed."""
        def filled(state: EditState) -> EditState:
            if state.reference is None and state.reference_path == path:
                return EditState(state.hints, colours, path if colours is not None else "", state.saturation)
            return state

        before = self.current
        self.current, self.saved = filled(self.current), filled(self.saved)
        self._undo, self._redo = [filled(s) for s in self._undo], [filled(s) for s in self._redo]
        return self.current != before


@dataclass(frozen=True)
class ReferenceRequest:
    """Read a reference photo's colours (with `others`, several photos'; `mode` as
    `colour_control.load_reference`); `restore`: for the states restored from a hints file waiting for
    them (`EditHistory.fill_reference`), not a new choice."""

    path: Path
    others: tuple[Path, ...] = ()
    mode: str = "semantic"
    restore: bool = False


@dataclass(frozen=True)
class SaveRequest:
    """Write the full-resolution result of `state` to `out_path` (atomically) with its hints beside it;
    then, if `copy_to` is set, copy both there too."""

    state: EditState
    out_path: Path
    copy_to: Path | None = None


@dataclass(frozen=True)
class EditPreview:
    """A rendered preview (RGB uint8 at the editor's preview size) of `state`."""

    state: EditState
    image: object


@dataclass(frozen=True)
class ReferenceLoaded:
    """A reference photo's colours, or `error` (GUI words naming the file) when it cannot be read."""

    path: Path
    colours: object | None
    error: str = ""
    restore: bool = False


@dataclass(frozen=True)
class EditSaved:
    """A finished `SaveRequest`: `error` is empty when the files were written."""

    request: SaveRequest
    hints_path: Path
    error: str = ""


class EditRequests:
    """The mailbox between the GUI and one editor thread: tasks (reference photos, saves) in order,
    and only the latest preview request (older ones waiting are dropped). Thread-safe."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._tasks: deque[ReferenceRequest | SaveRequest] = deque()
        self._preview: EditState | None = None
        self._closed = False

    def preview(self, state: EditState) -> None:
        """Ask for a preview of `state`, replacing a preview request not started yet."""
        with self._condition:
            self._preview = state
            self._condition.notify()

    def task(self, task: ReferenceRequest | SaveRequest) -> None:
        """Queue a task (run before any waiting preview)."""
        with self._condition:
            self._tasks.append(task)
            self._condition.notify()

    def close(self) -> None:
        """No more requests: waiting tasks still run, previews are dropped, then the thread ends."""
        with self._condition:
            self._closed = True
            self._condition.notify()

    def take(self) -> EditState | ReferenceRequest | SaveRequest | None:
        """The next request (blocking); None once closed and no task is left."""
        with self._condition:
            while not self._tasks and self._preview is None and not self._closed:
                self._condition.wait()
            if self._tasks:
                return self._tasks.popleft()
            if self._closed:
                return None
            state, self._preview = self._preview, None
            return state


def _save(editor: object, photo: Path, request: SaveRequest) -> EditSaved:
    """Render `request`'s state at full size and write it (as `colorize_file` does: atomically, EXIF
    carried from JPEG to JPEG) with its hints beside it; errors in words, naming the file."""
    import shutil

    from colorcore.data import imageio
    from colorcore.core.atomic import atomic_write
    from colorcore.inference.colorize import JPEG_SUFFIXES
    from colorcore.inference.colour_control import saved_edits

    out, hints_path = request.out_path, hints_path_for(request.out_path)
    try:
        result = editor.render_full(request.state.controls())
        jpeg_to_jpeg = photo.suffix.lower() in JPEG_SUFFIXES and out.suffix.lower() in JPEG_SUFFIXES
        imageio.write_image(out, result, exif=imageio.read_exif(photo) if jpeg_to_jpeg else None)
        edits = saved_edits(request.state.controls())
        save_edits(hints_path, edits)
        if request.copy_to is not None:
            with out.open("rb") as source:
                atomic_write(request.copy_to, lambda target: shutil.copyfileobj(source, target))
            save_edits(hints_path_for(request.copy_to), edits)
    except imageio.ImageReadError as exc:
        return EditSaved(request, hints_path, f"{exc.path}: {exc.reason}")
    except (OSError, ValueError, MemoryError) as exc:
        where = getattr(exc, "filename", None) or request.copy_to or out
        return EditSaved(request, hints_path, f"{where}: {getattr(exc, 'strerror', None) or exc}")
    return EditSaved(request, hints_path)


def edit_job(photo: Path, model_path: str, guided: bool, requests: EditRequests):
    """The engine job of one photo's editor: reads the photo (of a video, its middle frame, the one the
    tab previews) and the model, predicts once, then serves `requests` until they are closed. Emits
    `on_preview` (EditPreview), `on_reference` (ReferenceLoaded) and `on_saved` (EditSaved). Raises
    (ending the job) when the photo or the model cannot be read."""

    def job(callbacks: list, stop: StopFlag) -> None:
        from colorcore.data import imageio
        from colorcore.models.checkpoint import load_model
        from colorcore.inference.colour_control import ChromaEditor, load_reference
        from colorcore.models.trunks import TrunkUnavailableError
        from colorcore.inference.video import is_video, probe_video, read_video_frame

        if is_video(photo):
            image = read_video_frame(photo, probe_video(photo).duration_s / 2)
        else:
            image = imageio.read_image(photo, keep_alpha=True)
        editor = ChromaEditor.from_model(image, load_model(model_path, "cpu"), guided=guided,
                                         preview_long_side=PREVIEW_LONG_SIDE)
        while (request := requests.take()) is not None:
            if isinstance(request, EditState):
                emit(callbacks, "on_preview", EditPreview(request, editor.preview(request.controls())))
            elif isinstance(request, ReferenceRequest):
                paths, restore = (request.path, *request.others), request.restore
                try:
                    emit(callbacks, "on_reference", ReferenceLoaded(request.path, load_reference(paths, request.mode),
                                                                    restore=restore))
                except imageio.ImageReadError as exc:
                    emit(callbacks, "on_reference", ReferenceLoaded(request.path, None, f"{exc.path}: {exc.reason}",
                                                                    restore))
                except TrunkUnavailableError as exc:
                    emit(callbacks, "on_reference", ReferenceLoaded(request.path, None, str(exc), restore))
            else:
                emit(callbacks, "on_saved", _save(editor, photo, request))

    return job


class EditSession(QObject):
    """One photo's editor thread (a `JobWorker` running `edit_job`) and its mailbox.

    `preview`, `reference` and `saved` carry the job's events; `failed(message)` fires when the photo
    or the model could not be read; `ended` once its thread has finished.
    """

    preview = Signal(object)
    reference = Signal(object)
    saved = Signal(object)
    failed = Signal(str)
    ended = Signal()

    def __init__(self, key: Path, photo: Path, model_path: str, guided: bool, parent: QObject | None = None) -> None:
        """`key` names the edited result (its output file)."""
        super().__init__(parent)
        self.key = key
        self.photo = photo
        self.requests = EditRequests()
        self.saves_pending = 0
        self._worker = JobWorker(edit_job(photo, model_path, guided, self.requests), JOB_NAME, self,
                                 torch_threads=gui_torch_threads())
        self._worker.event.connect(self._on_event)
        self._worker.finished.connect(self._on_finished)
        self._worker.start()

    def request_preview(self, state: EditState) -> None:
        self.requests.preview(state)

    def load_reference(self, request: ReferenceRequest) -> None:
        self.requests.task(request)

    def save(self, request: SaveRequest) -> None:
        self.saves_pending += 1
        self.requests.task(request)

    def close(self) -> None:
        """Let the thread end after its waiting saves (previews are dropped)."""
        self.requests.close()

    def is_running(self) -> bool:
        return self._worker.is_running()

    def wait(self, timeout_ms: int) -> bool:
        """Close and wait for the thread (True when it has ended)."""
        self.close()
        return self._worker.wait(timeout_ms)

    def _on_event(self, hook: str, event: object) -> None:
        if hook == "on_preview":
            self.preview.emit(event)
        elif hook == "on_reference":
            self.reference.emit(event)
        elif hook == "on_saved":
            self.saves_pending -= 1
            self.saved.emit(event)

    def _on_finished(self, _result: object, error: object) -> None:
        self._worker.wait()  # its thread ends right after `finished`: never delete a running QThread
        if error is not None:
            from colorcore.data.imageio import ImageReadError
            from colorcore.inference.video import VideoError

            known = isinstance(error, (ImageReadError, VideoError))
            why = f"{error.path}: {error.reason}" if known else str(error)
            self.failed.emit(f"Cannot edit the colours of {self.photo.name}: {why}")
        self.ended.emit()
