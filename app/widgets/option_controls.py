"""Controls for declared options (`colorcore.core.options.OptionSpec`): a check box, a list, a number box or
a text field, chosen by the option's type and choices, with its label, limits and help."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QLineEdit, QSpinBox, QWidget

from colorcore.core.options import OptionSpec

INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int


class OptionControl:
    """The label and the editing widget of one declared option."""

    def __init__(self, spec: OptionSpec, tooltip: str, parent: QWidget | None = None) -> None:
        self.spec = spec
        self.label = QLabel(spec.label, parent)
        self.widget = _make_widget(spec, parent)
        self.widget.setToolTip(tooltip)
        self.label.setToolTip(tooltip)

    def value(self) -> Any:
        """The value shown (an emptied editable list gives the option's default)."""
        widget = self.widget
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QComboBox):
            return widget.currentText().strip() or self.spec.default
        if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            return widget.value()
        return widget.text()

    def set_value(self, value: Any) -> None:
        """Show `value` (a number is clamped to the control's range)."""
        widget = self.widget
        if isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QComboBox):
            widget.setCurrentText(str(value))
        elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            widget.setValue(self.spec.kind(value))
        else:
            widget.setText(str(value))


def _make_widget(spec: OptionSpec, parent: QWidget | None) -> QWidget:
    if spec.kind is bool:
        return QCheckBox(parent)
    if spec.choices:
        combo = QComboBox(parent)
        combo.setEditable(spec.other_values)
        combo.addItems(spec.choices)
        return combo
    if spec.kind is int:
        box = QSpinBox(parent)
        box.setRange(int(spec.low) if spec.low is not None else 0, int(spec.high) if spec.high is not None else INT_LIMIT)
        return box
    if spec.kind is float:
        number = QDoubleSpinBox(parent)
        if spec.decimals is not None:
            number.setDecimals(spec.decimals)  # before the range, which is rounded to the decimals
        number.setRange(spec.low if spec.low is not None else 0.0, spec.high if spec.high is not None else 1e9)
        if spec.step is not None:
            number.setSingleStep(spec.step)
        return number
    return QLineEdit(parent)
