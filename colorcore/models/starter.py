"""The starter model shipped inside the package: how it is written and calibrated (its name and file are in
`colorcore.models.settings`; `colorcore.models.checkpoint.load_model("starter")` opens it).

`resources/models/starter.safetensors` is a multipath generator trained by
`packaging/starter/train_starter.py` on the photo corpus of `packaging/corpus/build_corpus.py`
(attribution in `resources/models/ATTRIBUTION.md`; model card: docs/starter-model.md). It is the
model `colorcore colorize` uses when none is given, the Colourise tab's first choice, and what
`colorcore train --init starter` starts from. Weights are stored in fp16 (loaded into fp32).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from colorcore.models.settings import STARTER, STARTER_FILE, starter_model_path  # noqa: F401 (0.1's callers
# imported the starter's file from here; the engine reads them from models.settings)

ATTRIBUTION_FILES = ("ATTRIBUTION.md", "attribution.json")


def export_starter(checkpoint: Path, out: Path, corpus: Path, dataset: Any, licence: str,
                   record: dict[str, Any]) -> Path:
    """Write the generator of `checkpoint` to `out` in fp16 with starter metadata, and the corpus
    attribution files beside it. Returns `out`."""
    from safetensors.torch import save

    from colorcore.core.atomic import atomic_write
    from colorcore.models.checkpoint import METADATA_KEY, load_checkpoint, load_model, model_metadata
    from colorcore.models.base import ModelConfig

    state = load_checkpoint(checkpoint)
    model = load_model(checkpoint)
    tensors = {k: (v.half() if v.is_floating_point() else v).contiguous()
               for k, v in model.generator.state_dict().items()}
    meta = model_metadata(ModelConfig.from_dict(state["model_config"]), state.get("summary") or {})
    meta["starter"] = {
        "name": STARTER,
        "weights_licence": licence,
        "storage": "fp16",
        "data": {"photos": sum(len(v) for v in dataset.manifest.photos.values()),
                 "train_photos": len(dataset.manifest.photos["train"]),
                 "held_out_photos": list(dataset.manifest.photos["test"]),
                 "samples": {s: len(dataset.split(s)) for s in ("train", "test")},
                 "crops_per_photo": dataset.manifest.crops_per_photo,
                 "attribution": "ATTRIBUTION.md"},
        "record": record,
    }
    data = save(tensors, metadata={METADATA_KEY: json.dumps(meta)})
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda handle: handle.write(data))
    for name in ATTRIBUTION_FILES:
        if (corpus / name).is_file():
            shutil.copyfile(corpus / name, out.parent / name)
    return out


CALIBRATION_MAX_SIDE = 768  # photos are reduced to this long side for calibration, as bench_quality scores them
CALIBRATION_SIGMAS = (0.0, 1.0, 2.0, 3.0, 4.0)  # chroma blurs tried, in pixels of the network's output;
# more than 4 px (1/16 of a 64 px output) lets colour bleed across objects
CALIBRATION_SCALES = tuple(round(0.05 * step, 2) for step in range(1, 21))  # 0.05 .. 1.0
# the least colour a calibrated model keeps, as a share of the real photos' colourfulness: below it a
# colourised photo reads as gray (PSNR alone would pick that on photos the network knows little about)
MIN_COLOURFULNESS_RATIO = 0.4


def calibrate_chroma(model: Any, photos: list[Path], max_side: int = CALIBRATION_MAX_SIDE,
                     sigmas: tuple[float, ...] = CALIBRATION_SIGMAS,
                     scales: tuple[float, ...] = CALIBRATION_SCALES,
                     min_colourfulness: float = MIN_COLOURFULNESS_RATIO,
                     flip_average: bool = True) -> tuple[Any, dict[str, Any]]:
    """The `ChromaCalibration` (blur, scale; with `flip_average`) under which `model`'s colourised
    photos score the best mean PSNR while keeping at least `min_colourfulness` of the real photos'
    colourfulness.

    Each photo is reduced to `max_side`, turned gray and colourised exactly as `colorcore colorize` does
    it (guided chroma, the photo's luminance kept) from the network's prediction (averaged with the
    mirror image's when `flip_average`, else as predicted), blurred by each of `sigmas` and multiplied by each of `scales`; among the pairs whose outputs keep on average at
    least `min_colourfulness` of the real photos' colourfulness (Hasler & Suesstrunk), the one with the
    highest PSNR against the real photos, averaged over the photos, wins (the gray photo's own PSNR is
    reported beside it; with no pair colourful enough, the most colourful scale). A network
    unsure of a photo's colours predicts plausible but often wrong, speckled chroma; smoothing it and
    shrinking it towards gray is what raises the score on photos it never saw (docs/starter-model.md).
    Returns (calibration, report). Unreadable photos raise `colorcore.data.imageio.ImageReadError`.
    """
    import numpy as np

    from colorcore.models.calibration import ChromaCalibration
    from colorcore.inference.chroma import chroma_u8, guided_chroma, lab_l8, predict_chroma, recombine
    from colorcore.models.base import check_inference_size
    from colorcore.data.imageio import luma, read_image, shrink_to_long_side
    from colorcore.evaluation.metrics import colourfulness, psnr

    if not photos:
        raise ValueError("calibration needs at least one photo")
    size = check_inference_size(model, None)
    saved, model.calibration = model.calibration, ChromaCalibration(flip_average=flip_average)
    scores = np.zeros((len(sigmas), len(scales)))
    colour = np.zeros((len(sigmas), len(scales)))
    gray_score = 0.0
    try:
        for path in photos:
            real = shrink_to_long_side(read_image(path, min_size=max_side), max_side)
            gray = luma(real)
            l8 = lab_l8(gray)
            raw = predict_chroma(gray, model, size=size)
            out = np.empty_like(real)
            gray_score += float(psnr(np.repeat(gray[None, ..., None], 3, axis=3), real[None]).item())
            real_colour = max(float(colourfulness(real[None]).item()), 1e-6)
            for i, sigma in enumerate(sigmas):
                chroma = guided_chroma(l8, ChromaCalibration(sigma=sigma).apply(raw))
                for j, scale in enumerate(scales):
                    recombine(l8, chroma_u8(chroma * scale), out)
                    scores[i, j] += float(psnr(out[None], real[None]).item())
                    colour[i, j] += float(colourfulness(out[None]).item()) / real_colour
    finally:
        model.calibration = saved
    scores /= len(photos)
    colour /= len(photos)
    allowed = np.where(colour >= min_colourfulness, scores, -np.inf)
    if np.isfinite(allowed).any():
        best_i, best_j = np.unravel_index(int(np.argmax(allowed)), scores.shape)
    else:
        best_i, best_j = np.unravel_index(int(np.argmax(colour)), colour.shape)
    report = {"photos": [Path(p).name for p in photos], "max_side": max_side,
              "rule": (f"the blur and scale whose colourised photos score the best mean PSNR while keeping at "
                       f"least {min_colourfulness:g} of the real photos' colourfulness"),
              "flip_average": flip_average, "gray_psnr": round(gray_score / len(photos), 3), "tried": []}
    for sigma, row, colour_row, plain_row in zip(sigmas, allowed, colour, scores):
        best = int(np.argmax(row))  # -inf where the colourfulness floor rules a scale out
        kept = bool(np.isfinite(row[best]))
        report["tried"].append({"chroma_sigma": float(sigma),
                                "best_chroma_scale": float(scales[best]) if kept else None,
                                "psnr": round(float(row[best]), 3) if kept else None,
                                "colourfulness_ratio": round(float(colour_row[best]), 3) if kept else None,
                                "psnr_at_scale_1": round(float(plain_row[-1]), 3)})
    return ChromaCalibration(scale=float(scales[best_j]), sigma=float(sigmas[best_i]), flip_average=flip_average), report


def write_calibration(file: Path, calibration: Any, report: dict[str, Any]) -> Path:
    """Rewrite the model file `file` (atomically, tensors untouched) with `calibration` and the
    `report` of how it was found under "inference" in its metadata."""
    from safetensors.torch import load_file, save

    from colorcore.core.atomic import atomic_write
    from colorcore.models.calibration import ChromaCalibration
    from colorcore.models.checkpoint import METADATA_KEY, read_metadata

    ChromaCalibration.from_metadata(calibration.to_metadata(), file)  # refuses values load_model would refuse
    meta = read_metadata(file)
    meta["inference"] = {**calibration.to_metadata(), "calibration": report}
    data = save(load_file(str(file)), metadata={METADATA_KEY: json.dumps(meta)})
    atomic_write(file, lambda handle: handle.write(data))
    return file
