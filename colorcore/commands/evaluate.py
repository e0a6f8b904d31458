"""`colorcore evaluate RUN_OR_MODEL DATA`: PSNR/SSIM/colourfulness on a split, plus a comparison grid."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from colorcore.cli import CLIError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `evaluate` command."""
    p = subparsers.add_parser(
        "evaluate",
        help="score a model on a prepared dataset split",
        description="Colourise every image of a prepared dataset split with a model (run folder, .pt or "
        ".safetensors) and report PSNR, SSIM (8-bit RGB) and colourfulness, per image and on average; "
        "saves a gray | fake | real grid of the first images.",
    )
    p.add_argument("model", help="run folder, .pt checkpoint or .safetensors model file")
    p.add_argument("data", help="prepared dataset folder")
    p.add_argument("--split", default="test", help="split to score (default: %(default)s)")
    p.add_argument("--json", dest="json_out", help="write the summary and the per-image table to this JSON file")
    p.add_argument("--grid", help="comparison grid PNG (default: evaluation_SPLIT.png next to the model)")
    p.add_argument("--batch-size", type=int, default=64, help="images per forward pass (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps (default: %(default)s)")
    p.add_argument("--limit", type=int, default=None, help="score only the first N images")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the means, write the JSON and the grid."""
    from colorcore.core.atomic import atomic_write_text
    from colorcore.models.checkpoint import ModelFileError
    from colorcore.data.prepared import DatasetError
    from colorcore.core.device import DeviceError
    from colorcore.evaluation.evaluate import evaluate_model_file
    from colorcore.data.imageio import write_image

    source = Path(args.model)
    try:
        result = evaluate_model_file(source, args.data, args.split, device=args.device, batch_size=args.batch_size,
                                     limit=args.limit)
    except (ModelFileError, DatasetError, DeviceError) as exc:
        raise CLIError(str(exc)) from None
    except ValueError as exc:  # the model cannot run at the dataset's image size
        raise CLIError(f"{args.data}: {exc}") from None
    if not result.per_image:
        raise CLIError(f"{args.data}: split {args.split!r} has no images")
    s = result.summary
    print(f"{source} on {args.split} ({len(result.per_image)} images): PSNR {s['psnr']:.2f} dB, "
          f"SSIM {s['ssim']:.4f}, colourfulness {s['colourfulness']:.2f}")
    folder = source if source.is_dir() else source.parent
    grid_path = Path(args.grid) if args.grid else folder / f"evaluation_{args.split}.png"
    try:
        if result.grid is not None:
            write_image(grid_path, result.grid)
            print(f"grid: {grid_path}")
        if args.json_out:
            payload = {"model": str(source), "data": str(args.data), **result.to_json()}
            atomic_write_text(args.json_out, json.dumps(payload, indent=1) + "\n")
            print(f"json: {args.json_out}")
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot write the results: {exc}") from None
    return 0
