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

from colorcore.core.advice import GIVE, LOWER, OFF, ON, OTHER, REDO, SET, Advice, AdvisedError, AdviceWords, advice_of

COMMANDS = ("prepare", "train", "evaluate", "export", "colorize", "compare", "downstream", "demo", "info")

# the engine's advice (`colorcore.core.advice`) in command-line words: each option's flag
CLI_WORDS = AdviceWords(
    options={
        "batch_size": "--batch-size", "width": "--width", "device": "--device", "resume": "--resume",
        "resnet_weights": "--resnet-weights", "lr_g": "--lr-g", "lr_d": "--lr-d", "preset": "--preset",
        "epochs": "--epochs", "max_steps": "--max-steps", "seed": "--seed", "init": "--init",
        "min_epoch_interval_s": "--min-epoch-interval", "out": "--out", "overwrite": "--overwrite",
        "download": "--download", "data": "--data", "suffix": "--suffix",
    },
    actions={LOWER: "lower {option}", SET: "use {option} {value}", ON: "add {option}", OFF: "drop {option}",
             OTHER: "use another {option}", REDO: "make {option} again", GIVE: "pass {option}"},
    phrases={
        ("run_dir", OTHER): "choose another run folder",
        ("data", REDO): "prepare it again with `colorcore prepare`",
        ("verify", OFF): "pass --no-verify",
        ("data", GIVE): "pass --data DATA",
        ("resnet_weights", OTHER): "use --resnet-weights PATH to a local ResNet-18 file",
    },
)


def advice_text(advice: Sequence[Advice], suggestion: str = "") -> str:
    """A suggestion and the engine's advice in command-line words ("" when there is neither)."""
    return CLI_WORDS.text(advice, suggestion)


def with_advice(message: str, advice: Sequence[Advice], suggestion: str = "") -> str:
    """`message (what to try)`: a failure as the command line prints it."""
    text = advice_text(advice, suggestion)
    return f"{message} ({text})" if text else message


class CLIError(AdvisedError):
    """A user-facing error: printed as one line with its advice in flags, no traceback. Raised while
    handling an engine error, it also words that error's advice (`colorcore.core.advice`)."""

    def __init__(self, message: str, code: int = 2, advice: Sequence[Advice] = ()) -> None:
        super().__init__(message, advice)
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
        advice = exc.advice + advice_of(exc.__cause__ or exc.__context__)
        print(f"colorcore {args.command}: error: {with_advice(str(exc), advice)}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"colorcore {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
