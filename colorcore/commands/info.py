"""`colorcore info`: versions, compute device (CUDA / MPS / CPU with bf16 support), threads."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `info` command."""
    p = subparsers.add_parser(
        "info",
        help="show versions, the compute device and CPU features",
        description="Print the versions of colorcore and its libraries, the device training would use "
        "(CUDA GPU, Apple MPS or CPU), whether the CPU runs bf16 natively, and the thread count.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the system report."""
    import cv2

    from colorcore.device import system_report

    report = system_report()
    report["opencv saliency (contrib)"] = "yes" if hasattr(cv2, "saliency") else "no (install opencv-contrib)"
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    width = max(len(label) for label in report)
    for label, value in report.items():
        print(f"{label:<{width}}  {value}")
    return 0
