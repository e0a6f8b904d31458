"""Benchmark `colorcore.dataset.prepare` against a plain reference loop; prints one JSON object.

Both sides process the same multi-megapixel JPEG photos, generated in a temporary folder in this
run (the bundled samples upscaled to 8-12 MP with added fine detail, so they do not compress to
nothing). Reference: one process, full decode with PIL, centre crop + INTER_AREA resize, BT.601
gray, Canny, spectral-residual saliency, in a loop. `prepare` uses every core and libjpeg's
reduced (DCT-scaled) decode. Usage:

    python benchmarks/bench_prepare.py [--photos 40] [--size 64]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorcore.dataset import prepare  # noqa: E402
from colorcore.guidance import edge_map, luma_u8, saliency_map  # noqa: E402
from colorcore.imageio import to_square  # noqa: E402
from colorcore.resources import sample_photos  # noqa: E402

# (width, height) of the generated photos: 8.0, 10.0 and 12.2 megapixels
PHOTO_SIZES = ((3264, 2448), (3648, 2736), (4032, 3024))
DETAIL_TILE = 509  # a prime-sized noise tile, so the repetition does not align with JPEG blocks
DETAIL_SIGMA = 6.0
JPEG_QUALITY = 90


def make_photos(folder: Path, count: int) -> list[Path]:
    """Write `count` large JPEGs made from the bundled samples; returns their paths."""
    rng = np.random.default_rng(0)
    tile = rng.normal(0, DETAIL_SIGMA, (DETAIL_TILE, DETAIL_TILE, 3)).astype(np.float32)
    sources = [cv2.imread(str(p)) for p in sample_photos()]
    paths = []
    for index in range(count):
        width, height = PHOTO_SIZES[index % len(PHOTO_SIZES)]
        big = cv2.resize(sources[index % len(sources)], (width, height), interpolation=cv2.INTER_CUBIC)
        reps = (height // DETAIL_TILE + 1, width // DETAIL_TILE + 1, 1)
        detail = np.tile(tile, reps)[:height, :width]
        photo = np.clip(big.astype(np.float32) + detail, 0, 255).astype(np.uint8)
        path = folder / f"photo_{index:03d}.jpg"
        cv2.imwrite(str(path), photo, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        paths.append(path)
    return paths


def reference(paths: list[Path], size: int) -> float:
    """Plain single-process loop; returns seconds."""
    started = time.perf_counter()
    for path in paths:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
        square = to_square(rgb, size)
        edge_map(luma_u8(square))
        saliency_map(square)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40, help="number of photos (default %(default)s)")
    parser.add_argument("--size", type=int, default=64, help="prepared size (default %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_prepare_") as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        paths = make_photos(folder, args.photos)
        megapixels = float(np.mean([w * h for w, h in (Image.open(p).size for p in paths)]) / 1e6)
        reference_s = reference(paths, args.size)
        single = prepare(folder, Path(tmp) / "single", size=args.size, workers=1)
        parallel = prepare(folder, Path(tmp) / "parallel", size=args.size)
    count = len(paths)
    result = {
        "photos": count,
        "mean_megapixels": round(megapixels, 2),
        "size": args.size,
        "cores": os.cpu_count(),
        "reference_s": round(reference_s, 3),
        "prepare_s": round(parallel.seconds, 3),
        "prepare_workers1_s": round(single.seconds, 3),
        "reference_img_s": round(count / reference_s, 2),
        "prepare_img_s": round(count / parallel.seconds, 2),
        "prepare_workers1_img_s": round(count / single.seconds, 2),
        "speedup": round(reference_s / parallel.seconds, 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
