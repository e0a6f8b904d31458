"""`colorcore compare RUN... [--data DATA] [--out DIR]`: one table and one grid for several models."""

from __future__ import annotations

import argparse
import sys

from colorcore.cli import CLIError

DEFAULT_OUT = "comparison"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `compare` command."""
    p = subparsers.add_parser(
        "compare",
        help="compare several trained models on the same test split",
        description="Evaluate each model (run folder, .pt checkpoint or .safetensors file) on the same split "
        "of one prepared dataset and write comparison.md and comparison.csv (model, parameters, PSNR, "
        "SSIM, colourfulness, training img/s from the run's metrics.csv, epochs) plus comparison_grid.png "
        "(the same photos: gray row first, one row per model, real row last). A run that cannot be used "
        "is reported and left out; the others are still compared.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="run folders, .pt checkpoints, .safetensors files, or 'starter' for the bundled "
                   "starter model (a reference row)")
    p.add_argument("--data", default=None,
                   help="prepared dataset folder (default: the dataset the first run was trained on)")
    p.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    p.add_argument("--split", default="test", help="split to score (default: %(default)s)")
    p.add_argument("--n", type=int, default=8, help="photos in the grid (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="images per forward pass (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps (default: %(default)s)")
    p.add_argument("--limit", type=int, default=None, help="score only the first N images of the split")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compare, print the table, write the files; exit 1 when some runs were left out."""
    from colorcore.evaluation.compare import CompareError, compare_runs, table_markdown, write_comparison
    from colorcore.core.device import DeviceError, resolve_device

    if args.n < 0 or args.batch_size < 1 or (args.limit is not None and args.limit < 1):
        raise CLIError("--n must be >= 0, --batch-size >= 1 and --limit >= 1")
    try:
        device = resolve_device(args.device)
        result = compare_runs(args.runs, args.data, args.split, n=args.n, batch_size=args.batch_size,
                              device=device, limit=args.limit)
    except (CompareError, DeviceError) as exc:
        raise CLIError(str(exc)) from None
    for run_path, reason in result.skipped:
        print(f"colorcore compare: left out {run_path}: {reason}", file=sys.stderr)
    print(table_markdown(result), end="")
    try:
        written = write_comparison(result, args.out)
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot write the comparison into {args.out}: {exc}") from None
    for path in written.values():
        print(f"wrote {path}")
    return 1 if result.skipped else 0
