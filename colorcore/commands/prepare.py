"""`colorcore prepare SRC OUT`: turn a photo folder into a prepared training dataset."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from colorcore.data.settings import (
    DEFAULT_CROPS_PER_PHOTO,
    DEFAULT_SALIENCY,
    DEFAULT_SEED,
    DEFAULT_SIZE,
    DEFAULT_TEST_FRACTION,
    SALIENCY_METHODS,
)

DEFAULT_MAX_MEGAPIXELS = 180.0  # colorcore.data.imageio.DEFAULT_MAX_PIXELS, here without importing cv2
EXIT_INTERRUPTED = 130


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `prepare` command."""
    p = subparsers.add_parser(
        "prepare",
        help="prepare a photo folder into a training dataset (square crops, edge and saliency maps)",
        description="Read every photo under SRC (recursively; JPEG, PNG, WebP, BMP, TIFF), centre-crop "
        "it to a square, resize it to --size, compute its Canny edge map and saliency map, split the "
        "photos into train and test (seeded), and write the dataset folder OUT. Unreadable files are "
        "skipped and listed with the reason. OUT appears only when complete.",
    )
    p.add_argument("src", type=Path, help="folder of photos (searched recursively)")
    p.add_argument("out", type=Path, help="dataset folder to create (new or empty)")
    p.add_argument("--size", type=int, default=DEFAULT_SIZE,
                   help="square image side in pixels (default %(default)s)")
    p.add_argument("--test-fraction", type=float, default=DEFAULT_TEST_FRACTION,
                   help="share of photos in the test split, 0 <= F < 1 (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the train/test split (default %(default)s)")
    p.add_argument("--saliency", choices=SALIENCY_METHODS, default=DEFAULT_SALIENCY,
                   help="OpenCV saliency: spectral residual (default) or fine-grained")
    p.add_argument("--canny-low", type=float, default=None,
                   help="Canny low threshold (default: derived from each image's median)")
    p.add_argument("--canny-high", type=float, default=None,
                   help="Canny high threshold (default: derived from each image's median)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker threads (default: one per CPU core, up to 8; 1 = no extra thread)")
    p.add_argument("--max-megapixels", type=float, default=DEFAULT_MAX_MEGAPIXELS,
                   help="skip photos larger than this, checked before decoding (default %(default)s)")
    p.add_argument("--crops-per-photo", type=int, default=DEFAULT_CROPS_PER_PHOTO, metavar="N",
                   help="besides each photo's centre square, N random square crops at several scales (0.3 to 1 "
                        "times the shorter side, half of them mirrored): many samples from few photos; the "
                        "train/test split stays by photo (default %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it is a prepared dataset")
    p.set_defaults(func=run)


class TqdmProgress:
    """Engine callback drawing a tqdm bar on stderr (only on a terminal)."""

    def __init__(self) -> None:
        self._bar: Any = None

    def on_progress(self, event: Any) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=event.total, unit="img", desc="prepare", disable=None, file=sys.stderr)
        self._bar.update(event.done - self._bar.n)

    def on_end(self, event: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def run(args: argparse.Namespace) -> int:
    """Prepare the dataset; exit 0 when finished (even with skipped files)."""
    from colorcore.cli import CLIError
    from colorcore.data.prepare import prepare
    from colorcore.data.prepared import DatasetError
    from colorcore.core.events import StopFlag

    if args.max_megapixels <= 0:
        raise CLIError("--max-megapixels must be positive")
    if args.crops_per_photo < 0:
        raise CLIError("--crops-per-photo must be 0 or more")
    stop = StopFlag()
    progress = TqdmProgress()
    previous_handler = _install_interrupt_handler(stop)
    try:
        result = prepare(
            args.src, args.out, size=args.size, test_fraction=args.test_fraction, seed=args.seed,
            saliency=args.saliency, canny_low=args.canny_low, canny_high=args.canny_high,
            workers=args.workers, callbacks=[progress], stop=stop, overwrite=args.overwrite,
            max_pixels=int(args.max_megapixels * 1e6), crops_per_photo=args.crops_per_photo,
        )
    except (DatasetError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    finally:
        progress.on_end(None)
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
    for item in result.skipped:
        print(f"skipped {item.path}: {item.reason}")
    if result.cancelled:
        print(f"cancelled after {result.seconds:.1f} s: nothing written to {args.out}", file=sys.stderr)
        return EXIT_INTERRUPTED
    count = result.n_train + result.n_test
    per_photo = f" ({1 + args.crops_per_photo} per photo)" if args.crops_per_photo else ""
    print(
        f"prepared {result.out}: {result.n_train} train + {result.n_test} test images{per_photo} at "
        f"{args.size}x{args.size}, {len(result.skipped)} skipped, {result.seconds:.1f} s "
        f"({count / max(result.seconds, 1e-9):.0f} img/s)"
    )
    return 0


def _install_interrupt_handler(stop: Any) -> Any:
    """First Ctrl-C asks the job to stop cleanly; a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        if stop.stop_requested:
            raise KeyboardInterrupt
        print("\nstopping after the photos in progress (Ctrl-C again to abort)...", file=sys.stderr)
        stop.request_stop()

    return signal.signal(signal.SIGINT, handler)
