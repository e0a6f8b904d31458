"""Live training plots: one curve per declared loss (legend, toggles, smoothing, log scale) and
per-epoch validation metrics (PSNR, SSIM)."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from app.theme import PlotColours, plot_colours

SMOOTHING_STEPS = 100  # slider resolution: 0 = raw, 99 = heaviest exponential smoothing
MAX_SMOOTHING = 0.99
METRIC_TITLES = {"psnr": "PSNR (dB)", "ssim": "SSIM", "colourfulness": "Colourfulness"}


class _Series:
    """Growing x/y data for one curve (amortised appends) with an incrementally smoothed copy."""

    def __init__(self) -> None:
        self._x = np.empty(256)
        self._y = np.empty(256)
        self._smooth = np.empty(256)
        self.n = 0
        self._weight = 0.0
        self._smoothed_upto = 0
        self._acc = self._norm = 0.0

    def append(self, x: float, y: float) -> None:
        if self.n == self._x.size:
            self._x = np.resize(self._x, 2 * self.n)
            self._y = np.resize(self._y, 2 * self.n)
            self._smooth = np.resize(self._smooth, 2 * self.n)
        self._x[self.n], self._y[self.n] = x, y
        self.n += 1

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self._x[: self.n], self._y[: self.n]

    def smoothed(self, weight: float) -> np.ndarray:
        """Exponential moving average with bias correction (TensorBoard-style) of the values;
        non-finite values are passed through. Weight 0 = raw."""
        if weight <= 0:
            return self._y[: self.n]
        if weight != self._weight:
            self._weight, self._smoothed_upto, self._acc, self._norm = weight, 0, 0.0, 0.0
        for i in range(self._smoothed_upto, self.n):
            value = self._y[i]
            if math.isfinite(value):
                self._acc = weight * self._acc + (1 - weight) * value
                self._norm = weight * self._norm + (1 - weight)
                value = self._acc / self._norm
            self._smooth[i] = value
        self._smoothed_upto = self.n
        return self._smooth[: self.n]


class LossPlot(QWidget):
    """Loss curves against the step: one per name, with show/hide boxes, smoothing and log scale.

    A log axis cannot show values <= 0 (some GAN losses are negative): with log scale on, such a
    curve is drawn as its absolute value, dashed, named |name| in the legend, and a note says so.
    """

    def __init__(self, loss_names: Sequence[str] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget()
        self.plot_item = self.plot_widget.getPlotItem()
        self.plot_item.setLabel("bottom", "step")
        self.plot_item.setLabel("left", "loss")
        self.plot_item.getAxis("left").enableAutoSIPrefix(False)
        self.plot_item.showGrid(x=True, y=True, alpha=0.25)
        self.legend = self.plot_item.addLegend(offset=(-10, 10))
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, SMOOTHING_STEPS - 1)
        self.smoothing.setToolTip("Exponential smoothing of the curves (left: raw)")
        self.smoothing.valueChanged.connect(self._redraw_all)
        self.log_scale = QCheckBox("Log scale")
        self.log_scale.toggled.connect(self._set_log)
        self.log_note = QLabel()
        self.log_note.setWordWrap(True)
        self.log_note.setVisible(False)
        self._toggle_row = QHBoxLayout()
        controls = QHBoxLayout()
        controls.addLayout(self._toggle_row)
        controls.addStretch(1)
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.smoothing)
        controls.addWidget(self.log_scale)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.log_note)
        layout.addLayout(controls)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.toggles: dict[str, QCheckBox] = {}
        self._series: dict[str, _Series] = {}
        self._absolute: set[str] = set()  # curves drawn as absolute values on the log axis
        self._colours = plot_colours()
        self.set_loss_names(loss_names)

    def set_loss_names(self, loss_names: Sequence[str]) -> None:
        """Start over with one empty curve per name."""
        for name in list(self.curves):
            self.plot_item.removeItem(self.curves[name])
            self.legend.removeItem(name)
            self._toggle_row.removeWidget(self.toggles[name])
            self.toggles[name].hide()  # gone at once, even before the event loop deletes it
            self.toggles[name].deleteLater()
        self.curves, self.toggles, self._series = {}, {}, {}
        self._absolute.clear()
        self._update_log_note()
        for i, name in enumerate(loss_names):
            curve = self.plot_item.plot([], [], name=name, pen=self._pen(i, dashed=False))
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="mean")
            box = QCheckBox(name)
            box.setChecked(True)
            box.toggled.connect(curve.setVisible)
            self._toggle_row.addWidget(box)
            self.curves[name], self.toggles[name], self._series[name] = curve, box, _Series()

    def loss_names(self) -> list[str]:
        """The names with a curve, in order."""
        return list(self.curves)

    def add_point(self, step: int, losses: Mapping[str, float]) -> None:
        """Append one logged step; names without a curve are ignored."""
        for name, value in losses.items():
            series = self._series.get(name)
            if series is not None:
                series.append(float(step), float(value))
                self._redraw(name)

    def clear(self) -> None:
        """Remove all data, keeping the curves."""
        self.set_loss_names(self.loss_names())

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The raw (unsmoothed) steps and values of one curve."""
        return self._series[name].data()

    def absolute_curves(self) -> list[str]:
        """The names drawn as absolute values (log scale on and values <= 0), in curve order."""
        return [name for name in self.curves if name in self._absolute]

    def apply_colours(self, colours: PlotColours) -> None:
        """Recolour background, axes and curves for a light or dark scheme."""
        self._colours = colours
        self.plot_widget.setBackground(colours.background)
        for axis in ("left", "bottom"):
            self.plot_item.getAxis(axis).setPen(colours.foreground)
            self.plot_item.getAxis(axis).setTextPen(colours.foreground)
        self.legend.setLabelTextColor(colours.foreground)
        for i, (name, curve) in enumerate(self.curves.items()):
            curve.setPen(self._pen(i, dashed=name in self._absolute))

    def _pen(self, index: int, dashed: bool) -> QPen:
        colour = self._colours.curves[index % len(self._colours.curves)]
        return pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)

    def _smoothing_weight(self) -> float:
        return MAX_SMOOTHING * self.smoothing.value() / (SMOOTHING_STEPS - 1)

    def _redraw(self, name: str) -> None:
        series = self._series[name]
        x, _ = series.data()
        y = series.smoothed(self._smoothing_weight())
        absolute = self.log_scale.isChecked() and bool(np.any(y <= 0))
        if absolute:
            y = np.abs(y)
        if self.log_scale.isChecked():
            y = np.where(y > 0, y, np.nan)  # exact zeros stay gaps
        self._set_absolute(name, absolute)
        self.curves[name].setData(x, y, connect="finite")

    def _set_absolute(self, name: str, absolute: bool) -> None:
        """Mark a curve as drawn by its absolute value (dashed, |name| in the legend), or not."""
        if (name in self._absolute) == absolute:
            return
        (self._absolute.add if absolute else self._absolute.discard)(name)
        curve = self.curves[name]
        curve.setPen(self._pen(list(self.curves).index(name), dashed=absolute))
        label = self.legend.getLabel(curve)
        if label is not None:
            label.setText(f"|{name}|" if absolute else name)
        self._update_log_note()

    def _update_log_note(self) -> None:
        names = self.absolute_curves()
        many = len(names) > 1
        self.log_note.setText(
            f"Log scale: {', '.join(names)} {'have' if many else 'has'} values \u2264 0 and {'are' if many else 'is'} "
            f"drawn as {', '.join(f'|{n}|' for n in names)} (dashed); untick Log scale to see the signs."
            if names else "")
        self.log_note.setVisible(bool(names))

    def _redraw_all(self) -> None:
        for name in self.curves:
            self._redraw(name)

    def _set_log(self, on: bool) -> None:
        self.plot_item.setLogMode(y=on)
        self._redraw_all()


class MetricsPlot(QWidget):
    """Validation metrics per epoch, one small plot per metric (different scales)."""

    def __init__(self, metric_names: Sequence[str] = ("psnr", "ssim"), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._series: dict[str, _Series] = {}
        self.reference_lines: dict[str, pg.InfiniteLine] = {}
        colours = plot_colours()
        for i, name in enumerate(metric_names):
            plot = self.layout_widget.addPlot(row=0, col=i, title=METRIC_TITLES.get(name, name))
            plot.setLabel("bottom", "epoch")
            plot.showGrid(x=True, y=True, alpha=0.25)
            colour = colours.curves[i % len(colours.curves)]
            curve = plot.plot([], [], pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=6, symbolBrush=colour)
            self.plots[name], self.curves[name], self._series[name] = plot, curve, _Series()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.layout_widget)

    def add_epoch(self, epoch: int, metrics: Mapping[str, float]) -> None:
        """Append one epoch's metrics (NaN values are skipped)."""
        for name, value in metrics.items():
            series = self._series.get(name)
            if series is not None and math.isfinite(float(value)):
                series.append(float(epoch), float(value))
                self.curves[name].setData(*series.data())

    def set_reference(self, metrics: Mapping[str, float], label: str) -> None:
        """A dashed horizontal line per metric at `metrics`' value (e.g. the starting model's score),
        labelled `label` (NaN values get none)."""
        self.clear_reference()
        colour = plot_colours().foreground
        for name, value in metrics.items():
            if name in self.plots and math.isfinite(float(value)):
                line = pg.InfiniteLine(pos=float(value), angle=0, label=label,
                                       pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine),
                                       labelOpts={"position": 0.02, "anchors": [(0, 1), (0, 1)], "color": colour})
                self.plots[name].addItem(line)
                self.reference_lines[name] = line

    def reference(self, name: str) -> float | None:
        """The value of the reference line of one metric (None: no line)."""
        line = self.reference_lines.get(name)
        return None if line is None else float(line.value())

    def clear_reference(self) -> None:
        """Remove the reference lines."""
        for name, line in self.reference_lines.items():
            self.plots[name].removeItem(line)
        self.reference_lines = {}

    def clear(self) -> None:
        """Remove all data (and the reference lines)."""
        for name, curve in self.curves.items():
            self._series[name] = _Series()
            curve.setData([], [])
        self.clear_reference()

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Epochs and values of one metric."""
        return self._series[name].data()

    def apply_colours(self, colours: PlotColours) -> None:
        """Recolour for a light or dark scheme."""
        self.layout_widget.setBackground(colours.background)
        for i, (name, plot) in enumerate(self.plots.items()):
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setPen(colours.foreground)
                plot.getAxis(axis).setTextPen(colours.foreground)
            plot.setTitle(METRIC_TITLES.get(name, name), color=colours.foreground)
            colour = colours.curves[i % len(colours.curves)]
            self.curves[name].setPen(pg.mkPen(colour, width=2))
            self.curves[name].setSymbolBrush(colour)
            if name in self.reference_lines:
                self.reference_lines[name].setPen(pg.mkPen(colours.foreground, width=1, style=Qt.PenStyle.DashLine))
