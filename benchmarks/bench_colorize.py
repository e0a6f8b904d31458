"""Benchmark full-resolution colourisation: seconds and peak memory per photo size, and colour bleeding.

Prints JSON::

    {"results": [{"megapixels", "seconds", "peak_rss_mb", "reference_seconds", ...}, ...],
     "bleeding": {...}}

Each size (default 2, 12 and 40 MP) is a synthetic JPEG photo made by upscaling a bundled sample
photo. `seconds` is `colorize_file` end to end (JPEG decode, model, guided chroma, recombination,
JPEG encode), `cpu_seconds` the process CPU time (user + system) of the same run, and `peak_rss_mb`
the peak resident memory of that process (model and libraries included; reached while loading the
model for small photos), `photo_peak_rss_mb` the peak resident memory while colourising (the
peak-RSS mark is reset after loading the model, Linux only); every measurement runs in a fresh
subprocess. The plain reference in the same run reads the same file, resizes the network's
RGB prediction to full size with bilinear interpolation (no luminance kept) and writes it.
Both sides load the model and warm it up once before the clock starts.

`bleeding` uses each sample photo's own chroma, downscaled to the network's size, as an oracle
prediction, upsamples it with each method, and reports the mean Lab chroma error (a, b units)
against the real chroma near luminance edges, near chroma edges, and over the whole photo.

`--trained-model PATH` adds the same comparison with a trained model's real predictions: mean
chroma error and PSNR of its colourised sample photos against the real ones.

Run: ``python benchmarks/bench_colorize.py`` (``--sizes 2,12`` for a quicker run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "resources" / "samples"
SOURCE_SAMPLE = "coffee.jpg"  # 3:2 like most camera photos
DEFAULT_SIZES_MP = (2, 12, 40)
MODEL_WIDTH = 64  # the paper's generator width
ORACLE_SIZE = 64
JPEG_QUALITY = 92
TIMED_RUNS = 2  # best of, for photos up to REPEAT_LIMIT_MP
REPEAT_LIMIT_MP = 12
EDGE_CANNY = (50, 150)
CHROMA_EDGE_PERCENTILE = 95
WARMUP_SIZE = 96

CHILD_CODE = r"""
import json, resource, sys, time
import numpy as np
from colorcore.models.checkpoint import load_model
from colorcore.inference.colorize import colorize_array, colorize_file, reference_upsample
from colorcore.data.imageio import read_image, write_image

mode, model_path, photo, out, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
model = load_model(model_path, "cpu")
warm = np.full((96, 96, 3), 128, np.uint8)
colorize_array(warm, model) if mode == "colorize" else reference_upsample(warm, model)
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
def vm_hwm_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
try:  # Linux: reset the peak-RSS mark so the photo's own peak can be read after loading the model
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    photo_peak = vm_hwm_mb
except OSError:
    photo_peak = lambda: None
best, best_cpu = float("inf"), float("inf")
for _ in range(runs):
    start, start_cpu = time.perf_counter(), cpu()
    if mode == "colorize":
        colorize_file(photo, model, out)
    else:
        write_image(out, reference_upsample(read_image(photo), model))
    best, best_cpu = min(best, time.perf_counter() - start), min(best_cpu, cpu() - start_cpu)
print(json.dumps({"seconds": best, "cpu_seconds": best_cpu, "photo_peak_rss_mb": photo_peak(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_model_file(folder: Path, width: int) -> Path:
    """A paper-sized multipath model (random weights: speed does not depend on them) as .safetensors."""
    from colorcore.models.checkpoint import export_model, make_checkpoint, save_checkpoint
    from colorcore.models.base import ModelConfig, build_model

    model = build_model(ModelConfig(width=width, resnet_weights="none"))
    checkpoint = save_checkpoint(folder / "bench.pt", make_checkpoint(model, model.make_optimizers()))
    return export_model(checkpoint, folder / "bench.safetensors")


def make_photo(folder: Path, megapixels: float) -> tuple[Path, int, int]:
    """A JPEG of about `megapixels` upscaled (bicubic) from the sample photo; returns path, w, h."""
    source = cv2.imread(str(SAMPLES / SOURCE_SAMPLE))
    h0, w0 = source.shape[:2]
    scale = (megapixels * 1e6 / (w0 * h0)) ** 0.5
    w, h = round(w0 * scale), round(h0 * scale)
    path = folder / f"photo_{megapixels:g}mp.jpg"
    cv2.imwrite(str(path), cv2.resize(source, (w, h), interpolation=cv2.INTER_CUBIC),
                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return path, w, h


def measure(mode: str, model: Path, photo: Path, out: Path, runs: int) -> dict[str, float]:
    """Run one measurement in a fresh Python process and return its JSON line."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD_CODE, mode, str(model), str(photo), str(out), str(runs)],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} on {photo.name} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def chroma_errors(rgb: np.ndarray, method: str, fit: str) -> dict[str, float]:
    """Oracle chroma error of one upsampling method on one photo (see the module docstring)."""
    from colorcore.inference import chroma as ch

    l8 = ch.lab_l8(rgb)
    true_ab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[:, :, 1:].astype(np.float32) - ch.CHROMA_OFFSET
    h, w = l8.shape
    if fit == "squash":
        oracle = cv2.resize(true_ab, (ORACLE_SIZE, ORACLE_SIZE), interpolation=cv2.INTER_AREA)
    else:
        scale = ORACLE_SIZE / max(h, w)
        oracle = cv2.resize(true_ab, (max(1, round(w * scale)), max(1, round(h * scale))),
                            interpolation=cv2.INTER_AREA)
    ab = ch.guided_chroma(l8, oracle) if method == "guided" else oracle
    out = ch.recombine(l8, ch.chroma_u8(ab), np.empty_like(rgb))
    got = cv2.cvtColor(out, cv2.COLOR_RGB2Lab)[:, :, 1:].astype(np.float32) - ch.CHROMA_OFFSET
    error = np.linalg.norm(got - true_ab, axis=2)
    kernel = np.ones((5, 5), np.uint8)
    l_edges = cv2.dilate(cv2.Canny(l8, *EDGE_CANNY), kernel) > 0
    gradient = np.hypot(cv2.Sobel(true_ab, cv2.CV_32F, 1, 0), cv2.Sobel(true_ab, cv2.CV_32F, 0, 1)).max(axis=2)
    c_edges = cv2.dilate((gradient > np.percentile(gradient, CHROMA_EDGE_PERCENTILE)).astype(np.uint8), kernel) > 0
    return {
        "near_luminance_edges": float(error[l_edges].mean()),
        "near_chroma_edges": float(error[c_edges].mean()),
        "whole_photo": float(error.mean()),
    }


def bleeding() -> dict[str, object]:
    """Mean oracle chroma errors over the sample photos for guided/bilinear and squash/letterbox."""
    photos = sorted(SAMPLES.glob("*.jpg"))
    images = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in photos]
    table: dict[str, dict[str, float]] = {}
    for method in ("guided", "bilinear"):
        for fit in ("squash", "letterbox"):
            rows = [chroma_errors(image, method, fit) for image in images]
            table[f"{method}/{fit}"] = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in rows[0]}
    return {"photos": [p.name for p in photos], "oracle_size": ORACLE_SIZE,
            "unit": "mean Lab chroma error (a, b)", "methods": table}


def trained_model_comparison(model_path: Path) -> dict[str, object]:
    """Chroma error and PSNR against the real sample photos, colourised by a trained model, for
    guided/bilinear and squash/letterbox (all photos, and the non-square ones alone)."""
    from colorcore.inference import chroma as ch
    from colorcore.inference import colorize as cz
    from colorcore.models.checkpoint import load_model

    model = load_model(model_path, "cpu")
    rows: dict[str, list[tuple[float, float, bool]]] = {}
    for path in sorted(SAMPLES.glob("*.jpg")):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        true_ab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[:, :, 1:].astype(np.float32)
        square = rgb.shape[0] == rgb.shape[1]
        for method in ("guided", "bilinear"):
            for fit in ch.FITS:
                out = cz.colorize_array(rgb, model, guided=method == "guided", fit=fit)
                ab = cv2.cvtColor(out, cv2.COLOR_RGB2Lab)[:, :, 1:].astype(np.float32)
                mse = float(((out.astype(np.float32) - rgb) ** 2).mean())
                psnr = 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))
                rows.setdefault(f"{method}/{fit}", []).append(
                    (float(np.linalg.norm(ab - true_ab, axis=2).mean()), psnr, square))
    table = {}
    for key, values in rows.items():
        non_square = [v for v in values if not v[2]]
        table[key] = {
            "chroma_error": round(float(np.mean([v[0] for v in values])), 3),
            "psnr": round(float(np.mean([v[1] for v in values])), 2),
            "chroma_error_non_square": round(float(np.mean([v[0] for v in non_square])), 3),
        }
    return {"model": str(model_path), "photos": len(next(iter(rows.values()))), "methods": table}


def main() -> int:
    """Run the benchmark and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES_MP),
                        help="photo sizes in megapixels (default %(default)s)")
    parser.add_argument("--width", type=int, default=MODEL_WIDTH, help="generator width (default %(default)s)")
    parser.add_argument("--no-bleeding", action="store_true", help="skip the bleeding measurement")
    parser.add_argument("--trained-model", type=Path, default=None,
                        help="also compare the methods with this trained model on the sample photos")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_colorize_") as tmp:
        folder = Path(tmp)
        model = make_model_file(folder, args.width)
        for megapixels in (float(s) for s in args.sizes.split(",")):
            photo, w, h = make_photo(folder, megapixels)
            runs = TIMED_RUNS if megapixels <= REPEAT_LIMIT_MP else 1
            ours = measure("colorize", model, photo, folder / "out.jpg", runs)
            reference = measure("reference", model, photo, folder / "ref.jpg", runs)
            results.append({
                "megapixels": round(w * h / 1e6, 2), "width": w, "height": h,
                "seconds": round(ours["seconds"], 3), "peak_rss_mb": round(ours["peak_rss_mb"], 1),
                "reference_seconds": round(reference["seconds"], 3),
                "cpu_seconds": round(ours["cpu_seconds"], 3),
                "reference_cpu_seconds": round(reference["cpu_seconds"], 3),
                "reference_peak_rss_mb": round(reference["peak_rss_mb"], 1),
                "photo_peak_rss_mb": ours["photo_peak_rss_mb"] and round(ours["photo_peak_rss_mb"], 1),
                "reference_photo_peak_rss_mb": reference["photo_peak_rss_mb"]
                and round(reference["photo_peak_rss_mb"], 1),
            })
            print(json.dumps(results[-1]), file=sys.stderr)
    report: dict[str, object] = {
        "results": results,
        "setup": {"model": f"multipath width {args.width}, 64 px", "decode_encode": "JPEG",
                  "timed_runs": f"best of {TIMED_RUNS} up to {REPEAT_LIMIT_MP} MP, else 1",
                  "cv2_threads": cv2.getNumThreads()},
    }
    if not args.no_bleeding:
        report["bleeding"] = bleeding()
    if args.trained_model is not None:
        report["trained_model"] = trained_model_comparison(args.trained_model)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
