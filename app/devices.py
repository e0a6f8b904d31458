"""The compute devices a job can run on, for the tabs' device choice (best first, chosen by default)."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QComboBox, QWidget

AUTO_DEVICE = "auto"  # what a job gets before the engine has listed the devices: the best one


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def gui_torch_threads() -> int:
    """CPU threads for a job started from the GUI: all cores but one, left to the GUI."""
    return max(1, usable_cores() - 1)


def detected_devices() -> list[tuple[str, str]]:
    """(device name for the engine, label) for every usable device, the best first."""
    import torch

    from colorcore.core.device import cpu_supports_bf16, describe_device, mps_available

    devices = []
    for index in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
        devices.append((f"cuda:{index}", describe_device(torch.device("cuda", index))))
    if mps_available():
        devices.append(("mps", describe_device(torch.device("mps"))))
    bf16 = ", bf16" if cpu_supports_bf16() else ""
    devices.append(("cpu", f"CPU ({gui_torch_threads()} of {usable_cores()} cores used, one left to the window{bf16})"))
    return devices


class DeviceCombo(QComboBox):
    """The devices found on this machine, the best first and selected; `fill` once the engine is loaded."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Devices detected on this machine (the fastest is chosen by default)")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # never a cut-off label

    def fill(self) -> None:
        """List the detected devices (needs torch) and select the best."""
        self.clear()
        for name, label in detected_devices():
            self.addItem(label, name)
        self.setCurrentIndex(0)

    def device(self) -> str:
        """The chosen device's engine name ("auto", the best, before `fill`)."""
        return str(self.currentData() or AUTO_DEVICE)
