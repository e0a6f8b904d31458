"""JPEG chroma sampling for colourised photos: how far the written file's luminance moves from the
photo's own, and what full-resolution chroma costs in bytes.

Each photo is colourised by a model (default: the bundled starter model) at full resolution, the way
`colorcore colorize` does it (the photo keeps its own Lab L), then encoded as JPEG at `--quality`
twice: with 4:4:4 sampling (what `colorcore.data.imageio.write_image` writes) and with the usual 4:2:0
(the plain reference, OpenCV's default). Each file is decoded and its 8-bit Lab L compared with the
original photo's: the 99th and 99.9th percentiles and the maximum of |dL| over the pixels, the share
of pixels beyond `colorcore.inference.chroma.L_TOLERANCE` (2 levels, what the colouriser guarantees before
encoding), and the file size.
PNG output is the lossless bound. Prints JSON.

    python benchmarks/bench_jpeg_sampling.py PHOTO... [--model starter] [--quality 95]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorcore.models.checkpoint import load_model  # noqa: E402
from colorcore.inference.colorize import colorize_array
from colorcore.inference.chroma import L_TOLERANCE, lab_l8  # noqa: E402
from colorcore.data.imageio import JPEG_CV2_SAMPLING, read_image  # noqa: E402

SAMPLINGS = {"4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444, "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420}


def l_error(decoded_bgr: np.ndarray, original_l: np.ndarray) -> dict[str, float]:
    """Percentiles, maximum and share beyond L_TOLERANCE of |dL| (8-bit Lab L), a decoded file vs the original."""
    diff = cv2.absdiff(cv2.cvtColor(decoded_bgr, cv2.COLOR_BGR2Lab)[:, :, 0], original_l)
    p99, p999 = np.percentile(diff, [99, 99.9])
    return {"l_p99": float(p99), "l_p99_9": float(p999), "l_max": int(diff.max()),
            "share_beyond_tolerance": round(float((diff > L_TOLERANCE).mean()), 5)}


def measure(photo: Path, model: object, quality: int) -> dict[str, object]:
    """Colourise one photo, encode it each way, report |dL| and bytes."""
    original = read_image(photo)
    original_l = lab_l8(original)
    start = time.perf_counter()
    bgr = cv2.cvtColor(colorize_array(original, model), cv2.COLOR_RGB2BGR)
    row: dict[str, object] = {"photo": photo.name, "megapixels": round(original.size / 3 / 1e6, 1),
                              "colourise_s": round(time.perf_counter() - start, 2)}
    ok, png = cv2.imencode(".png", bgr)
    row["png"] = {"bytes": len(png), **l_error(cv2.imdecode(png, cv2.IMREAD_COLOR), original_l)}
    for name, factor in SAMPLINGS.items():
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality,
                                              cv2.IMWRITE_JPEG_SAMPLING_FACTOR, factor])
        row[name] = {"bytes": len(data), **l_error(cv2.imdecode(data, cv2.IMREAD_COLOR), original_l)}
    row["size_ratio_444_vs_420"] = round(row["4:4:4"]["bytes"] / row["4:2:0"]["bytes"], 3)  # type: ignore[index]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--model", default="starter")
    parser.add_argument("--quality", type=int, default=95)
    args = parser.parse_args(argv)
    model = load_model(args.model, "cpu")
    rows = [measure(photo, model, args.quality) for photo in args.photos]
    print(json.dumps({"quality": args.quality, "written_sampling": JPEG_CV2_SAMPLING[1] ==
                      cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444 and "4:4:4", "photos": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
