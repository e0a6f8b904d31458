"""A zoomable, pannable view of a numpy uint8 image, and a safe numpy -> QImage conversion."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.05, 64.0


def numpy_to_qimage(image: np.ndarray) -> QImage:
    """Copy an (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA uint8 array into a QImage that owns
    its pixels (safe to keep after the array is freed or changed)."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        fmt, channels = QImage.Format.Format_Grayscale8, 1
    elif array.ndim == 3 and array.shape[2] == 3:
        fmt, channels = QImage.Format.Format_RGB888, 3
    elif array.ndim == 3 and array.shape[2] == 4:
        fmt, channels = QImage.Format.Format_RGBA8888, 4
    else:
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {array.shape}")
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    view = QImage(array.data, width, height, width * channels, fmt)
    return view.copy()


class ImageView(QGraphicsView):
    """Shows one image; wheel zooms around the cursor, drag pans, double-click fits to the view.

    `zoom_changed(factor)` and the scroll bars let other views follow this one.
    """

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self._scene.addItem(self._item)
        self.setScene(self._scene)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self._fit = True
        self._image_shape: tuple[int, ...] | None = None

    def set_image(self, image: np.ndarray | None) -> None:
        """Show a uint8 image (None clears the view); keeps the zoom unless the size changed."""
        if image is None:
            self._item.setPixmap(QPixmap())
            self._image_shape = None
            return
        size_changed = self._image_shape is None or self._image_shape[:2] != image.shape[:2]
        self._item.setPixmap(QPixmap.fromImage(numpy_to_qimage(image)))
        self._image_shape = tuple(image.shape)
        self._scene.setSceneRect(QRectF(self._item.pixmap().rect()))
        if size_changed or self._fit:
            self.fit_to_view()

    def has_image(self) -> bool:
        """True when an image is shown."""
        return self._image_shape is not None

    def zoom(self) -> float:
        """The current scale factor (1.0 = one image pixel per screen pixel)."""
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        """Scale to `factor` (clamped), leaving fit-to-view mode."""
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        self._fit = False
        self.resetTransform()
        self.scale(factor, factor)
        self.zoom_changed.emit(factor)

    def fit_to_view(self) -> None:
        """Scale the image to fit the view (and keep fitting on resize)."""
        self._fit = True
        if self._image_shape is not None:
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
            self.zoom_changed.emit(self.zoom())

    def wheelEvent(self, event: QWheelEvent) -> None:
        if not self.has_image():
            return
        step = ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP
        current = self.zoom()
        relative = min(max(current * step, MIN_ZOOM), MAX_ZOOM) / current
        self._fit = False
        self.scale(relative, relative)
        self.zoom_changed.emit(self.zoom())

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.fit_to_view()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        if self._fit:
            self.fit_to_view()
