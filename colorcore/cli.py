"""`colorcore` command line: a thin dispatcher over the modules in `colorcore.commands`.

Each command module defines `add_parser(subparsers)` (which sets `func`) and imports heavy
libraries (torch, cv2) inside its handler, so `colorcore --help` stays fast.
Exit codes: 0 success, 1 partial failure (some inputs failed), 2 bad arguments or unusable input,
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

COMMANDS = ("prepare", "train", "evaluate", "export", "colorize", "compare", "downstream", "demo", "info")


class CLIError(Exception):
    """A user-facing error: printed as one line, no traceback."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every command's sub-parser."""
    from colorcore import __version__

    parser = argparse.ArgumentParser(
        prog="colorcore",
        description="Edge- and saliency-guided GAN colourisation: prepare data, train, evaluate, "
        "colourise photos at full resolution, and run the CIFAR-10 representation experiment.",
    )
    parser.add_argument("--version", action="version", version=f"colorcore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"colorcore.commands.{name}")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `colorcore` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"colorcore {args.command}: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"colorcore {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
