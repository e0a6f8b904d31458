"""The engine never imports Qt: import every colorcore module in a fresh interpreter and check."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import colorcore

QT_MODULE_PREFIXES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph")


def test_importing_every_colorcore_module_imports_no_qt() -> None:
    names = sorted(
        info.name for info in pkgutil.walk_packages(colorcore.__path__, prefix="colorcore.")
        if not info.name.endswith("__main__")
    )
    assert "colorcore.core.events" in names and "colorcore.cli" in names
    script = (
        "import importlib, json, sys\n"
        f"names = {names!r}\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        f"qt = sorted(m for m in sys.modules if m.split('.')[0] in {QT_MODULE_PREFIXES!r})\n"
        "print(json.dumps({'imported': len(names), 'qt': qt}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["imported"] == len(names)
    assert report["qt"] == [], f"colorcore imported Qt modules: {report['qt']}"
