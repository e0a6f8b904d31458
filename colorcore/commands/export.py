"""`colorcore export RUN [OUT.safetensors]`: write a run's generator as a safe model file."""

from __future__ import annotations

import argparse
from pathlib import Path

from colorcore.cli import CLIError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `export` command."""
    p = subparsers.add_parser(
        "export",
        help="export a trained model to .safetensors",
        description="Write the generator of a run folder (its checkpoints/best.pt, the validation with the best "
        "held-out PSNR, else its checkpoints/last.pt) or of a .pt checkpoint to a .safetensors model file with "
        "JSON metadata (architecture, image size, colour space, training summary, the chroma calibration a "
        "fine-tuned run keeps from its starting model).",
    )
    p.add_argument("run", help="run folder or .pt checkpoint")
    p.add_argument("out", nargs="?", help="output .safetensors file (default: RUN/model.safetensors)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export and print where the file is."""
    from colorcore.models.checkpoint import MODEL_FILE_NAME, ModelFileError, export_model, read_metadata

    source = Path(args.run)
    out = Path(args.out) if args.out else (source if source.is_dir() else source.parent) / MODEL_FILE_NAME
    if out.suffix != ".safetensors":
        raise CLIError(f"{out}: the output must end in .safetensors")
    try:
        written = export_model(source, out)
        meta = read_metadata(written)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    except OSError as exc:
        raise CLIError(f"{out}: cannot write ({exc.strerror or exc})") from None
    steps = meta.get("training", {}).get("steps")
    print(f"exported {meta['architecture']} ({meta['image_size']} px"
          + (f", {steps} steps" if steps is not None else "") + f") to {written}")
    return 0
