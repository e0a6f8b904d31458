"""Entry point of the desktop app (`colorcore-studio`, `python -m app`).

`--screenshot PATH --tab NAME` renders the window with one tab (optionally showing a run, a
prepared dataset, a model, photos or a photo folder) to a PNG and exits. `--self-test` runs the
frozen build's self-test.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path
from typing import Sequence

START_TIME = time.perf_counter()

SELF_TEST_FLAG = "--self-test"
SCREENSHOT_SIZE = (1280, 820)
SCREENSHOT_TIMEOUT_S = 120.0
SETTLE_MS = 500
ICON_PATH = Path(__file__).resolve().parent.parent / "resources" / "icons" / "colorcore-studio-256.png"


def parse_args(argv: Sequence[str] | None = None):
    """The app's command line."""
    import argparse

    from app.main_window import TAB_TITLES

    parser = argparse.ArgumentParser(prog="colorcore-studio", description="ColorCore Studio desktop app")
    parser.add_argument("--screenshot", metavar="PATH", help="render the window to a PNG and exit")
    parser.add_argument("--tab", default="Dataset", help=f"tab to show: {', '.join(TAB_TITLES)}")
    parser.add_argument("--run", metavar="DIR", help="open a run folder (Results; Training resume)")
    parser.add_argument("--dataset", metavar="DIR", help="open a prepared dataset")
    parser.add_argument("--source", metavar="DIR", help="photo folder for the Dataset tab's previews")
    parser.add_argument("--model", metavar="FILE", help="open a model file (Colourise, Results)")
    parser.add_argument("--photos", metavar="FILE", nargs="+", help="photos to queue in the Colourise tab")
    parser.add_argument("--downstream", "--experiment", metavar="DIR", dest="downstream",
                        help="CIFAR-10 experiment output folder to show in the Downstream tab")
    parser.add_argument(SELF_TEST_FLAG, action="store_true", help="check the installation and exit "
                        "(see `--self-test --help`)")
    parser.add_argument("--startup-probe", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _wait_until_settled(app, window, tab, timeout_s: float) -> bool:
    """Process events until the engine is loaded, no tab has a job running and `tab` has no
    pending work (or the timeout passes)."""
    deadline = time.monotonic() + timeout_s

    def settled() -> bool:
        pending = getattr(tab, "has_pending_work", None)
        return window.is_engine_loaded() and not window.busy_tabs() and not (pending and pending())

    while time.monotonic() < deadline and not settled():
        app.processEvents()
        time.sleep(0.02)
    end = time.monotonic() + SETTLE_MS / 1000
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    return settled()


def tab_index(name: str) -> int | None:
    """Index of the tab called `name` (case-insensitive; "colorize" and the Downstream tab's old name
    "experiment" accepted)."""
    from app.main_window import TAB_TITLES

    aliases = {"colorize": "colourise", "experiment": "downstream"}
    key = aliases.get(name.lower(), name.lower())
    titles = [title.lower() for title in TAB_TITLES]
    return titles.index(key) if key in titles else None


def _screenshot(app, window, args) -> int:
    index = tab_index(args.tab)
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    if args.source:
        window.dataset_tab.set_source_folder(args.source)
    if args.dataset:
        window.open_dataset(args.dataset)
    if args.run:
        window.open_run(args.run)
    if args.model:
        window.open_model(args.model)
    if args.photos:
        add_paths = getattr(window.colorize_tab, "add_paths", None)
        if add_paths is not None:
            add_paths(list(args.photos))
    if args.downstream:
        window.downstream_tab.open_results(args.downstream)
    window.tabs.setCurrentIndex(index)
    tab = window.tabs.currentWidget()
    if not _wait_until_settled(app, window, tab, SCREENSHOT_TIMEOUT_S):
        print("colorcore-studio: the tab did not become idle in time; saving it as it is", file=sys.stderr)
    out = Path(args.screenshot)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out)):
        print(f"colorcore-studio: could not write {out}", file=sys.stderr)
        return 1
    print(out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Start the app; returns the exit code."""
    multiprocessing.freeze_support()
    from app.refcounts import protect_singletons

    protect_singletons()  # before any Qt call: see app/refcounts.py
    arguments = list(sys.argv[1:] if argv is None else argv)
    if sys.platform == "win32":
        # torch's DLLs must load before Qt's on Windows; elsewhere torch loads after the window shows
        import torch  # noqa: F401
    if SELF_TEST_FLAG in arguments:  # the self-test parses its own options
        from app import selftest

        return int(selftest.run(arguments) or 0)
    args = parse_args(arguments)
    if args.screenshot and tab_index(args.tab) is None:
        from app.main_window import TAB_TITLES

        print(f"colorcore-studio: unknown tab {args.tab!r}; choose one of {', '.join(TAB_TITLES)}", file=sys.stderr)
        return 2

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app.main_window import APP_NAME, ORGANISATION, MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName("colorcore-studio")
    app.setApplicationDisplayName(APP_NAME)
    app.setDesktopFileName("colorcore-studio")
    if ICON_PATH.is_file():
        app.setWindowIcon(QIcon(str(ICON_PATH)))
    window = MainWindow(QSettings())
    if args.screenshot:
        code = _screenshot(app, window, args)
        window.shutdown()
        return code
    window.show()
    if args.startup_probe:
        def report() -> None:
            print(f'{{"window_shown_s": {time.perf_counter() - START_TIME:.3f}}}', flush=True)
            window.close()

        QTimer.singleShot(0, report)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
