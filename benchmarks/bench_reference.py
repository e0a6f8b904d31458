"""Colour by example, measured: the same-scene protocol and the speed of a reference colourisation.

    python benchmarks/bench_reference.py --photos DIR [--long-side 768] [--limit N] [--sheet PNG]
    python benchmarks/bench_reference.py --part speed [--megapixels 12]

Quality (`--part quality`, the default): each photo, reduced to `--long-side` px, is cut in two; its
gray left half is colourised with its own right half as the reference photo, through
`colorcore.inference.colorize.colorize_array` as `colorcore colorize --reference` runs it, with the starter
model as the fallback. Printed per mode (semantic, the default; global, the old mean-and-spread
transfer; the starter model alone; the gray photo): mean PSNR against the true left half, the colour
cast (distance of the mean a*b* from the truth's, and its ratio to the gray photo's) and how many
photos beat the gray photo. `--sheet` writes a contact sheet: gray | reference | semantic | global | truth.

Speed (`--part speed`): a `--megapixels` JPEG photo and a reference of the same size, both written
by the script (real photos tiled to size), colourised end to end (`colorize_file`, decode and
encode included) with the reference; and the editor's preview after choosing a reference
(`ChromaEditor.preview`, the reference read and matched), each the median of `--rounds`.
"""

from __future__ import annotations

import argparse
import os
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorcore.models.checkpoint import load_model  # noqa: E402
from colorcore.inference.colorize import colorize_array, colorize_file  # noqa: E402
from colorcore.inference.colour_control import ChromaEditor, ColourControls, ReferenceColours, load_reference  # noqa: E402
from colorcore.data.imageio import fit_long_side, list_images, read_image, write_image  # noqa: E402
from colorcore.evaluation.metrics import psnr  # noqa: E402
from colorcore.inference.reference import SemanticReference  # noqa: E402
from colorcore.models.settings import starter_model_path  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


def mean_ab(rgb: np.ndarray) -> np.ndarray:
    """Mean CIE a*, b* of an RGB uint8 image."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 1:].reshape(-1, 2).mean(axis=0)


def gray3(rgb: np.ndarray) -> np.ndarray:
    """The gray photo as the user has it: its luma in three equal channels."""
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)


def halves(photo: Path, long_side: int) -> tuple[np.ndarray, np.ndarray]:
    """(left half: the target's truth, right half: the reference) of a photo at `long_side` px."""
    image = read_image(photo)
    image = cv2.resize(image, fit_long_side(image.shape, long_side)[::-1], interpolation=cv2.INTER_AREA)
    middle = image.shape[1] // 2
    return np.ascontiguousarray(image[:, :middle]), np.ascontiguousarray(image[:, middle:])


def quality(args: argparse.Namespace) -> dict:
    model = load_model(starter_model_path(), "cpu")
    photos = list_images(args.photos)[: args.limit or None]
    rows: dict[str, list[dict[str, float]]] = {"semantic": [], "global": [], "model": [], "gray": []}
    sheet = []
    for photo in photos:
        truth, reference = halves(photo, args.long_side)
        gray = gray3(truth)
        outputs = {
            "semantic": colorize_array(gray, model, controls=ColourControls(reference=SemanticReference.from_images([reference]))),
            "global": colorize_array(gray, model, controls=ColourControls(reference=ReferenceColours.from_image(reference))),
            "model": colorize_array(gray, model),
            "gray": gray,
        }
        for name, output in outputs.items():
            rows[name].append({"psnr": float(psnr(output, truth)),
                               "cast": float(np.linalg.norm(mean_ab(output) - mean_ab(truth)))})
        if args.sheet and len(sheet) < args.sheet_rows:
            cells = [gray, reference, outputs["semantic"], outputs["global"], truth]
            sheet.append(np.hstack([sheet_cell(c) for c in cells]))
    gray_cast = statistics.mean(r["cast"] for r in rows["gray"])
    result = {"photos": len(photos), "long_side": args.long_side, "protocol": "gray left half, right half as reference"}
    for name, values in rows.items():
        result[name] = {
            "psnr": round(statistics.mean(v["psnr"] for v in values), 2),
            "cast": round(statistics.mean(v["cast"] for v in values), 2),
            "cast_ratio": round(statistics.mean(v["cast"] for v in values) / max(gray_cast, 1e-6), 3),
            "above_gray": sum(v["psnr"] > g["psnr"] for v, g in zip(values, rows["gray"])),
        }
    if args.sheet and sheet:
        write_image(args.sheet, np.vstack([sheet_header(sheet[0].shape[1]), *sheet]))
        result["sheet"] = str(args.sheet)
    return result


SHEET_LABELS = ("gray input", "reference (right half)", "by example (semantic)", "global (old)", "truth")


SHEET_CELL = (160, 180)  # (height, width) of one contact-sheet cell


def sheet_cell(image: np.ndarray) -> np.ndarray:
    """`image` fitted into a white SHEET_CELL, centred."""
    height, width = SHEET_CELL
    scale = min(height / image.shape[0], width / image.shape[1])
    small = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA)
    cell = np.full((height, width, 3), 255, np.uint8)
    top, left = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    cell[top:top + small.shape[0], left:left + small.shape[1]] = small
    return cell


def sheet_header(width: int, height: int = 28) -> np.ndarray:
    """A white strip naming the contact sheet's columns (each column as wide as the first row's)."""
    header = np.full((height, width, 3), 255, np.uint8)
    column = width // len(SHEET_LABELS)
    for i, label in enumerate(SHEET_LABELS):
        cv2.putText(header, label, (i * column + 4, height - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return header


def tiled_photo(megapixels: float, seed: int) -> np.ndarray:
    """A real-photo mosaic (the bundled samples) of about `megapixels` MP, 4:3."""
    height = int(round((megapixels * 1e6 * 3 / 4) ** 0.5))
    width = int(round(height * 4 / 3))
    samples = sorted(SAMPLES.glob("*.jpg"))
    rng = np.random.default_rng(seed)
    tiles = [read_image(samples[i]) for i in rng.permutation(len(samples))[:4]]
    half = (height // 2, width // 2)
    quads = [cv2.resize(t, half[::-1], interpolation=cv2.INTER_CUBIC) for t in tiles]
    return np.vstack([np.hstack(quads[:2]), np.hstack(quads[2:])])


def speed(args: argparse.Namespace) -> dict:
    model = load_model(starter_model_path(), "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        photo, reference = Path(tmp) / "photo.jpg", Path(tmp) / "reference.jpg"
        write_image(photo, gray3(tiled_photo(args.megapixels, 0)), quality=92)
        write_image(reference, tiled_photo(args.megapixels, 1), quality=92)
        full, plain, preview = [], [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            controls = ColourControls(reference=load_reference([reference]))
            colorize_file(photo, model, Path(tmp) / "out.jpg", controls=controls)
            full.append(time.perf_counter() - started)
            started = time.perf_counter()
            colorize_file(photo, model, Path(tmp) / "plain.jpg")
            plain.append(time.perf_counter() - started)
        image = read_image(photo)
        for _ in range(args.rounds):
            editor = ChromaEditor.from_model(image, model)
            editor.preview()
            started = time.perf_counter()
            editor.preview(ColourControls(reference=load_reference([reference])))
            preview.append(time.perf_counter() - started)
    return {"megapixels": args.megapixels, "rounds": args.rounds, "load_average": os.getloadavg()[0],
            "with_reference_s": round(statistics.median(full), 3),
            "plain_colorize_s": round(statistics.median(plain), 3),
            "preview_after_choosing_reference_s": round(statistics.median(preview), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("quality", "speed"), default="quality")
    parser.add_argument("--photos", type=Path, default=SAMPLES)
    parser.add_argument("--long-side", type=int, default=768)
    parser.add_argument("--limit", type=int, default=0, help="at most this many photos (0: all)")
    parser.add_argument("--sheet", type=Path, default=None, help="write a contact sheet PNG here")
    parser.add_argument("--sheet-rows", type=int, default=8)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(json.dumps(quality(args) if args.part == "quality" else speed(args), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
