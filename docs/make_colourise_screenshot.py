"""Make docs/screenshots/colourise.png: the Colourise tab with the bundled starter model, three sample
photos colourised, and honey_bee.jpg being edited with the two hints of
docs/examples/honey_bee.hints.json placed through the colour tools (the Hints tool on, so they are
outlined), saturation 1.2.

Run: ``QT_QPA_PLATFORM=offscreen python docs/make_colourise_screenshot.py`` (a temporary output
folder and settings; nothing else is written).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = [ROOT / "resources" / "samples" / name for name in ("chelsea.jpg", "coffee.jpg", "honey_bee.jpg")]
HINTS = ROOT / "docs" / "examples" / "honey_bee.hints.json"
OUT = ROOT / "docs" / "screenshots" / "colourise.png"
SIZE = (1280, 820)  # as `python -m app --screenshot`
TIMEOUT_S = 300.0


def wait(app, done, timeout_s: float = TIMEOUT_S) -> None:
    """Process events until `done()` (RuntimeError after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        app.processEvents()
        time.sleep(0.02)


def main() -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.refcounts import protect_singletons

    protect_singletons()
    app = QApplication(sys.argv[:1])
    from app.main_window import MainWindow
    from colorcore.inference.hints import load_hints

    folder = Path(tempfile.mkdtemp(prefix="colourise-screenshot-"))
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("colorize/output_dir", str(folder / "colourised"))
    window = MainWindow(settings)
    window.resize(*SIZE)
    window.show()
    wait(app, window.is_engine_loaded)
    tab = window.colorize_tab
    window.tabs.setCurrentWidget(tab)
    tab.add_paths([str(p) for p in PHOTOS])
    wait(app, lambda: not tab.is_busy())
    tab.table.setCurrentCell(2, 0)
    tools = tab.colour_tools
    wait(app, lambda: tools.open_key() is not None and not tab.previews_pending())
    tools.paint_action.setChecked(True)
    hints = load_hints(HINTS)
    for point in hints.points:
        tools.set_colour(point.color)
        tools.add_point(point.x, point.y)
    for stroke in hints.strokes:
        tools.set_colour(stroke.color)
        tools.add_stroke(stroke.points)
    tools.set_saturation(1.2)
    wait(app, lambda: not tools.preview_pending())
    app.processEvents()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(OUT))
    window.shutdown()
    print(OUT if ok else f"could not write {OUT}")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    raise SystemExit(main())
