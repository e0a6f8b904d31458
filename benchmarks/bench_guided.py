"""Guided chroma upsampling: our fast guided filter vs OpenCV's `cv2.ximgproc.guidedFilter`.

The job (`colorcore.inference.chroma.guided_chroma`): predicted chroma (a, b) at the network's size, guided by
the photo's 8-bit L, comes out at the apply resolution (long side at most `APPLY_LONG_SIDE`). Three
ways, with the same radius and eps in the same units (guide in [0, 1], radius in cells of the filter
grid) and the same output resolution:

- `ours`: `guided_chroma` (He & Sun's fast guided filter: guide reduced with INTER_AREA, chroma
  enlarged to a grid `GUIDE_SCALE` times the prediction's, box filters there, coefficients enlarged).
- `cv2_fast`: `cv2.ximgproc.guidedFilter(..., scale=s)` (OpenCV 5's fast guided filter; it takes the
  guide and the chroma at the apply resolution and reduces both with INTER_LINEAR by one factor `s`
  for both axes: `s` is the larger of our grid's two ratios, so its grid is at least as fine as ours).
- `cv2_full`: `cv2.ximgproc.guidedFilter` at the apply resolution itself, the radius scaled by 1 / s
  (He's plain guided filter, no subsampling).

Quality: each photo turned gray (BT.601 luma) and colourised with each upsampler (its own L kept,
`chroma.recombine`), PSNR against the real photo; chroma from the model (default the bundled
starter model, squash fit) and from an oracle (the photo's own chroma reduced to the network's size,
which isolates the upsampler); max abs difference of cv2's outputs from ours (a, b units, and RGB
levels). Timing: the upsampling step alone, on photos of 1, 12 and 24 MP enlarged (bicubic) from a
real photo, best of `--rounds`, the methods alternating within each round.

    python benchmarks/bench_guided.py [--sizes 1,12,24] [--rounds 5] [--photos FILE_OR_DIR ...]
        [--model starter]

Default photos: resources/samples/*.jpg and /work/heldout/* when that folder exists. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorcore.inference import chroma as ch
from colorcore.data.imageio import fit_long_side, list_images, luma, read_image  # noqa: E402
from colorcore.evaluation.metrics import psnr  # noqa: E402

SAMPLES = ROOT / "resources" / "samples"
HELDOUT = Path("/work/heldout")
TIMING_SOURCE = SAMPLES / "coffee.jpg"  # 3:2 like most camera photos
DEFAULT_SIZES_MP = (1.0, 12.0, 24.0)
DEFAULT_ROUNDS = 5
METHODS = ("ours", "cv2_fast", "cv2_full")

Upsampler = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _apply_hw_and_ratio(l8: np.ndarray, chroma: np.ndarray) -> tuple[tuple[int, int], float]:
    """The apply resolution of `guided_chroma` and cv2's one subsampling factor: the larger of our
    filter grid's two ratios to it (so cv2's grid is at least as fine as ours along both axes)."""
    apply_hw = fit_long_side(l8.shape, ch.APPLY_LONG_SIDE)
    ratio = max(ch.GUIDE_SCALE * chroma.shape[0] / apply_hw[0], ch.GUIDE_SCALE * chroma.shape[1] / apply_hw[1])
    return apply_hw, min(1.0, ratio)


def _cv2_inputs(l8: np.ndarray, chroma: np.ndarray, apply_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Guide (L in [0, 1], INTER_AREA as ours) and chroma (bilinear) at the apply resolution."""
    guide = cv2.resize(l8, apply_hw[::-1], interpolation=cv2.INTER_AREA).astype(np.float32)
    guide *= 1.0 / 255.0
    return guide, cv2.resize(chroma, apply_hw[::-1], interpolation=cv2.INTER_LINEAR)


def cv2_fast(l8: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """OpenCV's fast guided filter (subsampling `scale`) doing `guided_chroma`'s job."""
    apply_hw, ratio = _apply_hw_and_ratio(l8, chroma)
    guide, src = _cv2_inputs(l8, chroma, apply_hw)
    return cv2.ximgproc.guidedFilter(guide, src, ch.GUIDE_RADIUS, ch.GUIDE_EPS, dDepth=-1, scale=ratio)


def cv2_full(l8: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """OpenCV's plain guided filter at the apply resolution, radius scaled to the same extent."""
    apply_hw, ratio = _apply_hw_and_ratio(l8, chroma)
    guide, src = _cv2_inputs(l8, chroma, apply_hw)
    return cv2.ximgproc.guidedFilter(guide, src, max(1, round(ch.GUIDE_RADIUS / ratio)), ch.GUIDE_EPS)


UPSAMPLERS: dict[str, Upsampler] = {"ours": ch.guided_chroma, "cv2_fast": cv2_fast, "cv2_full": cv2_full}


def oracle_chroma(rgb: np.ndarray, size: int) -> np.ndarray:
    """The photo's own Lab chroma (a, b) squashed to size x size (INTER_AREA), as a model would give it."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return np.ascontiguousarray(cv2.resize(lab[:, :, 1:], (size, size), interpolation=cv2.INTER_AREA))


def colourised(gray: np.ndarray, chroma: np.ndarray, upsample: Upsampler) -> tuple[np.ndarray, np.ndarray]:
    """(upsampled chroma, RGB result) of the gray photo with `chroma` brought up by `upsample`."""
    l8 = ch.lab_l8(gray)
    ab = upsample(l8, chroma)
    out = ch.recombine(l8, ch.chroma_u8(ab), np.empty((*gray.shape, 3), np.uint8))
    return ab, out


def photo_paths(given: list[str] | None) -> list[Path]:
    """The photos named (files or folders), else the samples and the held-out photos."""
    entries = [Path(p) for p in given] if given else [SAMPLES, *([HELDOUT] if HELDOUT.is_dir() else [])]
    paths: list[Path] = []
    for entry in entries:
        paths.extend(sorted(list_images(entry)) if entry.is_dir() else [entry])
    return paths


def quality(paths: list[Path], model_arg: str) -> dict[str, object]:
    """Mean PSNR per method (model and oracle chroma) and the largest differences from ours."""
    from colorcore.models.checkpoint import load_model

    model = load_model(model_arg, "cpu")
    size = int(model.config.image_size)
    rows = []
    for path in paths:
        rgb = read_image(path)
        gray = luma(rgb)
        row: dict[str, object] = {"photo": path.name, "megapixels": round(gray.size / 1e6, 2)}
        for source, chroma in (("model", ch.predict_chroma(gray, model, size=size)),
                               ("oracle", oracle_chroma(rgb, size))):
            results = {name: colourised(gray, chroma, up) for name, up in UPSAMPLERS.items()}
            ab_ours, rgb_ours = results["ours"]
            for name, (ab, out) in results.items():
                row[f"{source}_{name}_psnr"] = round(float(psnr(out, rgb)[0]), 3)
                if name != "ours":
                    row[f"{source}_{name}_max_abs_ab"] = round(float(np.abs(ab - ab_ours).max()), 3)
                    row[f"{source}_{name}_max_abs_rgb"] = int(np.abs(out.astype(np.int16) - rgb_ours).max())
        rows.append(row)
    mean_keys = [k for k in rows[0] if k.endswith("_psnr")]
    max_keys = [k for k in rows[0] if "_max_abs_" in k]
    summary = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in mean_keys}
    summary.update({k: max(r[k] for r in rows) for k in max_keys})
    return {"model": model_arg, "network_size": size, "photos": len(rows), "mean_psnr_and_max_diff": summary,
            "per_photo": rows}


def timing(sizes_mp: list[float], rounds: int) -> list[dict[str, object]]:
    """Best-of-`rounds` seconds of each method per photo size (methods alternate within a round)."""
    source = read_image(TIMING_SOURCE)
    chroma = oracle_chroma(source, 64)
    rows = []
    for mp in sizes_mp:
        scale = (mp * 1e6 / (source.shape[0] * source.shape[1])) ** 0.5
        hw = (round(source.shape[0] * scale), round(source.shape[1] * scale))
        l8 = ch.lab_l8(cv2.resize(source, hw[::-1], interpolation=cv2.INTER_CUBIC))
        best = {name: float("inf") for name in METHODS}
        for _ in range(rounds):
            for name in METHODS:
                start = time.perf_counter()
                UPSAMPLERS[name](l8, chroma)
                best[name] = min(best[name], time.perf_counter() - start)
        apply_hw, ratio = _apply_hw_and_ratio(l8, chroma)
        rows.append({"megapixels": round(l8.size / 1e6, 2), "apply_hw": list(apply_hw),
                     "cv2_scale": round(ratio, 4),
                     **{f"{name}_s": round(best[name], 4) for name in METHODS},
                     **{f"{name}_vs_ours": round(best[name] / best["ours"], 2) for name in METHODS[1:]}})
    return rows


def main() -> int:
    """Run the benchmark and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(f"{s:g}" for s in DEFAULT_SIZES_MP),
                        help="timing photo sizes in megapixels (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="timing rounds, best of (default 5)")
    parser.add_argument("--photos", nargs="*", help="photo files or folders for the quality rows")
    parser.add_argument("--model", default="starter", help="model file for the quality rows (default: starter)")
    args = parser.parse_args()
    report = {
        "opencv": cv2.__version__,
        "fast_guided_filter_function": hasattr(cv2.ximgproc, "fastGuidedFilter"),
        "guided_filter_scale_argument": "scale" in (cv2.ximgproc.guidedFilter.__doc__ or ""),
        "radius_cells": ch.GUIDE_RADIUS, "eps": ch.GUIDE_EPS, "grid_scale": ch.GUIDE_SCALE,
        "apply_long_side": ch.APPLY_LONG_SIDE, "cv2_threads": cv2.getNumThreads(),
        "timing": timing([float(s) for s in args.sizes.split(",")], args.rounds),
        "quality": quality(photo_paths(args.photos), args.model),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
