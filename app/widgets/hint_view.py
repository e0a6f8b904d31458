"""The before/after view with colour tools: paint hints (click = point, drag = stroke) and an
eyedropper that samples the shown result. Positions are reported relative to the photo (0..1)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QWidget

from app.widgets.before_after import BeforeAfterView
from app.widgets.image_view import numpy_to_qimage
from colorcore.inference.hints import Hints

PAINT, EYEDROPPER = "paint", "eyedropper"
CLICK_PX = 4  # a press and release closer than this (screen pixels) is a click: a point hint
MIN_MARK_PX = 3.0  # hint marks are drawn at least this large whatever the zoom
MARK_OUTLINE = QColor(255, 255, 255)
MARK_SHADOW = QColor(0, 0, 0, 180)


class HintView(BeforeAfterView):
    """`BeforeAfterView` with a tool: none (drag pans), `PAINT` or `EYEDROPPER`.

    With `PAINT` a click emits `point_placed(x, y)` and a drag `stroke_drawn(points)` (a tuple of
    (x, y)); with `EYEDROPPER` a click emits `colour_picked("#rrggbb")` from the shown result. The
    split line can still be dragged. `set_marks` outlines the current hints while a tool is on.
    """

    point_placed = Signal(float, float)
    stroke_drawn = Signal(object)
    colour_picked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tool = ""
        self._after_array: np.ndarray | None = None
        self._before_array: np.ndarray | None = None
        self._stroke: list[QPointF] = []  # view positions of the stroke being drawn
        self._marks = Hints()
        self._brush = 0.02

    # --- content ---------------------------------------------------------------------------------
    def set_images(self, before: np.ndarray | None, after: np.ndarray | None) -> None:
        self._before_array, self._after_array = before, after
        super().set_images(before, after)

    def set_after(self, after: np.ndarray) -> None:
        """Replace the result side only (e.g. a new preview of the same photo)."""
        self._after_array = after
        self._after.setPixmap(QPixmap.fromImage(numpy_to_qimage(after)))
        self.viewport().update()

    def after_image(self) -> np.ndarray | None:
        """The result side as shown (RGB uint8), or None."""
        return self._after_array

    def set_marks(self, hints: Hints, brush: float) -> None:
        """Outline `hints` (shown while a tool is on) and size the stroke being drawn by `brush`
        (relative to the photo's width)."""
        self._marks, self._brush = hints, brush
        self.viewport().update()

    # --- tool ------------------------------------------------------------------------------------
    def tool(self) -> str:
        return self._tool

    def set_tool(self, tool: str) -> None:
        """"" (drag pans), `PAINT` or `EYEDROPPER`."""
        self._tool = tool
        self._stroke = []
        self.setDragMode(BeforeAfterView.DragMode.NoDrag if tool else BeforeAfterView.DragMode.ScrollHandDrag)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if tool else Qt.CursorShape.OpenHandCursor)
        self.viewport().update()

    def relative(self, view_pos: QPointF) -> tuple[float, float]:
        """A view position as (x, y) relative to the photo, clamped to 0..1."""
        rect = self._scene.sceneRect()
        scene = self.mapToScene(view_pos.toPoint())
        return (min(max((scene.x() - rect.left()) / rect.width(), 0.0), 1.0),
                min(max((scene.y() - rect.top()) / rect.height(), 0.0), 1.0))

    def _view_pos(self, x: float, y: float) -> QPointF:
        rect = self._scene.sceneRect()
        return QPointF(self.mapFromScene(QPointF(rect.left() + x * rect.width(), rect.top() + y * rect.height())))

    def _uses_tool(self, event: QMouseEvent) -> bool:
        return (bool(self._tool) and self._after_array is not None and event.button() == Qt.MouseButton.LeftButton
                and not self._near_split(event.position()))

    # --- events ----------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if not self._uses_tool(event):
            super().mousePressEvent(event)
            return
        event.accept()
        if self._tool == EYEDROPPER:
            self._pick(*self.relative(event.position()))
        else:
            self._stroke = [event.position()]

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if not self._stroke:
            super().mouseMoveEvent(event)
            if self._tool:
                self.viewport().setCursor(Qt.CursorShape.SplitHCursor if self._near_split(event.position())
                                          else Qt.CursorShape.CrossCursor)
            return
        last = self._stroke[-1]
        if abs(event.position().x() - last.x()) + abs(event.position().y() - last.y()) >= 2:
            self._stroke.append(event.position())
            self.viewport().update()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if not self._stroke:
            super().mouseReleaseEvent(event)
            return
        stroke, self._stroke = self._stroke, []
        if stroke[-1] != event.position():
            stroke.append(event.position())
        event.accept()
        start = stroke[0]
        if max(abs(p.x() - start.x()) + abs(p.y() - start.y()) for p in stroke) < CLICK_PX:
            self.point_placed.emit(*self.relative(start))
        else:
            self.stroke_drawn.emit(tuple(self.relative(p) for p in stroke))
        self.viewport().update()

    def _pick(self, x: float, y: float) -> None:
        image = self._after_array
        h, w = image.shape[:2]
        pixel = image[min(int(y * h), h - 1), min(int(x * w), w - 1)]
        rgb = (int(pixel),) * 3 if np.ndim(pixel) == 0 else tuple(int(v) for v in pixel[:3])
        self.colour_picked.emit("#" + "".join(f"{v:02x}" for v in rgb))

    # --- drawing ---------------------------------------------------------------------------------
    def drawForeground(self, painter: QPainter, rect) -> None:  # noqa: N802, ANN001
        super().drawForeground(painter, rect)
        if self._tool != PAINT or self._after_array is None:
            return
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        scale = self.transform().m11() * self._scene.sceneRect().width()  # view pixels per photo width
        for point in self._marks.points:
            self._mark_dot(painter, self._view_pos(point.x, point.y), point.width * scale / 2, QColor(point.color))
        for stroke in self._marks.strokes:
            self._mark_line(painter, [self._view_pos(x, y) for x, y in stroke.points], stroke.width * scale,
                            QColor(stroke.color))
        if self._stroke:
            self._mark_line(painter, self._stroke, self._brush * scale, QColor(MARK_OUTLINE))
        painter.restore()

    @staticmethod
    def _mark_dot(painter: QPainter, centre: QPointF, radius: float, colour: QColor) -> None:
        radius = max(radius, MIN_MARK_PX)
        painter.setBrush(colour)
        for pen in (QPen(MARK_SHADOW, 3), QPen(MARK_OUTLINE, 1.5)):
            painter.setPen(pen)
            painter.drawEllipse(centre, radius, radius)

    @staticmethod
    def _mark_line(painter: QPainter, points: list[QPointF], width: float, colour: QColor) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        width = max(width, MIN_MARK_PX)
        polyline = QPolygonF(points)
        for pen_colour, pen_width in ((MARK_SHADOW, width + 3), (MARK_OUTLINE, width + 1.5), (colour, width)):
            pen = QPen(pen_colour, pen_width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            if len(points) == 1:
                painter.drawPoint(points[0])
            else:
                painter.drawPolyline(polyline)
