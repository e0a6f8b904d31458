"""`colorcore-studio --self-test`: prove that an installed or frozen app works, end to end, offscreen.

Checks, in order: the environment, the import order, the bundled resources, torchvision's
compiled ops, the pre-trained trunk's weights (EfficientNet-Lite0 names a bundled sample), the main
window (built offscreen when there is no display), a tiny model (trained for a few steps on the
bundled samples, or loaded with `--model`), a full-size colourisation of a bundled sample (size, luminance and colour checked) and the `colorcore` command line (the sibling
executable in a frozen app). Each check prints one line; the exit code is 0 when all passed, 1
otherwise. In a windowed executable without a console the report goes to a file in the home folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

import torch  # before PySide6: on Windows the other order breaks torch's DLL loading

CLI_NAME = "colorcore"
REPORT_FILE_NAME = "colorcore-studio-selftest.txt"
MIN_SAMPLES = 4
TRAIN_STEPS = 3
EVAL_IMAGES = 2  # test images scored (and shown in the sample grid) after each epoch
TRAIN_BATCH = 8
TRAIN_IMAGE_SIZE = 64
TRAIN_WIDTH = 8
PREPARE_WORKERS = 2  # worker processes: proves that multiprocessing starts inside a frozen app
MIN_COLOUR_FRACTION = 0.01  # share of pixels whose chroma must exceed MIN_CHROMA
MIN_CHROMA = 2.0  # Lab a/b distance from neutral gray (8-bit scale) that counts as colour
CLI_TIMEOUT_S = 1800  # a hang guard, not a speed check: a loaded machine may take minutes
SUBPROCESS_OUTPUT_CHARS = 600
TRUNK_PROBE = ("coffee.jpg", "espresso")  # a bundled sample and the ImageNet class the trunk names it
REQUIRED_LIBRARIES = ("torch", "torchvision", "opencv")  # `colorcore info` must report a version of each
SALIENCY_LABEL = "opencv saliency (contrib)"
WINDOW_SIZE = (1000, 700)
ENGINE_LOAD_TIMEOUT_S = 900.0  # likewise
EVENT_POLL_S = 0.02


class CheckFailed(Exception):
    """A check found the app not working; the message says what is wrong."""


@dataclass
class SelfTest:
    """State shared by the checks: where to write, what earlier checks produced, what passed."""

    report: TextIO
    work_dir: Path
    model_path: Path | None = None
    results: list[tuple[str, bool]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)

    def check(self, name: str, func: Callable[["SelfTest"], str], needs: Sequence[str] = ()) -> bool:
        """Run one check, print `[ OK ]`, `[FAIL]` or `[SKIP]` with its detail; return whether it passed."""
        missing = [key for key in needs if key not in self.state]
        if missing:
            self._line("SKIP", name, f"needs {', '.join(missing)} from an earlier check")
            self.results.append((name, False))
            return False
        start = time.perf_counter()
        try:
            detail = func(self)
            ok = True
        except CheckFailed as exc:
            detail, ok = str(exc), False
        except Exception as exc:  # a crash inside a check is a failed check, reported with its trace
            detail, ok = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}", False
        self._line(" OK " if ok else "FAIL", name, f"{detail} ({time.perf_counter() - start:.1f} s)")
        self.results.append((name, ok))
        return ok

    def _line(self, status: str, name: str, detail: str) -> None:
        print(f"[{status}] {name}: {detail}", file=self.report, flush=True)


def is_frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def use_offscreen_if_headless() -> bool:
    """Select Qt's offscreen platform when no platform is chosen and there is no display; True if so."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return False
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    return headless


def cli_command() -> list[str]:
    """How to start the `colorcore` CLI: the sibling executable when frozen, else this Python."""
    if is_frozen():
        exe = Path(sys.executable).with_name(CLI_NAME + (".exe" if sys.platform == "win32" else ""))
        return [str(exe)]
    return [sys.executable, "-m", "colorcore"]


def check_environment(test: SelfTest) -> str:
    """Versions and where the app runs from."""
    import torchvision

    cuda = torch.version.cuda
    build = f"CUDA {cuda} build" if cuda else "CPU-only build"
    device = f"GPU: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no GPU in use"
    where = f"frozen bundle at {Path(sys.executable).parent}" if is_frozen() else f"Python at {sys.executable}"
    return (
        f"{where}; Python {platform.python_version()} on {platform.system()} {platform.machine()}; "
        f"torch {torch.__version__} ({build}, {device}), torchvision {torchvision.__version__}"
    )


def check_import_order(test: SelfTest) -> str:
    """On Windows torch must be imported before PySide6 (torch's DLLs fail to load otherwise)."""
    modules = list(sys.modules)
    if "PySide6" not in sys.modules:
        return "torch imported, PySide6 not yet"
    torch_first = modules.index("torch") < modules.index("PySide6")
    order = "torch before PySide6" if torch_first else "PySide6 before torch"
    if not torch_first and sys.platform == "win32":
        raise CheckFailed(f"{order}: the entry point must import torch first on Windows")
    return order if sys.platform == "win32" else f"{order} (the order matters on Windows only)"


def check_resources(test: SelfTest) -> str:
    """The bundled sample photos, icons and desktop entry are present."""
    from colorcore.data.imageio import list_images
    from colorcore.core.resources import samples_dir

    samples = samples_dir()
    photos = sorted(list_images(samples))
    if len(photos) < MIN_SAMPLES:
        raise CheckFailed(f"{samples}: expected at least {MIN_SAMPLES} sample photos, found {len(photos)}")
    resources = samples.parent
    expected = [resources / "icons" / "colorcore-studio-256.png", resources / "colorcore-studio.desktop"]
    missing = [str(path) for path in expected if not path.is_file()]
    if missing:
        raise CheckFailed("missing resources: " + ", ".join(missing))
    test.state["samples"] = samples
    test.state["photos"] = photos
    return f"{len(photos)} sample photos in {samples}; icon and desktop entry present"


def check_torchvision_ops(test: SelfTest) -> str:
    """torchvision's compiled operators load (non-maximum suppression on three boxes)."""
    import torchvision

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    keep = torchvision.ops.nms(boxes, scores, iou_threshold=0.5).tolist()
    if keep != [0, 2]:
        raise CheckFailed(f"torchvision.ops.nms kept {keep}, expected [0, 2]")
    return "torchvision.ops.nms gave the expected boxes"


def check_trunk(test: SelfTest) -> str:
    """The pre-trained EfficientNet-Lite0 trunk's ImageNet weights load and name a bundled sample photo."""
    from colorcore.data.imageio import read_image
    from colorcore.models.trunks import classify, efficientnet_lite0_weights_path, load_efficientnet_lite0

    photo, expected = TRUNK_PROBE
    net = load_efficientnet_lite0()
    best = classify(net, read_image(test.state["samples"] / photo), top=1)[0]
    if best.name != expected:
        raise CheckFailed(f"EfficientNet-Lite0 calls {photo} {best.name!r} ({best.probability:.2f}), expected {expected!r}")
    return f"{efficientnet_lite0_weights_path().name} loaded; {photo}: {best.name} ({best.probability:.2f})"


def _isolate_qsettings(folder: Path) -> None:
    """Send every default QSettings to `folder`, so the self-test leaves the user's settings alone."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(folder))
        QSettings.setPath(QSettings.Format.NativeFormat, scope, str(folder))


def check_main_window(test: SelfTest) -> str:
    """The main window builds, loads the engine in its worker thread and renders."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    settings_dir = test.work_dir / "settings"
    _isolate_qsettings(settings_dir)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    from app.main_window import MainWindow
    from colorcore.core.device import describe_device

    window = MainWindow(QSettings(str(settings_dir / "colorcore-studio.ini"), QSettings.Format.IniFormat))
    try:
        window.resize(*WINDOW_SIZE)
        deadline = time.monotonic() + ENGINE_LOAD_TIMEOUT_S
        while not window.is_engine_loaded() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(EVENT_POLL_S)
        if not window.is_engine_loaded():
            raise CheckFailed(f"the engine did not load within {ENGINE_LOAD_TIMEOUT_S:.0f} s")
        if window.device_description != describe_device():
            raise CheckFailed(f"the window's status bar says: {window.device_label.text()}")
        image = window.grab().toImage()
        if image.isNull() or image.width() == 0:
            raise CheckFailed("the main window rendered an empty image")
        names = [window.tabs.tabText(i) for i in range(window.tabs.count())]
        if not names:
            raise CheckFailed("the main window has no tabs")
    finally:
        window.shutdown()
        window.close()
        window.deleteLater()
        app.processEvents()
    return (f"Qt platform {app.platformName()!r}, device {window.device_description!r}, "
            f"tabs: {', '.join(names)}")


def _train_tiny_model(samples: Path, work_dir: Path) -> Path:
    """Prepare the samples and train a tiny multipath model for a few steps; return the run folder."""
    from colorcore.data.prepare import prepare
    from colorcore.models.base import ModelConfig
    from colorcore.training.trainer import STATUS_FINISHED, TrainConfig, Trainer

    data = work_dir / "prepared"
    prepared = prepare(samples, data, size=TRAIN_IMAGE_SIZE, workers=PREPARE_WORKERS)
    if prepared.n_train == 0 or prepared.skipped:
        raise CheckFailed(f"preparing {samples} gave {prepared.n_train} training photos, "
                          f"skipped {prepared.skipped}")
    run = work_dir / "run"
    config = TrainConfig(
        data=str(data),
        run_dir=str(run),
        model=ModelConfig(image_size=TRAIN_IMAGE_SIZE, width=TRAIN_WIDTH, resnet_weights="none"),
        batch_size=TRAIN_BATCH,
        max_steps=TRAIN_STEPS,
        device="cpu",
        eval_subset=EVAL_IMAGES,
        sample_count=EVAL_IMAGES,
    )
    result = Trainer(config).run()
    if result.status != STATUS_FINISHED:
        raise CheckFailed(f"training ended {result.status} at step {result.step}: {result.error}")
    return run


def check_model(test: SelfTest) -> str:
    """A tiny model is trained on the bundled samples (or the `--model` file is loaded)."""
    from colorcore.models.checkpoint import load_model

    if test.model_path is not None:
        source = test.model_path
        try:
            model = load_model(source, device="cpu")
        except Exception as exc:  # any unusable file: say which and why, no traceback
            raise CheckFailed(f"cannot load {source}: {exc}") from None
        detail = f"loaded {source}"
    else:
        source = _train_tiny_model(test.state["samples"], test.work_dir)
        model = load_model(source, device="cpu")
        detail = f"trained {TRAIN_STEPS} steps (width {TRAIN_WIDTH}) on the bundled samples"
    test.state["model"] = model
    test.state["model_source"] = source
    return f"{detail}: {type(test.state['model']).__name__}"


def _chroma_fraction(rgb: Any) -> float:
    """Share of pixels whose Lab chroma exceeds MIN_CHROMA."""
    import cv2
    import numpy as np

    from colorcore.inference.chroma import CHROMA_OFFSET

    lab = cv2.cvtColor(np.ascontiguousarray(rgb[:, :, :3]), cv2.COLOR_RGB2Lab).astype(np.float32)
    chroma = np.hypot(lab[:, :, 1] - CHROMA_OFFSET, lab[:, :, 2] - CHROMA_OFFSET)
    return float((chroma > MIN_CHROMA).mean())


def check_colourise(test: SelfTest) -> str:
    """The largest bundled sample is colourised at full size with its luminance kept, in colour."""
    import numpy as np

    from colorcore.inference.colorize import colorize_file
    from colorcore.inference.chroma import L_TOLERANCE, lab_l8
    from colorcore.data.imageio import read_image

    photo = max(test.state["photos"], key=lambda path: path.stat().st_size)
    out = colorize_file(photo, test.state["model"], test.work_dir / "colourised.png")
    source = read_image(photo)
    result = read_image(out)
    problems = []
    if result.shape[:2] != source.shape[:2]:
        problems.append(f"size {result.shape[1]}x{result.shape[0]} differs from the input's "
                        f"{source.shape[1]}x{source.shape[0]}")
    else:
        diff = int(np.abs(lab_l8(result).astype(np.int16) - lab_l8(source).astype(np.int16)).max())
        if diff > L_TOLERANCE:
            problems.append(f"luminance changed by up to {diff} levels (allowed {L_TOLERANCE})")
    colour = _chroma_fraction(result)
    if colour < MIN_COLOUR_FRACTION:
        problems.append(f"the result is gray: only {colour:.1%} of pixels have colour")
    if problems:
        raise CheckFailed(f"{photo.name}: " + "; ".join(problems))
    test.state["colourised"] = out
    return (f"{photo.name} {source.shape[1]}x{source.shape[0]}: same size, luminance within "
            f"{L_TOLERANCE} levels, {colour:.0%} of pixels in colour")


def _run_cli(args: Sequence[str]) -> str:
    """Run the colorcore CLI and return its standard output; CheckFailed with its output's tail otherwise."""
    command = [*cli_command(), *args]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    if proc.returncode != 0:
        output = (proc.stdout or "") + (proc.stderr or "")
        raise CheckFailed(f"`{' '.join(command)}` exited with {proc.returncode}: "
                          f"{output[-SUBPROCESS_OUTPUT_CHARS:].strip()}")
    return proc.stdout


def missing_libraries(info: dict[str, Any]) -> list[str]:
    """The libraries the app needs that a `colorcore info --json` report has no version for (or no
    OpenCV saliency, which only the contrib build has)."""
    missing = [label for label in REQUIRED_LIBRARIES if not _is_version(info.get(label))]
    return missing + ([SALIENCY_LABEL] if info.get(SALIENCY_LABEL) != "yes" else [])


def _is_version(value: Any) -> bool:
    """True for a version string such as "2.6.0+cpu" (not "not installed" or "present (...)")."""
    return isinstance(value, str) and value[:1].isdigit()


def check_cli(test: SelfTest) -> str:
    """The `colorcore` command line runs: --version, info, and colorize with the exported model."""
    from colorcore import __version__
    from colorcore.models.checkpoint import export_model

    version = _run_cli(["--version"])
    if __version__ not in version:
        raise CheckFailed(f"`colorcore --version` printed {version.strip()!r}, expected {__version__}")
    info = json.loads(_run_cli(["info", "--json"]))
    missing = missing_libraries(info)
    if missing:
        raise CheckFailed(f"`colorcore info` reports missing libraries: {', '.join(missing)}")
    model_file = Path(test.state["model_source"])
    if model_file.suffix != ".safetensors":
        model_file = export_model(model_file, test.work_dir / "model.safetensors")
    out_dir = test.work_dir / "cli_out"
    photo = test.state["photos"][0]
    _run_cli(["colorize", str(model_file), str(photo), "--out", str(out_dir)])
    written = sorted(p.name for p in out_dir.iterdir()) if out_dir.is_dir() else []
    if not written:
        raise CheckFailed(f"`colorcore colorize` wrote nothing into {out_dir}")
    return f"{' '.join(cli_command())}: --version, info (torch {info['torch']}), colorize -> {written[0]}"


def _open_report() -> tuple[TextIO, Path | None]:
    """stdout, or a report file in the home folder when there is no console (windowed executable)."""
    if sys.stdout is not None:
        return sys.stdout, None
    path = Path.home() / REPORT_FILE_NAME
    return open(path, "w", encoding="utf-8"), path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Self-test options; unknown arguments (such as --self-test itself) are ignored."""
    parser = argparse.ArgumentParser(prog="colorcore-studio --self-test", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="use this model (run folder, .pt or .safetensors) "
                        "instead of training a tiny one")
    parser.add_argument("--keep", action="store_true", help="keep the self-test's work folder")
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    return args


def run(argv: Sequence[str] | None = None) -> int:
    """Run every check and print a report; 0 when all passed, 1 otherwise."""
    args = parse_args(argv)
    report, report_path = _open_report()
    offscreen = use_offscreen_if_headless()
    work_dir = Path(tempfile.mkdtemp(prefix="colorcore-selftest-"))
    test = SelfTest(report=report, work_dir=work_dir, model_path=args.model)
    print(f"ColorCore Studio self-test{' (offscreen: no display)' if offscreen else ''}", file=report)
    start = time.perf_counter()
    test.check("environment", check_environment)
    test.check("import order", check_import_order)
    test.check("resources", check_resources)
    test.check("torchvision ops", check_torchvision_ops)
    test.check("pre-trained trunk", check_trunk, needs=["samples"])
    test.check("main window", check_main_window)
    test.check("model", check_model, needs=["samples"])
    test.check("colourise", check_colourise, needs=["model", "photos"])
    test.check("command line", check_cli, needs=["model_source", "photos"])
    failed = [name for name, ok in test.results if not ok]
    elapsed = time.perf_counter() - start
    if failed:
        print(f"FAILED: {', '.join(failed)} ({elapsed:.0f} s); work folder kept at {work_dir}", file=report)
    else:
        print(f"PASSED: all {len(test.results)} checks ({elapsed:.0f} s)", file=report)
        if args.keep:
            print(f"work folder kept at {work_dir}", file=report)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    if report_path is not None:
        report.close()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(run())
