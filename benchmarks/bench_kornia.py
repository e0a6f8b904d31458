"""Our Lab conversion and SSIM vs kornia's: agreement on real photos, agreement with our tests' references, speed.

- Lab: `colorcore.core.lab.rgb_to_lab` / `lab_to_rgb` vs `kornia.color.rgb_to_lab` / `lab_to_rgb` (float32,
  RGB in [0, 1]): max abs difference of the values and of the gradients (both are differentiable;
  the Zhang model trains through them); the largest error against scikit-image's `rgb2lab`, which
  tests/test_zhang.py bounds by 0.02; the round-trip error (that test: 1e-5); and how many ab bins
  `colorcore.core.lab.ab_bins`' construction keeps with kornia's conversion (ours: exactly 313).
- SSIM: `colorcore.evaluation.metrics.ssim` vs `kornia.metrics.ssim` (11 px window, sigma 1.5, data range 255,
  eps 0, "valid" padding, mean per image) on (real photo, JPEG quality 30 of it) and (real photo, its
  gray version): max abs difference, and each one's largest relative error against scikit-image's
  `structural_similarity` (tests/test_metrics.py: 1e-5). kornia in float64 (ours' precision on the
  CPU) and in float32 (its default for uint8 input).
- Speed: best of `--rounds`, the two sides alternating: Lab both ways on a training batch
  (16, 3, 256, 256) and on the largest photo; SSIM on (4, 256, 256, 3) uint8 images.

Photos: resources/samples/*.jpg and /work/heldout/* (when present), long side at most `--max-side`.
Needs kornia (not a dependency: ``pip install kornia``). Prints JSON.

    python benchmarks/bench_kornia.py [--rounds 5] [--max-side 1024]
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
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorcore.core import lab
from colorcore.evaluation import metrics  # noqa: E402
from colorcore.data.imageio import list_images, read_image, shrink_to_long_side  # noqa: E402

SAMPLES = ROOT / "resources" / "samples"
HELDOUT = Path("/work/heldout")
JPEG_QUALITY = 30
BATCH, CROP = 16, 256  # a training batch for the Lab timing
SSIM_BATCH = 4  # evaluation images per SSIM call (float64 filtering on the CPU is slow)
DEFAULT_ROUNDS = 5
DEFAULT_MAX_SIDE = 1024


def photos(max_side: int) -> list[np.ndarray]:
    """The sample and held-out photos, RGB uint8, long side at most `max_side`."""
    paths = list_images(SAMPLES) + (list_images(HELDOUT) if HELDOUT.is_dir() else [])
    out = []
    for path in paths:
        out.append(shrink_to_long_side(read_image(path), max_side))
    return out


def as_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(1, 3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0


def best_seconds(functions: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Best-of-`rounds` seconds of each function, the functions alternating within a round."""
    best = {name: float("inf") for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: round(value, 4) for name, value in best.items()}


def gradient(convert: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """d sum(weights * convert(x)) / dx."""
    x = x.clone().requires_grad_(True)
    (convert(x) * weights).sum().backward()
    return x.grad


def lab_report(images: list[np.ndarray], rounds: int) -> dict[str, object]:
    """Agreement of the two Lab conversions (see the module docstring) and their speed."""
    import kornia
    from skimage.color import rgb2lab

    diff = {"lab": 0.0, "rgb_from_lab": 0.0, "gradient": 0.0, "gradient_relative": 0.0}
    vs_skimage = {"ours": 0.0, "kornia": 0.0}
    round_trip = {"ours": 0.0, "kornia": 0.0}
    torch.manual_seed(0)
    for rgb in images:
        x = as_tensor(rgb)
        ours, theirs = lab.rgb_to_lab(x), kornia.color.rgb_to_lab(x)
        reference = torch.from_numpy(rgb2lab(rgb.astype(np.float64) / 255.0)).permute(2, 0, 1)[None].float()
        diff["lab"] = max(diff["lab"], float((ours - theirs).abs().max()))
        vs_skimage["ours"] = max(vs_skimage["ours"], float((ours - reference).abs().max()))
        vs_skimage["kornia"] = max(vs_skimage["kornia"], float((theirs - reference).abs().max()))
        back_ours, back_theirs = lab.lab_to_rgb(ours), kornia.color.lab_to_rgb(theirs, clip=True)
        diff["rgb_from_lab"] = max(diff["rgb_from_lab"], float((lab.lab_to_rgb(reference) -
                                                                kornia.color.lab_to_rgb(reference)).abs().max()))
        round_trip["ours"] = max(round_trip["ours"], float((back_ours - x).abs().max()))
        round_trip["kornia"] = max(round_trip["kornia"], float((back_theirs - x).abs().max()))
        weights = torch.randn_like(x)
        grads = gradient(lab.rgb_to_lab, x, weights), gradient(kornia.color.rgb_to_lab, x, weights)
        diff["gradient"] = max(diff["gradient"], float((grads[0] - grads[1]).abs().max()))
        diff["gradient_relative"] = max(diff["gradient_relative"],
                                        float((grads[0] - grads[1]).abs().max() / grads[0].abs().max()))

    surface = lab._rgb_cube_surface(lab.GAMUT_SURFACE_SAMPLES)
    kornia_ab = kornia.color.rgb_to_lab(surface.T.reshape(1, 3, -1, 1))[0, :, :, 0].T[:, 1:]
    kept = torch.cdist(lab.ab_grid().double(), kornia_ab).min(dim=1).values <= lab.GAMUT_MARGIN

    batch = torch.rand(BATCH, 3, CROP, CROP)
    photo = as_tensor(max(images, key=lambda im: im.size))
    batch_lab, photo_lab = lab.rgb_to_lab(batch), lab.rgb_to_lab(photo)
    speed = best_seconds({
        "ours_rgb_to_lab_batch": lambda: lab.rgb_to_lab(batch),
        "kornia_rgb_to_lab_batch": lambda: kornia.color.rgb_to_lab(batch),
        "ours_lab_to_rgb_batch": lambda: lab.lab_to_rgb(batch_lab),
        "kornia_lab_to_rgb_batch": lambda: kornia.color.lab_to_rgb(batch_lab),
        "ours_rgb_to_lab_photo": lambda: lab.rgb_to_lab(photo),
        "kornia_rgb_to_lab_photo": lambda: kornia.color.rgb_to_lab(photo),
        "ours_lab_to_rgb_photo": lambda: lab.lab_to_rgb(photo_lab),
        "kornia_lab_to_rgb_photo": lambda: kornia.color.lab_to_rgb(photo_lab),
    }, rounds)
    return {
        "max_abs_diff": {key: round(value, 6) for key, value in diff.items()},
        "max_abs_error_vs_skimage": {key: round(value, 6) for key, value in vs_skimage.items()},
        "round_trip_max_abs_error": {key: round(value, 7) for key, value in round_trip.items()},
        "ab_bins_kept": {"ours": len(lab.ab_bins()), "kornia": int(kept.sum())},
        "seconds": speed, "batch_shape": [BATCH, 3, CROP, CROP], "photo_shape": list(photo.shape),
    }


def kornia_ssim(fake: np.ndarray, real: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """Per-image SSIM of (B, H, W, 3) uint8 images by kornia, defined as `colorcore.evaluation.metrics.ssim`."""
    import kornia

    a, b = (torch.from_numpy(x).permute(0, 3, 1, 2).to(dtype) for x in (fake, real))
    ssim_map = kornia.metrics.ssim(a, b, metrics.SSIM_WIN, max_val=metrics.DATA_RANGE, eps=0.0, padding="valid")
    return ssim_map.flatten(1).mean(dim=1).float()


def degraded_pairs(images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(changed, real) pairs: a JPEG of low quality, and the gray version, of each photo."""
    pairs = []
    for rgb in images:
        ok, jpeg = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        pairs.append((cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED), rgb))
        pairs.append((np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2), rgb))
    return pairs


def ssim_report(images: list[np.ndarray], rounds: int) -> dict[str, object]:
    """Agreement of the two SSIMs with each other and with scikit-image, and their speed."""
    from skimage.metrics import structural_similarity

    diff = {"float64": 0.0, "float32": 0.0}
    rel_vs_skimage = {"ours": 0.0, "kornia_float64": 0.0, "kornia_float32": 0.0}
    for fake, real in degraded_pairs(images):
        ref = structural_similarity(real, fake, data_range=255, channel_axis=-1, gaussian_weights=True,
                                    sigma=metrics.SSIM_SIGMA, use_sample_covariance=False)
        ours = float(metrics.ssim(fake[None], real[None])[0])
        rel_vs_skimage["ours"] = max(rel_vs_skimage["ours"], abs(ours - ref) / abs(ref))
        for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
            theirs = float(kornia_ssim(fake[None], real[None], dtype)[0])
            diff[name] = max(diff[name], abs(ours - theirs))
            rel_vs_skimage[f"kornia_{name}"] = max(rel_vs_skimage[f"kornia_{name}"], abs(theirs - ref) / abs(ref))

    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (SSIM_BATCH, CROP, CROP, 3), dtype=np.uint8)
    fake = np.clip(real.astype(np.int16) + rng.integers(-40, 40, real.shape), 0, 255).astype(np.uint8)
    speed = best_seconds({
        "ours_batch": lambda: metrics.ssim(fake, real),
        "kornia_float64_batch": lambda: kornia_ssim(fake, real, torch.float64),
        "kornia_float32_batch": lambda: kornia_ssim(fake, real, torch.float32),
    }, rounds)
    return {"pairs": 2 * len(images), "max_abs_diff_from_ours": {k: float(f"{v:.3g}") for k, v in diff.items()},
            "max_rel_error_vs_skimage": {k: float(f"{v:.3g}") for k, v in rel_vs_skimage.items()},
            "seconds": speed, "batch_shape": [SSIM_BATCH, CROP, CROP, 3]}


def main() -> int:
    """Run the comparison and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="timing rounds, best of (default 5)")
    parser.add_argument("--max-side", type=int, default=DEFAULT_MAX_SIDE, help="photos' long side at most (px)")
    args = parser.parse_args()
    try:
        import kornia
    except ImportError as exc:
        print(f"bench_kornia: kornia is not installed ({exc}); pip install kornia", file=sys.stderr)
        return 2
    images = photos(args.max_side)
    report = {"kornia": kornia.__version__, "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "photos": len(images), "max_side": args.max_side,
              "lab": lab_report(images, args.rounds), "ssim": ssim_report(images, args.rounds)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
