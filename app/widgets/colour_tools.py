"""The Colourise tab's colour tools: one toolbar row that edits the shown photo's colours with hints,
a reference photo and saturation, previewed live off the GUI thread; Apply writes the full-size
result with its hints beside it. For a video the previewed frame is edited and Apply asks the tab
(`apply_video`) to colour the whole clip again with those controls as a new output."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (QColorDialog, QDoubleSpinBox, QFileDialog, QLabel, QSlider, QToolBar, QWidget)

from app.colour_edit import (EditHistory, EditPreview, EditSaved, EditSession, EditState, ReferenceLoaded,
                             ReferenceRequest, SaveRequest)
from app.tabs import last_folder, remember_folder
from app.widgets.hint_view import EYEDROPPER, PAINT, HintView
from colorcore.inference.hints import Hints, PointHint, SavedEdits, StrokeHint
from colorcore.inference.settings import SATURATION_MAX

COLOUR_KEY = "colorize/hint_colour"
BRUSH_KEY = "colorize/hint_brush"
DEFAULT_COLOUR = "#2050c0"
DEFAULT_BRUSH_PERCENT = 2.0
SATURATION_STEPS = 100  # slider steps per 1.0 of saturation
SHUTDOWN_WAIT_MS = 10000
APPLY_PHOTO_TIP = "Write the full-size result with these colours over its output file, with the hints beside it " \
                  "(NAME.hints.json)"
APPLY_VIDEO_TIP = "Colour the whole video again with these colours as a new file beside it, with the hints beside " \
                  "that (NAME.hints.json): each hint follows what it was placed on in this frame, forward and back"


def swatch(colour: str, size: int = 16) -> QIcon:
    """A square icon filled with `colour`."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


def turn_arrow(colour: QColor, redo: bool, size: int = 16) -> QIcon:
    """The usual undo (a half turn back to the left) or redo (to the right) arrow, drawn in `colour`
    (no icon theme is needed: none is installed on every desktop)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if redo:
        painter.translate(size, 0)
        painter.scale(-1, 1)
    unit = size / 16
    painter.setPen(QPen(colour, 1.8 * unit, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    circle = QRectF(3.5 * unit, 3 * unit, 10 * unit, 10 * unit)
    arc = QPainterPath()
    arc.arcMoveTo(circle, 180)
    arc.arcTo(circle, 180, -220)  # from the left end over the top and down the right
    painter.drawPath(arc)
    head = QPainterPath(QPointF(0.5 * unit, 7 * unit))  # pointing down at the left end
    head.lineTo(QPointF(6.5 * unit, 7 * unit))
    head.lineTo(QPointF(3.5 * unit, 11.5 * unit))
    head.closeSubpath()
    painter.fillPath(head, colour)
    painter.end()
    return QIcon(pixmap)


def eyedropper(colour: QColor, size: int = 16) -> QIcon:
    """The usual eyedropper (a pipette tilted to the lower left, its bulb at the upper right), in `colour`."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    unit = size / 16
    painter.setPen(QPen(colour, 1.6 * unit, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(QPointF(2 * unit, 14 * unit), QPointF(9 * unit, 7 * unit))  # the glass tube
    painter.setPen(QPen(colour, 2.2 * unit, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(QPointF(7 * unit, 5 * unit), QPointF(11 * unit, 9 * unit))  # the collar
    painter.setPen(QPen(colour, 4.0 * unit, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(QPointF(10.5 * unit, 5.5 * unit), QPointF(13 * unit, 3 * unit))  # the bulb
    painter.end()
    return QIcon(pixmap)


REFERENCE_NAME_CHARS = 14  # a longer file name is cut on the button (in full in its tooltip)
REFERENCE_TIP = ("Colour by example: a colour photo whose colours go to the same kind of things in this one "
                 "(sky to sky, grass to grass)")


class ColourToolBar(QToolBar):
    """Hints (paint, eyedropper, colour, brush size, undo/redo, clear), saturation and a reference
    photo for the photo opened with `open_photo` in `view`; `apply_action` (placed by the tab) writes it.

    One `EditSession` (an editor thread) serves the open photo; each change asks it for a new preview
    and only the latest waiting one is rendered. Each photo's undo history is kept while the tab lives.
    `message(text)` reports what happened (errors name the file); `apply_video(key, state)` asks for
    the video whose output is `key` to be coloured again with `state` (an `EditState`).
    """

    message = Signal(str)
    apply_video = Signal(object, object)

    def __init__(self, view: HintView, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__("Colour tools", parent)
        self.view = view
        self._settings = settings
        self._histories: dict[Path, EditHistory] = {}
        self._key: Path | None = None  # the open photo's output file
        self._photo: tuple[Path, str, bool] | None = None  # its input, model, guided
        self._video = False  # the open result is a video (its previewed frame is edited)
        self._session: EditSession | None = None
        self._closing: list[EditSession] = []
        self._requested: EditState | None = None  # the latest preview asked for
        self._shown: EditState | None = None  # the state of the preview on view
        self._colour = str(settings.value(COLOUR_KEY, DEFAULT_COLOUR))
        self._split_before: float | None = None  # the view's before/after split while a tool hides it
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self._build()
        view.point_placed.connect(self.add_point)
        view.stroke_drawn.connect(self.add_stroke)
        view.colour_picked.connect(self._picked)
        self._update_state()

    def _build(self) -> None:
        tools = QActionGroup(self)
        tools.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        self.paint_action = self._action("Hints", "Paint colour hints on the result: click for a point, drag "
                                         "for a stroke (off: drag pans)", self._tool_changed, checkable=True)
        self.eyedropper_action = self._action("Eyedropper", "Eyedropper: pick the hint colour from the result",
                                              self._tool_changed, checkable=True)
        for action in (self.paint_action, self.eyedropper_action):
            tools.addAction(action)
        self.colour_action = self._action("Colour...", "", self.choose_colour)  # its tip says the colour
        self.brush_spin = QDoubleSpinBox()
        self.brush_spin.setRange(0.2, 20.0)
        self.brush_spin.setSingleStep(0.5)
        self.brush_spin.setDecimals(1)
        self.brush_spin.setPrefix("Brush ")
        self.brush_spin.setSuffix(" %")
        self.brush_spin.setValue(float(self._settings.value(BRUSH_KEY, DEFAULT_BRUSH_PERCENT)))
        self.brush_spin.setToolTip("Brush size, as a share of the photo's width")
        self.brush_spin.valueChanged.connect(self._brush_changed)
        self.undo_action = self._action("Undo", "Undo the last colour change (Ctrl+Z)", self.undo)
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = self._action("Redo", "Redo (Ctrl+Shift+Z)", self.redo)
        self.redo_action.setShortcut(QKeySequence("Ctrl+Shift+Z"))
        ink = self.palette().buttonText().color()
        self.undo_action.setIcon(turn_arrow(ink, redo=False))
        self.redo_action.setIcon(turn_arrow(ink, redo=True))
        self.eyedropper_action.setIcon(eyedropper(ink))
        self.clear_action = self._action("Clear", "Remove every hint", self.clear_hints)
        self.saturation_slider = QSlider(Qt.Orientation.Horizontal)
        self.saturation_slider.setRange(0, round(SATURATION_MAX * SATURATION_STEPS))
        self.saturation_slider.setValue(SATURATION_STEPS)
        self.saturation_slider.setFixedWidth(90)
        self.saturation_slider.setToolTip("Saturation: 0 gray, 1 as coloured, 2 most (never past the colours a "
                                          "screen can show)")
        self.saturation_slider.valueChanged.connect(self._saturation_changed)
        self.saturation_label = QLabel("1.00")
        self.reference_action = self._action("Reference...", REFERENCE_TIP,
                                             self._browse_reference)
        self.no_reference_action = self._action("No reference", "No reference: stop using the reference photo",
                                                self.clear_reference)
        self.no_reference_action.setIconText("\u00d7")  # a close cross beside the reference's name
        self.apply_action = self._action("Apply", APPLY_PHOTO_TIP, self.apply)
        for item in (self.paint_action, self.eyedropper_action, self.colour_action, self.brush_spin,
                     self.undo_action, self.redo_action, self.clear_action, None, self.reference_action,
                     self.no_reference_action, None, "Saturation", self.saturation_slider, self.saturation_label):
            if item is None:
                self.addSeparator()
            elif isinstance(item, str):
                self.addWidget(QLabel(f" {item} "))
            elif isinstance(item, QAction):
                self.addAction(item)
            else:
                self.addWidget(item)
        for action in (self.eyedropper_action, self.colour_action, self.undo_action, self.redo_action):  # icons every user knows
            self.widgetForAction(action).setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self._show_colour()

    def _action(self, text: str, tip: str, slot, checkable: bool = False) -> QAction:  # noqa: ANN001
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setCheckable(checkable)
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        (action.toggled if checkable else action.triggered).connect(lambda *_: slot())
        return action

    # --- the open photo --------------------------------------------------------------------------
    def open_photo(self, key: Path, photo: Path, model_path: str, guided: bool, edits: SavedEdits | None = None,
                   *, video: bool = False, state: EditState | None = None) -> None:
        """Edit the result `key` (its output file) of `photo`, colourised by `model_path`; `edits`: the
        hints, reference photos and saturation it was colourised with (from its earlier result's hints
        file; the reference is read again in the editor's thread), or its whole `state`. With `video`,
        `photo` is a video whose middle frame the view shows and Apply emits `apply_video`. The view
        already shows its images."""
        if key != self._key:
            self.close_photo()
        self._key, self._photo, self._video = key, (photo, model_path, guided), video
        self.apply_action.setToolTip(APPLY_VIDEO_TIP if video else APPLY_PHOTO_TIP)
        restore = None
        if key not in self._histories:
            if state is None and edits is not None:
                paths = [Path(p) for p in edits.reference_paths]
                state = EditState(edits.hints, None, str(paths[0]) if paths else "", edits.saturation)
                if paths:  # the states wait for its colours (`_on_reference`); the file was made with them
                    restore = ReferenceRequest(paths[0], tuple(paths[1:]), edits.reference_mode, restore=True)
            self._histories[key] = EditHistory(state or EditState())
        if restore is not None:
            self._ensure_session().load_reference(restore)
        self._shown = self._requested = None
        history = self._histories[key]
        self._show_state()
        self._tool_changed()  # the tool stays on from one photo to the next
        if history.current != history.saved:  # edits not applied yet: the file shows older colours
            self._request_preview()
        self._update_state()

    def close_photo(self) -> None:
        """No photo to edit (its history is kept); its editor thread ends after its waiting saves."""
        if self._session is not None:
            self._session.close()
            self._closing.append(self._session)
            self._session = None
        self._key = self._photo = self._shown = self._requested = None
        self._video = False
        self.view.set_tool("")
        self._update_state()

    def forget(self) -> None:
        """Close the photo and drop every photo's history (the queue was cleared)."""
        self.close_photo()
        self._histories.clear()

    def open_key(self) -> Path | None:
        """The output file of the photo being edited, or None."""
        return self._key

    def history(self) -> EditHistory | None:
        """The open photo's undo history, or None."""
        return self._histories.get(self._key) if self._key is not None else None

    def state(self) -> EditState | None:
        """What the open photo's colours are set to, or None without a photo."""
        history = self.history()
        return history.current if history is not None else None

    def preview_pending(self) -> bool:
        """True while the view does not yet show the preview of the latest change."""
        return self._requested is not None and self._requested != self._shown

    def saving(self) -> bool:
        """True while a full-size result is being written."""
        return any(session.saves_pending for session in self._sessions())

    def has_unapplied(self, key: Path) -> bool:
        """True when `key`'s colours were changed since its file was written."""
        history = self._histories.get(key)
        return history is not None and history.current != history.saved

    def shutdown(self, timeout_ms: int = SHUTDOWN_WAIT_MS) -> None:
        """End every editor thread (waiting saves are written first)."""
        self.close_photo()
        for session in list(self._closing):  # each leaves the list as it ends
            session.wait(timeout_ms)

    def _sessions(self) -> list[EditSession]:
        return self._closing + ([self._session] if self._session is not None else [])

    def _ensure_session(self) -> EditSession:
        if self._session is None:
            photo, model_path, guided = self._photo
            session = EditSession(self._key, photo, model_path, guided, self)
            session.preview.connect(lambda preview, s=session: self._on_preview(s, preview))
            session.reference.connect(lambda loaded, s=session: self._on_reference(s, loaded))
            session.saved.connect(self._on_saved)
            session.failed.connect(self._on_failed)
            session.ended.connect(lambda s=session: self._on_ended(s))
            self._session = session
        return self._session

    # --- changes ---------------------------------------------------------------------------------
    def _change(self, state: EditState, merge: str | None = None) -> None:
        history = self.history()
        if history is not None and history.push(state, merge):
            self._show_state()
            self._request_preview()
            self._update_state()

    def add_point(self, x: float, y: float) -> None:
        """A point hint of the current colour and brush at (x, y), relative to the photo."""
        state = self.state()
        if state is not None:
            point = PointHint(x, y, self._colour, self.brush())
            self._change(EditState(Hints(state.hints.points + (point,), state.hints.strokes), state.reference,
                                   state.reference_path, state.saturation))

    def add_stroke(self, points: tuple[tuple[float, float], ...]) -> None:
        """A stroke hint of the current colour and brush along `points` (relative to the photo)."""
        state = self.state()
        if state is not None:
            stroke = StrokeHint(tuple(points), self._colour, self.brush())
            self._change(EditState(Hints(state.hints.points, state.hints.strokes + (stroke,)), state.reference,
                                   state.reference_path, state.saturation))

    def clear_hints(self) -> None:
        state = self.state()
        if state is not None:
            self._change(EditState(Hints(), state.reference, state.reference_path, state.saturation))

    def set_saturation(self, value: float) -> None:
        """Saturation 0..2 (through the slider, so the label and the preview follow)."""
        self.saturation_slider.setValue(round(value * SATURATION_STEPS))

    def _saturation_changed(self, steps: int) -> None:
        self.saturation_label.setText(f"{steps / SATURATION_STEPS:.2f}")
        state = self.state()
        if state is not None:
            self._change(EditState(state.hints, state.reference, state.reference_path, steps / SATURATION_STEPS),
                         merge="saturation")

    def set_reference(self, path: str | Path) -> None:
        """Use a reference photo's colours (read in the editor's thread; a bad file is reported)."""
        if self._key is not None:
            self.message.emit(f"Reading the reference photo {Path(path).name}...")
            self._ensure_session().load_reference(ReferenceRequest(Path(path)))

    def clear_reference(self) -> None:
        state = self.state()
        if state is not None:
            self._change(EditState(state.hints, None, "", state.saturation))

    def undo(self) -> None:
        history = self.history()
        if history is not None and history.undo():
            self._show_state()
            self._request_preview()
            self._update_state()

    def redo(self) -> None:
        history = self.history()
        if history is not None and history.redo():
            self._show_state()
            self._request_preview()
            self._update_state()

    def apply(self, copy_to: Path | None = None) -> None:
        """Write the open photo's full-size result with the current colours over its output file (and
        its hints beside it); with `copy_to`, copy both there too. For a video: emit `apply_video`
        (`copy_to` is not used)."""
        state = self.state()
        if state is not None and self._video:
            placed = self._placed_on_shown_frame(state)
            if placed is not None:  # the clip is queued with these colours (the same hints, fixed to the frame)
                history = self.history()
                history.current = history.saved = placed
                self.apply_video.emit(self._key, placed)
            self._update_state()
        elif state is not None:
            self.message.emit(f"Writing {self._key.name} with the new colours...")
            self._ensure_session().save(SaveRequest(state, self._key, copy_to))
            self._update_state()

    def _placed_on_shown_frame(self, state: EditState) -> EditState | None:
        """`state` with its hints fixed to the video frame the view shows (those not fixed to one yet),
        so that each follows what it was placed on; None (and said) when the video cannot be read."""
        from colorcore.inference.video import VideoError, frame_index_at, probe_video

        video = self._photo[0]
        try:  # the frame the editor shows: the middle one (app.colour_edit.edit_job)
            frame = frame_index_at(video, probe_video(video).duration_s / 2)
        except VideoError as exc:
            self.message.emit(f"Cannot colour {video.name} again: {exc.reason}")
            return None
        hints = Hints(tuple(p if p.frame is not None else replace(p, frame=frame) for p in state.hints.points),
                      tuple(s if s.frame is not None else replace(s, frame=frame) for s in state.hints.strokes))
        return replace(state, hints=hints)

    # --- colour and brush ------------------------------------------------------------------------
    def colour(self) -> str:
        """The hint colour, "#rrggbb"."""
        return self._colour

    def set_colour(self, colour: str) -> None:
        """Set the hint colour ("#rrggbb"; remembered)."""
        self._colour = QColor(colour).name()
        self._settings.setValue(COLOUR_KEY, self._colour)
        self._show_colour()

    def brush(self) -> float:
        """The brush diameter relative to the photo's width."""
        return self.brush_spin.value() / 100.0

    def choose_colour(self) -> None:
        colour = QColorDialog.getColor(QColor(self._colour), self, "Hint colour")
        if colour.isValid():
            self.set_colour(colour.name())

    def _picked(self, colour: str) -> None:
        self.set_colour(colour)
        self.paint_action.setChecked(True)  # back to painting with the picked colour
        self.message.emit(f"Hint colour {colour} picked from the result.")

    def _show_colour(self) -> None:
        self.colour_action.setIcon(swatch(self._colour))
        self.colour_action.setText(self._colour)
        self.colour_action.setToolTip(f"Hint colour {self._colour}: click to choose another (only its hue and "
                                      "chroma are used: the photo keeps its own lightness)")

    def _brush_changed(self, value: float) -> None:
        self._settings.setValue(BRUSH_KEY, value)
        self._show_state()

    def _tool_changed(self) -> None:
        tool = PAINT if self.paint_action.isChecked() else EYEDROPPER if self.eyedropper_action.isChecked() else ""
        if tool and self.view.split() > 0.0:
            self._split_before = self.view.split()
            self.view.set_split(0.0)  # the whole result, where the hints go
        elif not tool and self._split_before is not None:
            if self.view.split() == 0.0:  # the before/after split comes back where it was
                self.view.set_split(self._split_before)
            self._split_before = None
        self.view.set_tool(tool)

    def _browse_reference(self) -> None:
        from colorcore.data.imageio import IMAGE_EXTENSIONS

        photos = " ".join(f"*{s}" for s in sorted(IMAGE_EXTENSIONS))
        start = last_folder(self._settings, "reference", last_folder(self._settings, "photos",
                                                                     str(self._photo[0].parent) if self._photo else ""))
        path, _ = QFileDialog.getOpenFileName(self, "Reference photo: colour like this one", start,
                                              f"Photos ({photos});;All files (*)")
        if path:
            remember_folder(self._settings, "reference", path)
            self.set_reference(path)

    # --- the editor thread's answers -------------------------------------------------------------
    def _request_preview(self) -> None:
        state = self.state()
        if state is not None:
            self._requested = state
            self._ensure_session().request_preview(state)

    def _on_preview(self, session: EditSession, preview: EditPreview) -> None:
        if session is self._session and self._key is not None and self.view.has_image():
            self._shown = preview.state
            self.view.set_after(preview.image)

    def _on_reference(self, session: EditSession, loaded: ReferenceLoaded) -> None:
        if loaded.restore:  # the reference a result was made with, read again: no new undo step
            history = self._histories.get(session.key)
            if history is not None and history.fill_reference(str(loaded.path), loaded.colours) \
                    and session is self._session:
                self._show_state()
                self._request_preview()
                self._update_state()
            if loaded.error:
                self.message.emit(f"Cannot use the reference photo {loaded.path.name} saved with the hints: "
                                  f"{loaded.error}")
            return
        if session is not self._session:
            return
        if loaded.error:
            self.message.emit(f"Cannot use the reference photo {loaded.path.name}: {loaded.error}")
            return
        state = self.state()
        if state is not None:
            self._change(EditState(state.hints, loaded.colours, str(loaded.path), state.saturation))
            self.message.emit(f"Colours from {loaded.path.name}, given to the same kind of things (the model's "
                              "colour where nothing matches).")

    def _on_saved(self, saved: EditSaved) -> None:
        request = saved.request
        if saved.error:
            self.message.emit(f"Could not write {request.out_path.name}: {saved.error}")
        else:
            history = self._histories.get(request.out_path)
            if history is not None:
                history.saved = request.state
            copied = f"; saved a copy as {request.copy_to}" if request.copy_to is not None else ""
            self.message.emit(f"Wrote {request.out_path} with the new colours (hints in {saved.hints_path.name}){copied}.")
        self._update_state()

    def _on_failed(self, text: str) -> None:
        self._requested = self._shown
        self.message.emit(text)

    def _on_ended(self, session: EditSession) -> None:
        if session is self._session:
            self._session = None
        elif session in self._closing:
            self._closing.remove(session)
        session.deleteLater()
        self._update_state()

    # --- state -----------------------------------------------------------------------------------
    def _show_state(self) -> None:
        """Controls and view marks follow the open photo's state."""
        state = self.state() or EditState()
        self.saturation_slider.blockSignals(True)
        self.saturation_slider.setValue(round(state.saturation * SATURATION_STEPS))
        self.saturation_slider.blockSignals(False)
        self.saturation_label.setText(f"{state.saturation:.2f}")
        name = Path(state.reference_path).name
        shown = name if len(name) <= REFERENCE_NAME_CHARS else name[:REFERENCE_NAME_CHARS - 1] + "\u2026"
        self.reference_action.setText(f"Reference: {shown}" if name else "Reference...")
        self.reference_action.setIconText(f"Reference: {shown}" if name else "Reference")  # the cut name keeps its …
        self.reference_action.setToolTip(state.reference_path or REFERENCE_TIP)
        self.view.set_marks(state.hints, self.brush())

    def _update_state(self) -> None:
        history = self.history()
        editable = history is not None
        for widget in (self.paint_action, self.eyedropper_action, self.colour_action, self.brush_spin,
                       self.saturation_slider, self.reference_action):
            widget.setEnabled(editable)
        self.undo_action.setEnabled(editable and history.can_undo())
        self.redo_action.setEnabled(editable and history.can_redo())
        self.clear_action.setEnabled(editable and bool(history.current.hints))
        self.no_reference_action.setEnabled(editable and history.current.reference is not None)
        self.apply_action.setEnabled(editable and history.current != history.saved)
