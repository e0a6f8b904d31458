"""Follow the system's light/dark colour scheme, pyqtgraph plots included."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication


@dataclass(frozen=True)
class PlotColours:
    """Colours for plots in one scheme: background, axes/text, and a cycle of curve colours."""

    background: str
    foreground: str
    curves: tuple[str, ...]


# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies
LIGHT = PlotColours("#ffffff", "#202020", ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"))
DARK = PlotColours("#1e1e1e", "#e0e0e0", ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#F0E442", "#0072B2", "#ffffff", "#D55E00"))


def is_dark() -> bool:
    """True when the system (or the application palette) uses a dark scheme."""
    app = QGuiApplication.instance()
    if app is None:
        return False
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return QGuiApplication.palette().window().color().lightness() < 128


def plot_colours(dark: bool | None = None) -> PlotColours:
    """The plot colours for the given scheme (default: the current one)."""
    return DARK if (is_dark() if dark is None else dark) else LIGHT


def apply_pyqtgraph_defaults(dark: bool | None = None) -> PlotColours:
    """Set pyqtgraph's global colours (for plots created from now on) and return them."""
    colours = plot_colours(dark)
    pg.setConfigOptions(background=colours.background, foreground=colours.foreground, antialias=True)
    return colours


class ThemeWatcher(QObject):
    """Emits `changed(dark)` when the system colour scheme changes."""

    changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)

    def _on_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        self.changed.emit(is_dark())
