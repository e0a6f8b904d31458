"""`colorcore info`: versions, compute device (CUDA / MPS / CPU with bf16 support), threads."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
from pathlib import Path

from colorcore.core.provenance import LIBRARIES, distribution_version

QT_MODULES = ("PySide6", "pyqtgraph")  # never imported by the engine, so never imported to read a version
NOT_INSTALLED = "not installed"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `info` command."""
    p = subparsers.add_parser(
        "info",
        help="show versions, the compute device and CPU features",
        description="Print the versions of colorcore and its libraries, the device training would use "
        "(CUDA GPU, Apple MPS or CPU), whether the CPU runs bf16 natively, and the thread count.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text lines")
    p.add_argument("--model", type=Path, default=None, metavar="MODEL",
                   help="also describe this model (run folder, .pt or .safetensors): architecture, pre-trained "
                        "trunk and its licence, held-out quality")
    p.set_defaults(func=run)


def starter_summary() -> str:
    """One line naming the bundled starter model (file, architecture, trunk, held-out quality) or saying it is missing."""
    from colorcore.models.settings import starter_model_path

    try:
        path = starter_model_path()
    except FileNotFoundError as exc:
        return f"missing ({exc})"
    return model_summary(path)


def model_summary(path: Path) -> str:
    """One line describing a model file or run folder: architecture, size, trunk and its licence,
    held-out quality, calibration, weights licence (or why it cannot be read)."""
    from colorcore.models.calibration import CalibrationError, ChromaCalibration
    from colorcore.models.checkpoint import ModelFileError, read_metadata

    try:
        meta = read_metadata(path)
    except ModelFileError as exc:
        return f"missing ({exc})"
    config = meta.get("model_config", {})
    metrics = meta.get("training", {}).get("metrics", {})
    quality = f", held-out PSNR {metrics['psnr']:.2f} dB" if isinstance(metrics.get("psnr"), float) else ""
    try:
        chroma = ChromaCalibration.from_metadata(meta.get("inference"), path)
    except CalibrationError as exc:
        return f"unusable ({exc})"
    steps = []  # the calibration's non-neutral parts, in the order they are applied
    if chroma.flip_average:
        steps.append("averaged with the mirrored photo's")
    if chroma.sigma:
        steps.append(f"blurred {chroma.sigma:g} px")
    if chroma.scale != 1:
        steps.append(f"scaled by {chroma.scale:g}")
    calibration = f"; chroma {', '.join(steps)} (calibrated on held-out photos)" if steps else ""
    licence = meta.get("starter", {}).get("weights_licence")
    return (f"{path} ({meta.get('architecture')} width {config.get('width')}, {config.get('image_size')} px"
            f"{trunk_summary(config)}{quality}{calibration}"
            f"{f'; weights {licence}' if licence else ''})")


def trunk_summary(config: dict) -> str:
    """", trunk NAME (its weights and licence)" for a multipath model's saved config, else ""."""
    from colorcore.models.generator import resolve_trunk
    from colorcore.models.trunks import TRUNK_DESCRIPTIONS

    if config.get("name", "multipath") != "multipath":
        return ""
    trunk = resolve_trunk(config.get("trunk", "auto"), config.get("resnet_weights", "none"),
                          bool(config.get("finetune_resnet")))
    return f", trunk {trunk} ({TRUNK_DESCRIPTIONS[trunk]})"


def imagenet_trunk() -> str:
    """The EfficientNet-Lite0 trunk's weight file and licence, or why it is missing."""
    from colorcore.models.trunks import TRUNK_DESCRIPTIONS, TrunkUnavailableError, efficientnet_lite0_weights_path

    try:
        return f"{efficientnet_lite0_weights_path()} ({TRUNK_DESCRIPTIONS['efficientnet-lite0']})"
    except TrunkUnavailableError as exc:
        return f"missing ({exc})"


def library_version(module_name: str, distributions: tuple[str, ...]) -> str:
    """The installed distribution's version; without package metadata (a frozen app may have none) the
    module's own `__version__`; "not installed" when the module cannot be found at all."""
    version = distribution_version(distributions)
    if version:
        return version
    try:
        found = importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return NOT_INSTALLED
    if module_name in QT_MODULES:
        return "present (no package metadata)"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a library that is there but fails to import: say so, do not crash
        return f"present but fails to import ({type(exc).__name__}: {exc})"
    return str(getattr(module, "__version__", "present (no version recorded)"))


def run(args: argparse.Namespace) -> int:
    """Print the system report."""
    import cv2

    from colorcore.core.device import system_report

    report = system_report()
    for label, (module_name, distributions) in LIBRARIES.items():
        report[label] = library_version(module_name, distributions)
    report["opencv saliency (contrib)"] = "yes" if hasattr(cv2, "saliency") else "no (install opencv-contrib)"
    report["starter model"] = starter_summary()
    report["ImageNet trunk"] = imagenet_trunk()
    if args.model is not None:
        report["model"] = model_summary(args.model)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    width = max(len(label) for label in report)
    for label, value in report.items():
        print(f"{label:<{width}}  {value}")
    return 0
