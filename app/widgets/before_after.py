"""Before/after comparison of two images of the same size: a draggable split line, zoom and pan."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import (QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QStyleOptionGraphicsItem,
                               QWidget)

from app.widgets.image_view import numpy_to_qimage

ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.02, 64.0
SPLIT_GRAB_PX = 8  # how close (in screen pixels) a press must be to the line to drag it
SPLIT_LINE_COLOUR = QColor(255, 255, 255)
SPLIT_SHADOW_COLOUR = QColor(0, 0, 0, 160)
LABEL_MARGIN_PX = 6
LABEL_PADDING_PX = 4
DEFAULT_LABELS = ("Before", "After")


class _ClippedPixmapItem(QGraphicsPixmapItem):
    """A pixmap painted only left of `split` (a fraction of its width)."""

    def __init__(self) -> None:
        super().__init__()
        self.split = 0.5

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        rect = self.boundingRect()
        painter.save()
        painter.setClipRect(QRectF(rect.left(), rect.top(), rect.width() * self.split, rect.height()))
        super().paint(painter, option, widget)
        painter.restore()


class BeforeAfterView(QGraphicsView):
    """Shows `after` with `before` drawn over its left part; drag the line, wheel to zoom, drag to pan.

    Double-click fits the image to the view. `split_changed(fraction)` is emitted as the line moves.
    The two sides are named in the view's top corners (`set_labels`).
    """

    split_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._after = QGraphicsPixmapItem()
        self._before = _ClippedPixmapItem()
        for item in (self._after, self._before):
            item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
            self._scene.addItem(item)
        self._dragging_split = False
        self._labels = DEFAULT_LABELS
        self._fit = True
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setBackgroundBrush(QColor(40, 40, 40))
        self.setMouseTracking(True)
        self.setMinimumSize(160, 120)

    # --- content ---------------------------------------------------------------------------------
    def set_images(self, before: np.ndarray | None, after: np.ndarray | None) -> None:
        """Show a pair of uint8 images (H, W, 3) or (H, W); `after` may be None while it is computed."""
        first = before if before is not None else after
        self._before.setPixmap(QPixmap.fromImage(numpy_to_qimage(before)) if before is not None else QPixmap())
        self._after.setPixmap(QPixmap.fromImage(numpy_to_qimage(after)) if after is not None else QPixmap())
        if first is None:
            self._scene.setSceneRect(QRectF())
        else:
            self._scene.setSceneRect(QRectF(0, 0, first.shape[1], first.shape[0]))
        if after is None:  # nothing to compare with yet: show the whole "before" image
            self._before.split = 1.0
        elif self._before.split >= 1.0:
            self._before.split = 0.5
        self._before.update()
        if self._fit:
            self.fit()
        self.viewport().update()

    def set_labels(self, before: str, after: str) -> None:
        """Name the left (before) and right (after) sides; shown in the view's top corners."""
        self._labels = (before, after)
        self.viewport().update()

    def labels(self) -> tuple[str, str]:
        """The names of the left and right sides."""
        return self._labels

    def has_image(self) -> bool:
        """True when an image is shown."""
        return not self._before.pixmap().isNull() or not self._after.pixmap().isNull()

    # --- split line ------------------------------------------------------------------------------
    def split(self) -> float:
        """The split line's position as a fraction of the image width (0 = all after, 1 = all before)."""
        return self._before.split

    def set_split(self, fraction: float) -> None:
        """Move the split line (clamped to 0..1)."""
        fraction = min(1.0, max(0.0, float(fraction)))
        if fraction == self._before.split:
            return
        self._before.split = fraction
        self._before.update()
        self.viewport().update()
        self.split_changed.emit(fraction)

    def _split_x_in_view(self) -> float:
        rect = self._scene.sceneRect()
        return self.mapFromScene(QPointF(rect.left() + rect.width() * self._before.split, rect.top())).x()

    def _near_split(self, pos: QPointF) -> bool:
        return self.has_image() and abs(pos.x() - self._split_x_in_view()) <= SPLIT_GRAB_PX

    # --- zoom and pan ----------------------------------------------------------------------------
    def zoom(self) -> float:
        """Current scale factor (1 = one image pixel per screen pixel)."""
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        """Zoom in (>1) or out (<1) around the mouse, within sensible limits."""
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        self._fit = False
        self.scale(target / self.zoom(), target / self.zoom())

    def fit(self) -> None:
        """Fit the whole image into the view (and keep fitting on resize until the user zooms)."""
        self._fit = True
        rect = self._scene.sceneRect()
        if rect.width() > 0 and rect.height() > 0:
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)

    # --- events ----------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt API)
        if not self.has_image():
            return
        self.zoom_by(ZOOM_STEP if event.angleDelta().y() > 0 else 1.0 / ZOOM_STEP)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._near_split(event.position()):
            self._dragging_split = True
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._dragging_split:
            rect = self._scene.sceneRect()
            x = self.mapToScene(event.position().toPoint()).x()
            self.set_split((x - rect.left()) / rect.width() if rect.width() > 0 else 0.5)
            event.accept()
            return
        cursor = Qt.CursorShape.SplitHCursor if self._near_split(event.position()) else Qt.CursorShape.OpenHandCursor
        self.viewport().setCursor(cursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._dragging_split:
            self._dragging_split = False
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.fit()

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        if self._after.pixmap().isNull() or self._before.pixmap().isNull():
            return
        scene = self._scene.sceneRect()
        x = scene.left() + scene.width() * self._before.split
        painter.save()
        painter.resetTransform()  # draw in view pixels so the line stays thin at any zoom
        top = self.mapFromScene(QPointF(x, scene.top()))
        bottom = self.mapFromScene(QPointF(x, scene.bottom()))
        painter.setPen(QPen(SPLIT_SHADOW_COLOUR, 3))
        painter.drawLine(top, bottom)
        painter.setPen(QPen(SPLIT_LINE_COLOUR, 1))
        painter.drawLine(top, bottom)
        mid = (top + bottom) / 2
        painter.setBrush(SPLIT_LINE_COLOUR)
        painter.drawEllipse(mid, 6, 6)
        self._draw_labels(painter)
        painter.restore()

    def _draw_labels(self, painter: QPainter) -> None:
        metrics = painter.fontMetrics()
        height = metrics.height() + 2 * LABEL_PADDING_PX
        width = self.viewport().width()
        for text, right in zip(self._labels, (False, True)):
            if not text:
                continue
            box_width = metrics.horizontalAdvance(text) + 2 * LABEL_PADDING_PX
            x = width - box_width - LABEL_MARGIN_PX if right else LABEL_MARGIN_PX
            box = QRectF(x, LABEL_MARGIN_PX, box_width, height)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(SPLIT_SHADOW_COLOUR)
            painter.drawRoundedRect(box, 3, 3)
            painter.setPen(SPLIT_LINE_COLOUR)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
