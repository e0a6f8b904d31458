"""Benchmark colour hints: which propagation bleeds less, and how fast the interactive preview is.

Prints JSON::

    {"propagation": {"methods": {NAME: {"synthetic": {...}, "photos": {...}, "solve_cpu_ms": {...}}}},
     "latency": {...}}

**propagation** compares hint propagations, each giving a (confidence, colour) field on the solve
grid, through the same `ChromaEditor` pipeline (model chroma + confidence * (hint - model), brought to
full size by the guided filter):

- ``random_walk`` (the engine's `HintPropagation` without its texture filter, for each of
  `RANDOM_WALK_SIGMAS`): 4-neighbour affinity exp(-dL^2 / 2 sigma^2), absorption, hard hint
  constraints, sparse LU solve;
- ``engine`` / ``engine_before``: the engine's whole hint path with its settings now / before issue
  26's changes (`BEFORE`: no texture filter, the field's guided-filter eps 1e-4);
- ``levin``: the affinity of Levin et al. 2004 (8 neighbours, Gaussian of the luminance difference
  scaled by the local variance, rows normalised to 1), the same absorption and constraints;
- ``geodesic``: each pixel takes the nearest hint's colour along the luminance (Dijkstra, step cost
  length + beta * |dL| in 8-bit levels, for each of `GEODESIC_BETAS`), confidence min(1, gain * exp(-distance / reach));
- ``guided``: normalised guided-filter propagation (mask and mask*colour filtered with a large
  radius, guided by the luminance), confidence min(1, gain * filtered mask / its value at the hint);
- ``fgs``: the same normalised propagation with OpenCV's fast global smoother (edge-aware WLS).

`synthetic`: scenes with two regions split by a luminance edge (straight, disc, wavy; contrast 8, 16
and 32 levels; texture noise), a constant model colour and one blue point hint in one region.
`coverage` is the mean fraction of the hint's colour shift reached in the hinted region, `leak` the
mean fraction that crossed into the other region within 5 % of the width of the edge (lower is
better; the edge's own pixels +-2 px excluded). `photos`: the protocol of Zhang et al. 2017
(ideepcolor): each sample photo's real chroma is the truth, the starter model's prediction the start,
N random points reveal the true colour there; mean Lab chroma error against the truth over the
photo and near luminance edges (Canny, dilated 2 px), at `PHOTO_LONG_SIDE` px. `solve_cpu_ms`: the
process CPU time of one solve at each grid size (single-threaded; the wall time on a shared machine
swings).

**latency** (`ChromaEditor` on a `--megapixels` photo upscaled from a sample): building the editor
(model prediction, luminances), a preview at screen size after a new hint (solve + recombine), after
a saturation change only (cached solution), and `render_full` (the full-resolution result from the
same solution) as the reference; wall and CPU seconds, best of `--repeats`.

**quality** (the simulated user of Zhang et al. 2017 through the engine call of ``colorcore colorize
--hints``: `ChromaEditor.from_model` + `render_full`, i.e. `colorize_array(..., controls=)`): each photo
at `QUALITY_LONG_SIDE` px becomes its gray (BT.601 luma) version; N random points reveal the mean true
colour of the 5x5 patch around them (`PointHint`, default width), for N in `QUALITY_COUNTS`; PSNR of the
result against the real photo, mean over photos and draws, for the model + hints (``model``) and the
hints alone on a gray start (``propagation``, zero model chroma; both with the semantic match of
`cc.SemanticHints`, as `from_model` builds the editor); ``hint_miss_ab``: the Lab a*b*
distance between the picked colour and the result at the hint's own pixel (p50, p95, share over 10).
``gray``: the gray photo's PSNR; ``lab_ceiling``: the true a*b* on the gray photo's L*; ``edge_psnr``:
PSNR within `EDGE_BAND` px of the gray photo's edges (Canny); ``speckle_pct``: the share of pixels whose
a*b* is more than `SPECKLE_AB` from its 5x5 median (``truth_speckle_pct``: the real photos'). ``--limit K``
takes every k-th photo (about K), ``--long-side 0`` the photos at their own size (the full-resolution
upsampling shows there), ``--before`` adds ``model_before``: the same run with the propagation's
settings before issue 26 (`BEFORE`: no texture filter, field eps 1e-4, no semantic match).

Run: ``python benchmarks/bench_hints.py`` (``--part propagation``, ``--part latency`` or ``--part quality``
for one part; ``--photos`` folders or files for quality, default /work/evalset-like folders named on the
command line plus the bundled samples).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from scipy.sparse.csgraph import dijkstra

from colorcore.inference import colour_control as cc
from colorcore.inference.chroma import CHROMA_OFFSET, lab_l8, predict_chroma
from colorcore.data.imageio import luma
from colorcore.inference.hints import Hints, PointHint, rgb_to_hex
from colorcore.data.imageio import fit_long_side

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "resources" / "samples"
LATENCY_SAMPLE = "coffee.jpg"
SCENE_SIZE = (640, 960)
CONTRASTS = (8, 16, 32)
SCENE_NOISE = 3.0
MODEL_AB = (25.0, 35.0)  # the constant "model" colour of the synthetic scenes (orange)
HINT_COLOUR = "#2050c0"
LEAK_BAND = 0.05  # of the width, beside the edge
EDGE_GAP = 2  # px either side of the edge left out of the measures
PHOTO_LONG_SIDE = 768
HINT_COUNTS = (0, 3, 10, 30)
HINT_SEEDS = (0, 1)
GRID_SIZES = (128, 192, 256)
RANDOM_WALK_SIGMAS = (0.01, 0.015, 0.02, 0.03)
GEODESIC_BETAS = (1.0, 4.0)
GUIDED_EPS = 1e-3
FGS_LAMBDA = 2000.0
FGS_SIGMA = 8.0
LEVIN_VARIANCE_FLOOR = 2e-6
CANNY = (50, 150)
QUALITY_LONG_SIDE = 512
QUALITY_COUNTS = (0, 1, 2, 5, 10, 20, 50, 100, 200)
QUALITY_PATCH = 5  # revealed colour: the mean of this square around the point
MISS_LIMIT = 10.0  # a*b* units: the bar for the miss at the hint's own spot
EDGE_BAND = 3  # px either side of a luminance edge (Canny) for ``edge_psnr``
SPECKLE_AB = 6  # a*b* units from the 5x5 median that make a pixel a speckle (``speckle_pct``)
# the propagation's settings before issue 26's tuning (ChromaEditor arguments), for --before
BEFORE = {"texture": False, "field_eps": 1e-4, "semantic": False}
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")

Propagate = Callable[..., tuple[np.ndarray, np.ndarray]]  # (mask, ab, *, gain) -> (confidence, colour)


def _reach_px(shape: tuple[int, int]) -> float:
    return cc.HINT_REACH * max(shape)


def random_walk(sigma: float) -> Callable[[np.ndarray], Propagate]:
    return lambda l8: cc.HintPropagation(l8, sigma=sigma, texture=False).solve  # the plain walk


def levin(l8: np.ndarray) -> Propagate:
    """Levin et al.'s affinity (local-variance Gaussian, 8 neighbours, rows summing to 1) with absorption."""
    lum = l8.astype(np.float64) / 255.0
    h, w = lum.shape
    index = np.arange(lum.size).reshape(h, w)
    mean = cv2.blur(lum, (3, 3), borderType=cv2.BORDER_REFLECT)
    variance = np.maximum(cv2.blur(lum * lum, (3, 3), borderType=cv2.BORDER_REFLECT) - mean * mean,
                          LEVIN_VARIANCE_FLOOR)
    rows, cols, vals = [], [], []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == dx == 0:
                continue
            ys, xs = slice(max(0, -dy), h - max(0, dy)), slice(max(0, -dx), w - max(0, dx))
            yt, xt = slice(max(0, dy), h - max(0, -dy)), slice(max(0, dx), w - max(0, -dx))
            rows.append(index[ys, xs].ravel())
            cols.append(index[yt, xt].ravel())
            vals.append(np.exp(-(lum[ys, xs] - lum[yt, xt]) ** 2 / (2 * 0.6 * variance[ys, xs])).ravel())
    affinity = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(lum.size, lum.size))
    affinity = sp.diags(1.0 / np.asarray(affinity.sum(axis=1)).ravel()) @ affinity
    absorption = 1.0 / _reach_px(lum.shape) ** 2 / 4.0  # per step, as the random walk's at degree 4
    system = (sp.identity(lum.size) * (1.0 + absorption) - affinity).tocsr()

    def solve(mask: np.ndarray, ab: np.ndarray, *, gain: float = cc.CONFIDENCE_GAIN) -> tuple[np.ndarray, np.ndarray]:
        fixed = mask.ravel()
        values = np.zeros((fixed.size, 3))
        values[fixed, 0] = 1.0
        values[fixed, 1:] = ab.reshape(-1, 2)[fixed]
        free = ~fixed
        values[free] = sla.splu(system[free][:, free].tocsc()).solve((affinity @ values)[free])
        return _fields(values, lum.shape, gain)

    return solve


def _fields(values: np.ndarray, shape: tuple[int, int], gain: float) -> tuple[np.ndarray, np.ndarray]:
    reached = values[:, 0]
    colour = values[:, 1:] / np.maximum(reached, 1e-12)[:, None]
    return (np.minimum(gain * reached, 1.0).reshape(shape).astype(np.float32),
            colour.reshape(*shape, 2).astype(np.float32))


def geodesic(beta: float) -> Callable[[np.ndarray], Propagate]:
    return lambda l8: _geodesic(l8, beta)


def _geodesic(l8: np.ndarray, beta: float) -> Propagate:
    """Nearest hint along the luminance (Dijkstra on the 8-neighbour grid)."""
    lum = l8.astype(np.float64)
    h, w = lum.shape
    index = np.arange(lum.size).reshape(h, w)
    rows, cols, vals = [], [], []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ys, xs = slice(0, h - dy), slice(max(0, -dx), w - max(0, dx))
        yt, xt = slice(dy, h), slice(max(0, dx), w - max(0, -dx))
        rows.append(index[ys, xs].ravel())
        cols.append(index[yt, xt].ravel())
        vals.append((np.hypot(dy, dx) + beta * np.abs(lum[ys, xs] - lum[yt, xt])).ravel())
    graph = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(lum.size, lum.size))
    reach = _reach_px(lum.shape)

    def solve(mask: np.ndarray, ab: np.ndarray, *, gain: float = cc.CONFIDENCE_GAIN) -> tuple[np.ndarray, np.ndarray]:
        sources = np.flatnonzero(mask)
        distance, _, nearest = dijkstra(graph, directed=False, indices=sources, min_only=True,
                                        return_predecessors=True)
        colour = ab.reshape(-1, 2)[np.maximum(nearest, 0)]
        confidence = np.minimum(gain * np.exp(-distance / reach), 1.0)
        return confidence.reshape(h, w).astype(np.float32), colour.reshape(h, w, 2).astype(np.float32)

    return solve


def _normalised(smooth: Callable[[np.ndarray], np.ndarray]) -> Propagate:
    def solve(mask: np.ndarray, ab: np.ndarray, *, gain: float = cc.CONFIDENCE_GAIN) -> tuple[np.ndarray, np.ndarray]:
        weight = mask.astype(np.float32)
        spread = np.maximum(smooth(weight), 0.0)
        colour = smooth(ab * weight[:, :, None]) / np.maximum(spread, 1e-6)[:, :, None]
        confidence = np.minimum(gain * spread / max(float(spread[mask].max()), 1e-6), 1.0)
        return confidence.astype(np.float32), colour.astype(np.float32)

    return solve


def guided(l8: np.ndarray) -> Propagate:
    radius = max(1, round(_reach_px(l8.shape) / 4))
    return _normalised(lambda x: cv2.ximgproc.guidedFilter(l8, x, radius, GUIDED_EPS * 255 ** 2))


def fgs(l8: np.ndarray) -> Propagate:
    smoother = cv2.ximgproc.createFastGlobalSmootherFilter(l8, FGS_LAMBDA, FGS_SIGMA)
    return _normalised(smoother.filter)


METHODS: dict[str, Callable[[np.ndarray], Propagate]] = {
    **{f"random_walk sigma={sigma}": random_walk(sigma) for sigma in RANDOM_WALK_SIGMAS},
    "levin": levin,
    **{f"geodesic beta={beta}": geodesic(beta) for beta in GEODESIC_BETAS},
    "guided": guided, "fgs": fgs,
}


# the engine's own hint path (texture filter, gain, field eps included) now and before issue 26's tuning
ENGINE_SETTINGS: dict[str, dict[str, object]] = {"engine": {}, "engine_before": BEFORE}
METHODS.update({"engine": lambda l8: cc.HintPropagation(l8).solve,  # (their solves, for solve_cpu_ms)
                "engine_before": lambda l8: cc.HintPropagation(l8, sigma=0.015, texture=False).solve})


class _Propagation:
    """Stands in for the editor's `HintPropagation` with another method."""

    def __init__(self, l8: np.ndarray, method: Callable[[np.ndarray], Propagate]) -> None:
        self.shape = l8.shape
        self.solve = method(l8)


def _editor(image: np.ndarray, chroma: np.ndarray, method: str) -> cc.ChromaEditor:
    if method in ENGINE_SETTINGS:  # the engine's whole hint path with these settings
        return cc.ChromaEditor(image, chroma, preview_long_side=max(image.shape[:2]), **ENGINE_SETTINGS[method])
    editor = cc.ChromaEditor(image, chroma, preview_long_side=max(image.shape[:2]))
    editor.propagation = _Propagation(_grid_l8(editor), METHODS[method])
    return editor


def _grid_l8(editor: cc.ChromaEditor) -> np.ndarray:
    shape = editor.propagation.shape
    return cv2.resize(editor.l8, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def _ab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[:, :, 1:].astype(np.float32) - CHROMA_OFFSET


def _scenes() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, gray photo, region A mask) per shape and contrast; the hint goes at A's centre."""
    h, w = SCENE_SIZE
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    shapes = {
        "straight": xs < w * 0.5,
        "disc": (xs - w * 0.5) ** 2 + (ys - h * 0.5) ** 2 < (h * 0.3) ** 2,
        "wavy": xs < w * 0.5 + h * 0.08 * np.sin(ys / h * 6 * np.pi),
    }
    rng = np.random.default_rng(0)
    scenes = []
    for shape, region in shapes.items():
        for contrast in CONTRASTS:
            base = np.where(region, 110.0, 110.0 + contrast)
            gray = np.clip(base + rng.normal(0, SCENE_NOISE, base.shape), 0, 255).astype(np.uint8)
            scenes.append((f"{shape}/{contrast}", gray, region))
    return scenes


def _hint_in(region: np.ndarray) -> PointHint:
    """A point hint well inside `region` (the centre of its largest inscribed disc)."""
    padded = cv2.copyMakeBorder(region.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]  # the photo's border bounds it too
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return PointHint((x + 0.5) / region.shape[1], (y + 0.5) / region.shape[0], HINT_COLOUR)


def synthetic(method: str) -> dict[str, object]:
    """Coverage of the hinted region and leak across the edge, per scene and on average."""
    chroma = np.broadcast_to(np.float32(MODEL_AB), (64, 64, 2)).copy()
    shift = np.float32(cc.hint_ab(HINT_COLOUR)) - np.float32(MODEL_AB)
    rows = {}
    for name, gray, region in _scenes():
        editor = _editor(gray, chroma, method)
        result = editor.render_full(cc.ColourControls(hints=Hints((_hint_in(region),))))
        moved = ((_ab(result) - np.float32(MODEL_AB)) @ shift) / float(shift @ shift)
        kernel = np.ones((2 * EDGE_GAP + 1, 2 * EDGE_GAP + 1), np.uint8)
        inner = cv2.erode(region.astype(np.uint8), kernel).astype(bool)
        outer = ~cv2.dilate(region.astype(np.uint8), kernel).astype(bool)
        band = int(LEAK_BAND * gray.shape[1])
        near = cv2.dilate(region.astype(np.uint8), np.ones((2 * band + 1, 2 * band + 1), np.uint8)).astype(bool)
        rows[name] = {"coverage": round(float(moved[inner].mean()), 4),
                      "leak": round(float(np.abs(moved[outer & near]).mean()), 4)}
    return {"coverage": round(float(np.mean([r["coverage"] for r in rows.values()])), 4),
            "leak": round(float(np.mean([r["leak"] for r in rows.values()])), 4), "scenes": rows}


def _photo_case(path: Path, model: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(photo at PHOTO_LONG_SIDE, its true chroma, the model's chroma prediction, edge mask)."""
    from colorcore.data.imageio import read_image

    rgb = read_image(path)
    scale = PHOTO_LONG_SIDE / max(rgb.shape[:2])
    rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    edges = cv2.dilate(cv2.Canny(luma(rgb), *CANNY), np.ones((5, 5), np.uint8)) > 0
    chroma = predict_chroma(luma(rgb), model, size=int(model.config.image_size))
    return rgb, _ab(rgb), chroma, edges


def photos(method: str, model: object) -> dict[str, object]:
    """Mean chroma error vs the truth (whole photo, near edges) per number of revealed points."""
    errors: dict[int, list[tuple[float, float]]] = {n: [] for n in HINT_COUNTS}
    for path in sorted(SAMPLES.glob("*.jpg")):
        rgb, truth, chroma, edges = _photo_case(path, model)
        editor = _editor(rgb, chroma, method)
        for count in HINT_COUNTS:
            for seed in HINT_SEEDS if count else (0,):
                rng = np.random.default_rng(seed)
                ys = rng.integers(0, rgb.shape[0], count)
                xs = rng.integers(0, rgb.shape[1], count)
                hints = Hints(tuple(PointHint((x + 0.5) / rgb.shape[1], (y + 0.5) / rgb.shape[0],
                                              rgb_to_hex(tuple(int(v) for v in rgb[y, x])))
                                    for y, x in zip(ys, xs)))
                result = editor.render_full(cc.ColourControls(hints=hints))
                error = np.linalg.norm(_ab(result) - truth, axis=2)
                errors[count].append((float(error.mean()), float(error[edges].mean())))
    return {str(n): {"photo": round(float(np.mean([e[0] for e in rows])), 3),
                     "near_edges": round(float(np.mean([e[1] for e in rows])), 3)} for n, rows in errors.items()}


def solve_times(method: str, repeats: int) -> dict[str, float]:
    """CPU milliseconds of one solve (10 random point hints) per grid long side, best of `repeats`."""
    from colorcore.data.imageio import read_image

    gray = lab_l8(read_image(SAMPLES / LATENCY_SAMPLE))
    times = {}
    for size in GRID_SIZES:
        shape = fit_long_side(gray.shape, size)
        l8 = cv2.resize(gray, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
        solve = METHODS[method](l8)
        rng = np.random.default_rng(0)
        hints = Hints(tuple(PointHint(float(x), float(y), HINT_COLOUR) for x, y in rng.uniform(0.05, 0.95, (10, 2))))
        mask, ab = cc.paint_hints(hints, shape)
        best = float("inf")
        for _ in range(repeats):
            start = time.process_time()
            solve(mask, ab)
            best = min(best, time.process_time() - start)
        times[str(size)] = round(best * 1000, 1)
    return times


def propagation(repeats: int, methods: list[str]) -> dict[str, object]:
    from colorcore.models.checkpoint import load_model
    from colorcore.models.settings import starter_model_path

    model = load_model(starter_model_path(), "cpu")
    return {"grid_long_side": cc.SOLVE_LONG_SIDE, "methods": {
        name: {"synthetic": synthetic(name), "photos": photos(name, model), "solve_cpu_ms": solve_times(name, repeats)}
        for name in methods}}


def _timed(action: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) of `action`."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return round(wall, 4), round(cpu, 4)


def latency(megapixels: float, repeats: int) -> dict[str, object]:
    """Editor build, preview after a new hint / a saturation change, and full render on a large photo."""
    from colorcore.models.checkpoint import load_model
    from colorcore.data.imageio import read_image
    from colorcore.models.settings import starter_model_path

    model = load_model(starter_model_path(), "cpu")
    sample = read_image(SAMPLES / LATENCY_SAMPLE)
    scale = (megapixels * 1e6 / (sample.shape[0] * sample.shape[1])) ** 0.5
    photo = cv2.resize(sample, (round(sample.shape[1] * scale), round(sample.shape[0] * scale)),
                       interpolation=cv2.INTER_CUBIC)
    editor = cc.ChromaEditor.from_model(photo, model)
    build = _timed(lambda: cc.ChromaEditor.from_model(photo, model), repeats)
    rng = np.random.default_rng(0)
    hint_sets = [Hints(tuple(PointHint(float(x), float(y), HINT_COLOUR) for x, y in rng.uniform(0.05, 0.95, (k, 2))))
                 for k in range(1, repeats + 2)]
    fresh = iter(hint_sets)
    new_hint = _timed(lambda: editor.preview(cc.ColourControls(hints=next(fresh))), repeats)
    before = cc.ChromaEditor(photo, editor.chroma, **BEFORE)  # the same run's reference: the earlier settings
    before.preview()
    fresh = iter(hint_sets)
    new_hint_before = _timed(lambda: before.preview(cc.ColourControls(hints=next(fresh))), repeats)
    last = hint_sets[repeats - 1]
    changes = iter(np.linspace(1.2, 1.6, repeats))  # a new saturation each time (the same one is cached)
    saturation = _timed(lambda: editor.preview(cc.ColourControls(hints=last, saturation=float(next(changes)))), repeats)
    full = _timed(lambda: editor.render_full(cc.ColourControls(hints=last, saturation=1.4)), repeats)
    return {
        "photo": f"{photo.shape[1]}x{photo.shape[0]}", "megapixels": round(photo.shape[0] * photo.shape[1] / 1e6, 1),
        "preview": f"{editor.preview_shape[1]}x{editor.preview_shape[0]}",
        "grid": f"{editor.propagation.shape[1]}x{editor.propagation.shape[0]}",
        "editor_build_s": build[0], "editor_build_cpu_s": build[1],
        "preview_new_hint_s": new_hint[0], "preview_new_hint_cpu_s": new_hint[1],
        "preview_new_hint_before_s": new_hint_before[0], "preview_new_hint_before_cpu_s": new_hint_before[1],
        "preview_saturation_only_s": saturation[0], "preview_saturation_only_cpu_s": saturation[1],
        "render_full_s": full[0], "render_full_cpu_s": full[1],
    }


def _photo_paths(sources: list[Path]) -> list[Path]:
    paths: list[Path] = []
    for source in sources:
        paths += sorted(p for p in source.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES) if source.is_dir() \
            else [source]
    return paths


def _revealed(truth: np.ndarray, count: int, rng: np.random.Generator) -> tuple[Hints, np.ndarray, np.ndarray]:
    """`count` random points revealing the 5x5 mean true colour: (hints, their (y, x), their RGB)."""
    h, w = truth.shape[:2]
    half = QUALITY_PATCH // 2
    ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
    colours = np.array([truth[max(0, y - half):y + half + 1, max(0, x - half):x + half + 1].reshape(-1, 3).mean(axis=0)
                        for y, x in zip(ys, xs)]).reshape(-1, 3)
    colours = np.rint(colours).astype(np.uint8)
    hints = Hints(tuple(PointHint((x + 0.5) / w, (y + 0.5) / h, rgb_to_hex(tuple(int(v) for v in c)))
                        for y, x, c in zip(ys, xs, colours)))
    return hints, np.stack([ys, xs], axis=1), colours


def _lab_ab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[:, 0, 1:]


def speckle_percent(rgb: np.ndarray) -> float:
    """Share (%) of pixels whose Lab a* or b* differs by more than `SPECKLE_AB` from the median of its
    5x5 neighbourhood: isolated colour dots (the truth's own share is the floor)."""
    ab = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2Lab)[:, :, 1:]
    median = np.stack([cv2.medianBlur(np.ascontiguousarray(ab[:, :, i]), 5) for i in range(2)], axis=2)
    return float((np.abs(ab.astype(np.int16) - median).max(axis=2) > SPECKLE_AB).mean() * 100)


def quality(sources: list[Path], seeds: int, limit: int | None = None, long_side: int = QUALITY_LONG_SIDE,
            before: bool = False) -> dict[str, object]:
    """The simulated-user curve: PSNR vs N revealed points, model + hints and hints alone (and, with
    `before`, the model + hints with the propagation's earlier settings, `BEFORE`); `limit`: every
    k-th photo so that about `limit` are used; `long_side` 0: the photos at their own size."""
    from colorcore.models.checkpoint import load_model
    from colorcore.inference.chroma import GRAY_TO_L8, recombine
    from colorcore.data.imageio import read_image
    from colorcore.evaluation.metrics import psnr
    from colorcore.models.settings import starter_model_path

    model = load_model(starter_model_path(), "cpu")
    paths = _photo_paths(sources)
    if limit is not None and 0 < limit < len(paths):
        paths = paths[::len(paths) // limit][:limit]
    names = ["model", "propagation"] + (["model_before"] if before else [])
    scores: dict[str, dict[int, list[float]]] = {name: {n: [] for n in QUALITY_COUNTS} for name in names}
    misses: dict[str, dict[int, list[np.ndarray]]] = {k: {n: [] for n in QUALITY_COUNTS} for k in scores}
    edges: dict[str, dict[int, list[float]]] = {k: {n: [] for n in QUALITY_COUNTS} for k in scores}
    speckles: dict[str, dict[int, list[float]]] = {k: {n: [] for n in QUALITY_COUNTS} for k in scores}
    gray_scores, ceiling_scores, truth_speckles = [], [], []
    for path in paths:
        truth = read_image(path)[:, :, :3]
        if long_side:
            shape = fit_long_side(truth.shape[:2], long_side)
            truth = np.ascontiguousarray(cv2.resize(truth, shape[::-1], interpolation=cv2.INTER_AREA))
        gray = luma(truth)
        gray_scores.append(float(psnr(np.repeat(gray[:, :, None], 3, axis=2), truth)[0]))
        ceiling = recombine(GRAY_TO_L8[gray], cv2.cvtColor(truth, cv2.COLOR_RGB2Lab)[:, :, 1:].copy(),
                            np.empty_like(truth))
        ceiling_scores.append(float(psnr(ceiling, truth)[0]))
        truth_speckles.append(speckle_percent(truth))
        near_edges = cv2.dilate(cv2.Canny(gray, *CANNY), np.ones((2 * EDGE_BAND + 1,) * 2, np.uint8)) > 0
        editor = cc.ChromaEditor.from_model(gray, model)
        editors = {"model": editor, "propagation": cc.ChromaEditor(gray, np.zeros_like(editor.chroma), semantic=True)}
        if before:
            editors["model_before"] = cc.ChromaEditor(gray, editor.chroma, **BEFORE)
        for count in QUALITY_COUNTS:
            for seed in range(seeds if count else 1):
                hints, spots, picked = _revealed(truth, count, np.random.default_rng(seed))
                for name, each in editors.items():
                    result = each.render_full(cc.ColourControls(hints=hints))
                    scores[name][count].append(float(psnr(result, truth)[0]))
                    error = ((result.astype(np.float32) - truth) ** 2).mean(axis=2)[near_edges]
                    edges[name][count].append(float(10 * np.log10(255.0 ** 2 / max(float(error.mean()), 1e-6))))
                    speckles[name][count].append(speckle_percent(result))
                    if count:
                        got = result[spots[:, 0], spots[:, 1]]
                        misses[name][count].append(np.linalg.norm(_lab_ab(got) - _lab_ab(picked), axis=1))
    report: dict[str, object] = {"photos": len(paths), "long_side": long_side or "own", "draws": seeds,
                                 "gray_psnr": round(float(np.mean(gray_scores)), 2),
                                 "lab_ceiling_psnr": round(float(np.mean(ceiling_scores)), 2),
                                 "truth_speckle_pct": round(float(np.mean(truth_speckles)), 3)}
    for name in scores:
        base = float(np.mean(scores[name][0]))
        curve = {}
        for count in QUALITY_COUNTS:
            mean = float(np.mean(scores[name][count]))
            row: dict[str, float] = {"psnr": round(mean, 2), "gain": round(mean - base, 2),
                                     "edge_psnr": round(float(np.mean(edges[name][count])), 2),
                                     "speckle_pct": round(float(np.mean(speckles[name][count])), 3)}
            if count:
                miss = np.concatenate(misses[name][count])
                row.update(miss_p50=round(float(np.percentile(miss, 50)), 2),
                           miss_p95=round(float(np.percentile(miss, 95)), 2),
                           miss_over_10=round(float((miss > MISS_LIMIT).mean()), 4))
            curve[str(count)] = row
        report[name] = curve
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("all", "propagation", "latency", "quality"), default="all")
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", nargs="+", choices=sorted(METHODS), default=list(METHODS), metavar="NAME",
                        help=f"propagations to compare (default all: {', '.join(METHODS)})")
    parser.add_argument("--photos", nargs="+", type=Path, default=[SAMPLES], metavar="PATH",
                        help="quality: photo files or folders (default: the bundled samples)")
    parser.add_argument("--draws", type=int, default=2, help="quality: random draws of the points per N")
    parser.add_argument("--limit", type=int, default=None, help="quality: about this many photos (every k-th)")
    parser.add_argument("--long-side", type=int, default=QUALITY_LONG_SIDE,
                        help=f"quality: photos resized to this long side (default {QUALITY_LONG_SIDE}; 0: their own size)")
    parser.add_argument("--before", action="store_true",
                        help="quality: also the model + hints with the propagation's earlier settings (BEFORE)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch and OpenCV threads (default: theirs; 1 on a shared machine)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    report: dict[str, object] = {}
    if args.part in ("all", "propagation"):
        report["propagation"] = propagation(args.repeats, args.methods)
    if args.part in ("all", "latency"):
        report["latency"] = latency(args.megapixels, args.repeats)
    if args.part in ("all", "quality"):
        report["quality"] = quality(args.photos, args.draws, args.limit, args.long_side, args.before)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
