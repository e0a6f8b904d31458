"""`colorcore colorize`: colourise photos, videos and folders at full resolution with a trained model."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from colorcore.inference.batch import DEFAULT_QUALITY, FORMATS, OUTPUT_SUFFIX, BatchItem, find_inputs, output_path, refusal
from colorcore.cli import with_advice
from colorcore.core.events import ItemEvent, ProgressEvent

if TYPE_CHECKING:
    from colorcore.inference.colour_control import ColourControls


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `colorize` command."""
    p = subparsers.add_parser(
        "colorize",
        help="colourise photos and videos at full resolution (the bundled starter model, or your own)",
        description="Colourise photos, videos and folders (searched recursively) at their full resolution: the "
        "model predicts the colour, each photo or frame keeps its own luminance, so no detail is lost. Videos "
        "(recognised by container: MP4, M4V, MOV, MKV, WebM, AVI) keep their frame count, frame rate, size and audio, and their colour is "
        "carried along the motion from frame to frame (no flicker) and reset at scene cuts; --hints, --reference "
        "and --saturation apply to every frame after that step. Without a "
        "model the bundled starter model is used; give one as --model MODEL, or as the first argument "
        "(a run folder, .pt checkpoint or .safetensors file). Outputs go "
        "beside each photo (or under --out, keeping sub-folders) as NAME<suffix>.EXT (videos keep their container; "
        "formats that cannot be written become PNG; NAME<suffix>_2.EXT when two inputs would share a name); folder "
        "searches leave out earlier outputs (NAME<suffix>[_N].EXT) and hidden files. Any picture Pillow reads is "
        "taken, whatever its mode; of an animated or multi-page file, the first frame (said on stderr). "
        "Existing files are never replaced without --overwrite, also when another colorize run writes them "
        "meanwhile. Exit code 0: all photos done; 1: some failed (each is named with the reason); 2: bad "
        "arguments (no model, no photos, every output exists...).",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="[MODEL] INPUT",
                   help="photo or video files or folders, optionally after a model (run folder, .pt or .safetensors)")
    p.add_argument("--model", default=None, metavar="MODEL",
                   help="run folder, .pt checkpoint, .safetensors model file, or 'starter' (the default: the "
                        "starter model shipped with ColorCore Studio)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: beside each photo); sub-folders of input folders are kept")
    p.add_argument("--suffix", default=OUTPUT_SUFFIX, help="added to each output name (default %(default)s)")
    p.add_argument("--format", choices=FORMATS, default="same",
                   help="photo output format: same as the input (default), png or jpg (videos keep theirs)")
    p.add_argument("--quality", type=int, default=DEFAULT_QUALITY, help="JPEG quality 1-100 (default %(default)s)")
    p.add_argument("--no-guided", action="store_true",
                   help="upsample the colour bilinearly instead of following the photo's edges (guided filter)")
    p.add_argument("--inference-size", type=int, default=None, metavar="N",
                   help="network input size: default the trained size; larger multiples of it for fully "
                   "convolutional models (e.g. 128 for a model trained at 64; colours are usually worse "
                   "unless the model was trained at that size)")
    p.add_argument("--fit", choices=("squash", "letterbox"), default="squash",
                   help="how a non-square photo becomes the square network input (default %(default)s)")
    p.add_argument("--hints", type=Path, default=None, metavar="HINTS.json",
                   help="colour hints (points and strokes, coordinates relative to the photo or frame) to apply to "
                        "every photo and to every frame of every video (at the same place on each frame: they do "
                        "not follow motion); format: docs/colour-control.md")
    p.add_argument("--reference", type=Path, action="append", default=None, metavar="PHOTO",
                   help="colour by example: a colour photo whose colours go to the same kind of things in each "
                        "photo (sky to sky, grass to grass; matched by an ImageNet-trained network), the model's "
                        "colour where nothing matches; repeat for several reference photos; videos: every frame")
    p.add_argument("--reference-mode", choices=("semantic", "global"), default="semantic",
                   help="semantic (default): colour matched by what things are; global: only move the colours "
                        "towards the reference's mean and spread (the same tint everywhere)")
    p.add_argument("--saturation", type=float, default=1.0, metavar="S",
                   help="scale the colour's saturation, 0 (gray) to 2, kept inside the gamut (default 1: as "
                        "predicted); photos and videos")
    p.add_argument("--no-temporal", action="store_true",
                   help="colourise each video frame on its own (no colour carried between frames: it flickers)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files (and inputs)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--debug", action="store_true",
                   help="print the traceback of an unexpected error (a bug to report) under the file it failed")
    p.set_defaults(func=run)


def collect_items(inputs: list[Path], out: Path | None, suffix: str, fmt: str) -> tuple[list[BatchItem], list[str]]:
    """Photos and videos to colourise (`colorcore.inference.batch.find_inputs`: files as given, folders searched
    recursively without earlier outputs) with their outputs (a folder's files keep their sub-folders
    under `--out`), and one problem per bad input."""
    found, problems = find_inputs(inputs, skip_suffix=suffix)
    items = []
    taken: set[Path] = set()
    for file, root in found:
        if root is None:
            folder = out if out is not None else file.parent
        else:
            folder = (out / file.parent.relative_to(root)) if out is not None else file.parent
        number = 1
        target = output_path(file, folder, suffix=suffix, fmt=fmt)
        while target in taken:  # anim.gif and anim.png both give anim_colour.png: the second is numbered
            number += 1
            target = output_path(file, folder, suffix=suffix, fmt=fmt, number=number)
        taken.add(target)
        items.append(BatchItem(file, target))
    return items, problems


def looks_like_model(path: Path) -> bool:
    """True for a model given as a positional argument: "starter", a run folder that holds a model, or a
    .pt/.safetensors file."""
    from colorcore.models.settings import MODEL_SUFFIXES, STARTER
    from colorcore.training.runs import RunFolder

    if path.is_dir():
        return RunFolder(path).model_file() is not None
    return str(path) == STARTER or path.suffix in MODEL_SUFFIXES


def split_model(inputs: list[Path], model: str | None) -> tuple[str | None, list[Path]]:
    """(model argument, photo inputs): --model, else a leading model argument, else None (the starter model)."""
    if model is None and len(inputs) > 1 and looks_like_model(inputs[0]):
        model, inputs = str(inputs[0]), inputs[1:]
    return model, inputs


class _Bars:
    """`colorize_many`'s listener on the command line: a tqdm bar of files and, while a video runs, one
    of its frames (rate in frames/s, time left); each written file on stdout, each failure on stderr."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self.tqdm = tqdm
        self.files = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True)
        self.frames: tqdm | None = None
        self.name = ""

    def on_item(self, event: ItemEvent) -> None:
        if event.status == ItemEvent.STARTED:
            self.name = event.source.name
            self.files.set_postfix_str(self.name, refresh=False)
            return
        self.close_frames()
        if event.status == ItemEvent.DONE:
            self.tqdm.write(str(event.target), file=sys.stdout)
            if event.message:
                self.tqdm.write(f"colorcore colorize: note: {event.source}: {event.message}", file=sys.stderr)
        else:
            self.tqdm.write(f"colorcore colorize: {with_advice(event.message, event.advice)}", file=sys.stderr)

    def on_item_progress(self, event: ProgressEvent) -> None:
        if self.frames is None:
            self.frames = self.tqdm(unit="frame", desc=self.name, file=sys.stderr, dynamic_ncols=True, leave=False,
                                    position=1)
        self.frames.total = event.total
        self.frames.update(event.done - self.frames.n)

    def on_progress(self, event: ProgressEvent) -> None:
        self.files.update(event.done - self.files.n)

    def close_frames(self) -> None:
        """Close the bar of the video that has ended, if any."""
        if self.frames is not None:
            self.frames.close()
            self.frames = None

    def close(self) -> None:
        """Close both bars."""
        self.close_frames()
        self.files.close()


class _EngineErrors(logging.Handler):
    """The batch's log of unexpected errors (engine bugs): counted, and with --debug each traceback
    printed on stderr under its file's failure."""

    def __init__(self, debug: bool) -> None:
        super().__init__(logging.ERROR)
        self.debug = debug
        self.count = 0
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.debug:
            from tqdm import tqdm

            tqdm.write(f"colorcore colorize: {self.format(record)}", file=sys.stderr)


def colour_controls(args: argparse.Namespace) -> ColourControls:
    """The `ColourControls` of --hints, --reference and --saturation (CLIError naming a bad file)."""
    from colorcore.cli import CLIError
    from colorcore.inference.colour_control import SATURATION_MAX, ColourControls, load_reference
    from colorcore.inference.hints import Hints, HintsError, load_hints
    from colorcore.data.imageio import ImageReadError
    from colorcore.models.trunks import TrunkUnavailableError

    if not 0.0 <= args.saturation <= SATURATION_MAX:
        raise CLIError(f"--saturation must be between 0 and {SATURATION_MAX:g}, got {args.saturation:g}")
    try:
        hints = load_hints(args.hints) if args.hints is not None else Hints()
    except HintsError as exc:
        raise CLIError(f"--hints {exc}") from None
    try:
        reference = load_reference(args.reference, args.reference_mode) if args.reference else None
    except ImageReadError as exc:
        raise CLIError(f"--reference {exc.path}: {exc.reason}") from None
    except TrunkUnavailableError as exc:
        raise CLIError(f"--reference: {exc} (or use --reference-mode global)") from None
    return ColourControls(hints=hints, reference=reference, saturation=args.saturation)


def run(args: argparse.Namespace) -> int:
    """Handler of `colorcore colorize`."""
    from colorcore.cli import CLIError
    from colorcore.core.device import DeviceError
    from colorcore.inference.batch import colorize_many
    from colorcore.models.base import check_inference_size
    from colorcore.models.checkpoint import ModelFileError, load_model, resolve_model_path

    if not 1 <= args.quality <= 100:
        raise CLIError(f"--quality must be between 1 and 100, got {args.quality}")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise CLIError(f"--out {args.out} exists and is not a folder")
    args.model, args.inputs = split_model(args.inputs, args.model)
    try:
        resolve_model_path(args.model)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    items, problems = collect_items(args.inputs, args.out, args.suffix, args.format)
    if not items:
        raise CLIError("no photos to colourise: " + "; ".join(problems))
    check_arguments(args, items)
    controls = colour_controls(args)
    try:
        model = load_model(args.model, args.device)
    except DeviceError as exc:
        raise CLIError(str(exc)) from exc
    except ModelFileError as exc:
        raise CLIError(str(exc)) from exc
    try:
        check_inference_size(model, args.inference_size)
    except (ValueError, RuntimeError, MemoryError) as exc:  # RuntimeError, MemoryError: no memory for the trial
        raise CLIError(f"--inference-size {args.inference_size}: {exc}") from exc

    for problem in problems:
        print(f"colorcore colorize: {problem}", file=sys.stderr)
    engine_errors = _EngineErrors(args.debug)
    batch_log = logging.getLogger("colorcore.inference.batch")
    batch_log.addHandler(engine_errors)
    batch_log.propagate = False  # the traceback of an engine bug is not the user's to read, unless --debug
    bars = _Bars(len(items))
    try:
        result = colorize_many(
            [replace(item, controls=controls) for item in items], model, [bars], guided=not args.no_guided,
            inference_size=args.inference_size, fit=args.fit, quality=args.quality, temporal=not args.no_temporal,
            overwrite=args.overwrite,
        )
    finally:
        bars.close()
        batch_log.removeHandler(engine_errors)
        batch_log.propagate = True
    failed = result.failed + len(problems)
    print(f"colourised {result.done} of {result.done + failed} file(s)" + (f"; {failed} failed" if failed else ""),
          file=sys.stderr)
    if engine_errors.count and not args.debug:
        print(f"colorcore colorize: {engine_errors.count} file(s) failed with an unexpected error (a bug: please "
              "report it); run again with --debug to see its traceback", file=sys.stderr)
    return 1 if failed else 0


def check_arguments(args: argparse.Namespace, items: list[BatchItem]) -> None:
    """CLIError (exit 2) for a flag out of range, and when no file could be colourised because every
    output exists (or would replace its input): that needs --overwrite, --suffix or --out."""
    from colorcore.cli import CLIError
    from colorcore.models.settings import MAX_NETWORK_SIZE

    if args.inference_size is not None and not 1 <= args.inference_size <= MAX_NETWORK_SIZE:
        raise CLIError(f"--inference-size must be between 1 and {MAX_NETWORK_SIZE} (a multiple of the model's "
                       f"trained size), got {args.inference_size}")
    refusals = [refusal(item, set(), args.overwrite) for item in items]
    if all(refusals):
        more = f" (and {len(refusals) - 1} more like it)" if len(refusals) > 1 else ""
        raise CLIError(f"nothing to colourise: {refusals[0].reason}{more}", advice=refusals[0].advice)
