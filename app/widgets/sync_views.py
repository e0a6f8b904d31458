"""Synchronised zoom and pan of several image views (ImageView or any QGraphicsView with a
`zoom_changed` signal)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF
from PySide6.QtWidgets import QGraphicsView

FIT_TOLERANCE = 0.02  # fitInView leaves a small margin, so "fitted" is a zoom within 2 % of the fit


class SyncGroup(QObject):
    """Keeps the zoom (view transform) and the visible centre of its views equal.

    Centres are matched in relative scene coordinates, so views of images with different pixel sizes
    (a 64 px map and a 64 px photo, or photos of two runs) still show the same part of the picture.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._views: list[QGraphicsView] = []
        self._syncing = False

    def views(self) -> list[QGraphicsView]:
        """The views in the group, in the order added."""
        return list(self._views)

    def add(self, view: QGraphicsView) -> None:
        """Add a view; it follows the others from now on and they follow it."""
        if view in self._views:
            return
        self._views.append(view)
        view.zoom_changed.connect(lambda _z, v=view: self.sync_from(v))
        view.horizontalScrollBar().valueChanged.connect(lambda _v, v=view: self.sync_from(v))
        view.verticalScrollBar().valueChanged.connect(lambda _v, v=view: self.sync_from(v))
        view.destroyed.connect(lambda _obj=None, v=view: self._forget(v))

    def clear(self) -> None:
        """Forget every view (their connections become no-ops)."""
        self._views.clear()

    def _forget(self, view: QGraphicsView) -> None:
        if view in self._views:
            self._views.remove(view)

    def sync_from(self, source: QGraphicsView) -> None:
        """Copy `source`'s zoom and relative centre to every other view."""
        if self._syncing or source not in self._views:
            return
        src_rect = source.sceneRect()
        if src_rect.width() <= 0 or src_rect.height() <= 0:
            return
        if self._is_fitted(source):  # fitted to its window (e.g. after a resize): the others fit too
            self._syncing = True
            try:
                for view in self._views:
                    if view is not source and hasattr(view, "fit_to_view"):
                        view.fit_to_view()
            finally:
                self._syncing = False
            return
        centre = source.mapToScene(source.viewport().rect().center())
        rel_x = (centre.x() - src_rect.left()) / src_rect.width()
        rel_y = (centre.y() - src_rect.top()) / src_rect.height()
        self._syncing = True
        try:
            for view in self._views:
                if view is source:
                    continue
                rect = view.sceneRect()
                if rect.width() <= 0 or rect.height() <= 0:
                    continue
                zoom = source.transform().m11() * src_rect.width() / rect.width()
                if hasattr(view, "set_zoom"):  # ImageView: also leaves its fit-to-window mode
                    view.set_zoom(zoom)
                else:
                    view.resetTransform()
                    view.scale(zoom, zoom)
                if rect == src_rect and view.viewport().size() == source.viewport().size():
                    view.horizontalScrollBar().setValue(source.horizontalScrollBar().value())
                    view.verticalScrollBar().setValue(source.verticalScrollBar().value())
                else:
                    view.centerOn(QPointF(rect.left() + rel_x * rect.width(), rect.top() + rel_y * rect.height()))
        finally:
            self._syncing = False

    @staticmethod
    def _is_fitted(view: QGraphicsView) -> bool:
        """True when the view shows its whole scene as large as it fits (fit-to-window)."""
        rect, port = view.sceneRect(), view.viewport().rect()
        fit = min(port.width() / rect.width(), port.height() / rect.height())
        return abs(view.transform().m11() - fit) <= FIT_TOLERANCE * fit
