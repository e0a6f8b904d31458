"""Benchmark `colorcore.data.prepare.prepare` against a plain reference loop; prints one JSON object.

Both sides process the same multi-megapixel JPEG photos, generated in a temporary folder in this
run (the bundled samples upscaled to 8-12 MP with added fine detail, so they do not compress to
nothing). Reference: one process, full decode with PIL, centre crop + INTER_AREA resize, BT.601
gray, Canny, spectral-residual saliency, in a loop. `prepare` uses every core and libjpeg's
reduced (DCT-scaled) decode. Usage:

    python benchmarks/bench_prepare.py [--photos 40] [--size 64] [--rounds 2]

Each side runs `--rounds` times, alternating, and its best time counts (the machine may be
shared). `prepare_workers1_*` shows the reduced decode alone (one thread); `*_cpu_s` is the
process CPU time, so cpu/wall above 1 shows more than one core at work. With `--crops-per-photo`,
`decode_ms_per_photo` and `decode_ms_per_photo_crops` are the decode alone (one thread) at the
reduction prepare picks without and with crops (the crops' smallest scale may need a larger decode).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorcore.data.prepare import decode_min_side, prepare  # noqa: E402
from colorcore.data.guidance import edge_map, saliency_map  # noqa: E402
from colorcore.data.imageio import luma  # noqa: E402
from colorcore.data.imageio import read_image, to_square  # noqa: E402
from colorcore.core.resources import sample_photos  # noqa: E402

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
        edge_map(luma(square))
        saliency_map(square)
    return time.perf_counter() - started


def timed(job: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of `job()`."""
    cpu_before, started = os.times(), time.perf_counter()
    job()
    wall, cpu_after = time.perf_counter() - started, os.times()
    return wall, (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)


def decode_ms(paths: list[Path], min_side: int) -> float:
    """Milliseconds per photo to decode `paths` as prepare does (reduced decode to at least `min_side`), one thread."""
    started = time.perf_counter()
    for path in paths:
        read_image(path, min_size=min_side)
    return (time.perf_counter() - started) / len(paths) * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40, help="number of photos (default %(default)s)")
    parser.add_argument("--size", type=int, default=64, help="prepared size (default %(default)s)")
    parser.add_argument("--crops-per-photo", type=int, default=0,
                        help="also time prepare with this many random crops per photo (0: skip; default %(default)s)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternating rounds; the best time of each side counts (default %(default)s)")
    args = parser.parse_args()
    times: dict[str, list[tuple[float, float]]] = {"reference": [], "prepare": [], "prepare_workers1": []}
    decodes: dict[str, list[float]] = {"no_crops": [], "crops": []}
    if args.crops_per_photo:
        times["prepare_crops"] = []
    with tempfile.TemporaryDirectory(prefix="bench_prepare_") as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        paths = make_photos(folder, args.photos)
        megapixels = float(np.mean([w * h for w, h in (Image.open(p).size for p in paths)]) / 1e6)
        for round_index in range(args.rounds):
            out = Path(tmp) / f"out{round_index}"
            times["reference"].append(timed(lambda: reference(paths, args.size)))
            times["prepare"].append(timed(lambda: prepare(folder, out / "all", size=args.size)))
            times["prepare_workers1"].append(
                timed(lambda: prepare(folder, out / "one", size=args.size, workers=1)))
            if args.crops_per_photo:
                times["prepare_crops"].append(timed(lambda: prepare(
                    folder, out / "crops", size=args.size, crops_per_photo=args.crops_per_photo)))
                decodes["no_crops"].append(decode_ms(paths, decode_min_side(args.size, 0)))
                decodes["crops"].append(decode_ms(paths, decode_min_side(args.size, args.crops_per_photo)))
    count = len(paths)
    best = {name: min(runs) for name, runs in times.items()}
    result = {
        "photos": count,
        "mean_megapixels": round(megapixels, 2),
        "size": args.size,
        "cores": os.cpu_count(),
        "rounds": args.rounds,
        "reference_s": round(best["reference"][0], 3),
        "prepare_s": round(best["prepare"][0], 3),
        "prepare_workers1_s": round(best["prepare_workers1"][0], 3),
        "reference_cpu_s": round(best["reference"][1], 3),
        "prepare_cpu_s": round(best["prepare"][1], 3),
        "reference_img_s": round(count / best["reference"][0], 2),
        "prepare_img_s": round(count / best["prepare"][0], 2),
        "prepare_workers1_img_s": round(count / best["prepare_workers1"][0], 2),
        "speedup": round(best["reference"][0] / best["prepare"][0], 2),
        **({"crops_per_photo": args.crops_per_photo,
            "prepare_crops_photos_s": round(count / best["prepare_crops"][0], 2),
            "prepare_crops_samples_s": round(count * (1 + args.crops_per_photo) / best["prepare_crops"][0], 1),
            "decode_ms_per_photo": round(min(decodes["no_crops"]), 2),
            "decode_ms_per_photo_crops": round(min(decodes["crops"]), 2)}
           if args.crops_per_photo else {}),
        "load_average_1min": round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
