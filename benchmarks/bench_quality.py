"""Colour quality at full resolution on held-out photos: a model vs the gray photo vs a non-learned reference.

Each photo is reduced to `--max-side` px on its long side, turned gray (BT.601 luma), colourised the
way `colorcore colorize` does it (the photo keeps its luminance, the model gives the chroma), and
compared with the real photo: PSNR and SSIM, the colour cast (distance in CIE Lab units between the
mean a*b* of the output and of the real photo) and the colourfulness ratio (Hasler & Suesstrunk,
output / real). Rows per photo and on average for:

- the model (default: the bundled starter model);
- `gray`: the gray photo itself, the trivial answer every colourisation must beat;
- `mean_chroma`: the gray photo's luminance with one constant chroma, the mean a*b* of the reference
  photos (`--reference-photos`, default: the starter model's training photos in `--corpus`).

`--fit` chooses how a non-square photo meets the square network input, one model row per choice:
`squash` and `letterbox` (`colorcore colorize --fit`), and `tiles`: square crops of the short side's
size (what training sees: undistorted squares), overlapping by at least half a crop along the long
side, each predicted alone and blended with tent weights.

Needs scikit-image (the test extra) for SSIM at full resolution.

    python benchmarks/bench_quality.py --corpus /work/corpus [--model starter] [--photos DIR]
        [--max-side 768] [--fit squash letterbox tiles] [--calibration none|[mirror:]BLUR:SCALE]
        [--sheet contact.jpg] [--json OUT]

Without --photos the photos are the starter model's held-out photos (named in its metadata) from
`--corpus`. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorcore.models.calibration import ChromaCalibration  # noqa: E402
from colorcore.models.checkpoint import load_model, read_metadata, resolve_model_path  # noqa: E402
from colorcore.inference.colorize import colorize_array
from colorcore.inference.chroma import chroma_u8, guided_chroma, lab_l8, predict_chroma, recombine
from colorcore.data.imageio import luma
from colorcore.data.imageio import list_images, read_image, shrink_to_long_side  # noqa: E402
from colorcore.evaluation.metrics import SSIM_SIGMA, colourfulness, psnr  # noqa: E402

SHEET_HEIGHT = 160
FIT_CHOICES = ("squash", "letterbox", "tiles")


def mean_ab(rgb: np.ndarray) -> np.ndarray:
    """Mean CIE a*, b* of an RGB uint8 image."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return lab[..., 1:].reshape(-1, 2).mean(axis=0)


def with_constant_chroma(gray: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """The gray photo's luminance with one constant a*b* (the non-learned reference)."""
    rgb = np.repeat(gray[..., None], 3, axis=2)
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lab[..., 1], lab[..., 2] = ab[0], ab[1]
    out = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)


def tile_starts(long_side: int, tile: int) -> list[int]:
    """Start offsets of `tile`-sized crops covering `long_side`, adjacent starts at most tile / 2 apart."""
    if long_side <= tile:
        return [0]
    count = int(np.ceil((long_side - tile) / (tile / 2))) + 1
    return [int(round(v)) for v in np.linspace(0, long_side - tile, count)]


def tiled_chroma(gray: np.ndarray, model: Any, size: int) -> np.ndarray:
    """Lab chroma (a, b) of a photo predicted on undistorted square crops, blended with tent weights;
    (size, long * size / short, 2) in the photo's orientation."""
    tall = gray.shape[0] > gray.shape[1]
    g = gray.T if tall else gray
    short, long_side = g.shape
    scale = size / short
    width = max(size, round(long_side * scale))
    acc = np.zeros((size, width, 2), np.float32)
    weight_sum = np.zeros((1, width, 1), np.float32)
    ramp = np.minimum(np.arange(size) + 0.5, size - np.arange(size) - 0.5).astype(np.float32)
    ramp = (ramp / ramp.max())[None, :, None]
    for start in tile_starts(long_side, short):
        crop = np.ascontiguousarray(g[:, start:start + short])
        chroma = predict_chroma(crop.T if tall else crop, model, size=size, fit="squash")
        chroma = chroma.transpose(1, 0, 2) if tall else chroma
        x0 = min(round(start * scale), width - size)
        acc[:, x0:x0 + size] += chroma * ramp
        weight_sum[:, x0:x0 + size] += ramp
    out = acc / np.maximum(weight_sum, 1e-6)
    return np.ascontiguousarray(out.transpose(1, 0, 2) if tall else out)


def colourise(gray: np.ndarray, model: Any, fit: str) -> np.ndarray:
    """The gray photo colourised with `fit` (guided chroma, the photo's own luminance kept)."""
    if fit != "tiles":
        return colorize_array(gray, model, fit=fit)
    l8 = lab_l8(gray)
    ab8 = chroma_u8(guided_chroma(l8, tiled_chroma(gray, model, int(model.config.image_size))))
    return recombine(l8, ab8, np.empty((*gray.shape, 3), np.uint8))


def full_size_ssim(output: np.ndarray, real: np.ndarray) -> float:
    """SSIM as `colorcore.evaluation.metrics.ssim` defines it (scikit-image's Gaussian-window SSIM; its tests check
    the two agree), computed by scikit-image, whose separable filter is fast at full resolution."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(output, real, channel_axis=2, data_range=255, gaussian_weights=True,
                                       sigma=SSIM_SIGMA, use_sample_covariance=False))


def scores(output: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """PSNR, SSIM, colour cast and colourfulness ratio of one output against the real photo."""
    real_colour = float(colourfulness(real[None]).item())
    return {
        "psnr": round(float(psnr(output[None], real[None]).item()), 3),
        "ssim": round(full_size_ssim(output, real), 4),
        "cast": round(float(np.linalg.norm(mean_ab(output) - mean_ab(real))), 3),
        "colourfulness_ratio": round(float(colourfulness(output[None]).item()) / max(real_colour, 1e-6), 3),
    }


def held_out_photos(model_path: Path, corpus: Path) -> tuple[list[Path], list[Path]]:
    """(held-out photos, training photos) of the starter model, found in `corpus`/photos."""
    starter = read_metadata(model_path).get("starter") or {}
    held = set(starter.get("data", {}).get("held_out_photos", []))
    photos = list_images(corpus / "photos")
    return [p for p in photos if p.name in held], [p for p in photos if p.name not in held]


def contact_sheet(rows: list[list[np.ndarray]], height: int = SHEET_HEIGHT) -> np.ndarray:
    """Rows of images (gray | model | real), each scaled to `height`, on white."""
    lines = []
    for images in rows:
        scaled = [cv2.resize(im if im.ndim == 3 else np.repeat(im[..., None], 3, axis=2),
                             (round(im.shape[1] * height / im.shape[0]), height), interpolation=cv2.INTER_AREA)
                  for im in images]
        gap = np.full((height, 6, 3), 255, np.uint8)
        lines.append(np.concatenate([part for im in scaled for part in (im, gap)][:-1], axis=1))
    width = max(line.shape[1] for line in lines)
    padded = [np.pad(line, ((0, 6), (0, width - line.shape[1]), (0, 0)), constant_values=255) for line in lines]
    return np.concatenate(padded, axis=0)


def calibration_spec(text: str) -> ChromaCalibration:
    """--calibration's value: "none" or [mirror:]BLUR:SCALE as a ChromaCalibration."""
    if text == "none":
        return ChromaCalibration()
    parts = text.split(":")
    flip = parts[0] == "mirror"
    try:
        sigma, scale = (float(v) for v in parts[1 if flip else 0:])
        # the ranges a model file may hold (a negative blur, a zero or NaN scale are refused)
        return ChromaCalibration.from_metadata({"chroma_scale": scale, "chroma_sigma": sigma, "flip_average": flip},
                                               "--calibration")
    except ValueError as exc:  # CalibrationError is one
        raise argparse.ArgumentTypeError(f"expected 'none' or [mirror:]BLUR:SCALE, got {text!r} ({exc})") from None


def model_row(fit: str, fits: list[str]) -> str:
    """The report's row name for the model under `fit`: "model", or "model_<fit>" when several are scored."""
    return "model" if len(fits) == 1 else f"model_{fit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="starter", help="model to score (default: the starter model)")
    parser.add_argument("--corpus", type=Path, default=None, help="build_corpus.py output (for held-out photos)")
    parser.add_argument("--photos", type=Path, default=None, help="score these photos instead")
    parser.add_argument("--reference-photos", type=Path, default=None,
                        help="photos whose mean chroma is the non-learned reference (default: the training photos)")
    parser.add_argument("--max-side", type=int, default=768)
    parser.add_argument("--fit", nargs="+", choices=FIT_CHOICES, default=["squash"],
                        help="inference geometries to score, one model row each (default: squash)")
    parser.add_argument("--calibration", type=calibration_spec, default=None,
                        help="score the model under this chroma calibration instead of its file's: 'none' (the "
                             "network as predicted) or [mirror:]BLUR:SCALE, e.g. mirror:1:0.45 or 2:0.45")
    parser.add_argument("--sheet", type=Path, default=None, help="write a gray | model | real contact sheet here")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    model_path = resolve_model_path(args.model)
    model = load_model(model_path, "cpu")
    if args.calibration is not None:
        model.calibration = args.calibration
    training: list[Path] = []
    if args.photos is not None:
        photos = list_images(args.photos)
    elif args.corpus is not None:
        photos, training = held_out_photos(model_path, args.corpus)
    else:
        parser.error("give --photos DIR or --corpus DIR")
    reference = list_images(args.reference_photos) if args.reference_photos else training
    if not reference:
        parser.error("no reference photos for the mean chroma: give --reference-photos DIR")
    ref_ab = np.mean([mean_ab(shrink_to_long_side(read_image(p, min_size=args.max_side), args.max_side)) for p in reference], axis=0)
    per_photo: list[dict[str, Any]] = []
    sheet_rows = []
    for path in photos:
        real = shrink_to_long_side(read_image(path, min_size=args.max_side), args.max_side)
        gray = luma(real)
        fitted = {model_row(fit, args.fit): colourise(gray, model, fit) for fit in args.fit}
        outputs = {**fitted, "gray": np.repeat(gray[..., None], 3, axis=2),
                   "mean_chroma": with_constant_chroma(gray, ref_ab)}
        per_photo.append({"photo": path.name, "size": list(gray.shape),
                          **{k: scores(v, real) for k, v in outputs.items()}})
        sheet_rows.append([gray, *fitted.values(), real])
    rows = [*(model_row(fit, args.fit) for fit in args.fit), "gray", "mean_chroma"]
    average = {k: {m: round(float(np.mean([row[k][m] for row in per_photo])), 3) for m in per_photo[0][k]}
               for k in rows} if per_photo else {}
    report = {"model": str(model_path), "calibration": asdict(model.calibration), "max_side": args.max_side, "fits": args.fit, "photos": len(per_photo),
              "reference_mean_ab": [round(float(v), 3) for v in ref_ab], "average": average,
              "per_photo": per_photo}
    if average:
        report["model_vs_gray"] = {
            row: {"psnr_gain_db": round(average[row]["psnr"] - average["gray"]["psnr"], 3),
                  "cast_ratio": round(average[row]["cast"] / max(average["gray"]["cast"], 1e-6), 3)}
            for row in rows[:len(args.fit)]}
    if args.sheet is not None and sheet_rows:
        cv2.imwrite(str(args.sheet), cv2.cvtColor(contact_sheet(sheet_rows), cv2.COLOR_RGB2BGR))
    text = json.dumps(report, indent=1)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
