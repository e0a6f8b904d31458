"""The starter model shipped inside the package: where it is, and how it is written.

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

STARTER = "starter"  # the name that stands for the starter model wherever a model is asked for
STARTER_FILE = "starter.safetensors"
MODELS_FOLDER = "models"
ATTRIBUTION_FILES = ("ATTRIBUTION.md", "attribution.json")


def starter_model_path() -> Path:
    """The bundled starter model file (FileNotFoundError when this installation lacks it)."""
    from colorcore.resources import resources_dir

    path = resources_dir() / MODELS_FOLDER / STARTER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"the starter model is missing from this installation ({path}); "
                                "reinstall ColorCore Studio or give a model")
    return path


def resolve_model_argument(value: str | None) -> Path:
    """A model argument as a path: None or "starter" mean the bundled starter model."""
    if value is None or value == STARTER:
        return starter_model_path()
    return Path(value)


def export_starter(checkpoint: Path, out: Path, corpus: Path, dataset: Any, licence: str,
                   record: dict[str, Any]) -> Path:
    """Write the generator of `checkpoint` to `out` in fp16 with starter metadata, and the corpus
    attribution files beside it. Returns `out`."""
    from safetensors.torch import save

    from colorcore.atomic import atomic_write
    from colorcore.checkpoint import METADATA_KEY, load_checkpoint, load_model, model_metadata
    from colorcore.models import ModelConfig

    state = load_checkpoint(checkpoint)
    model = load_model(checkpoint)
    tensors = {k: (v.half() if v.is_floating_point() else v).contiguous()
               for k, v in model.generator.state_dict().items()}
    meta = model_metadata(ModelConfig.from_dict(state["model_config"]), state.get("summary") or {})
    meta["starter"] = {
        "name": STARTER,
        "weights_licence": licence,
        "storage": "fp16",
        "data": {"photos": sum(len(v) for v in dataset.manifest["photos"].values()),
                 "train_photos": len(dataset.manifest["photos"]["train"]),
                 "held_out_photos": dataset.manifest["photos"]["test"],
                 "samples": {s: len(dataset.split(s)) for s in ("train", "test")},
                 "crops_per_photo": dataset.manifest.get("crops_per_photo", 0),
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


def calibrate_chroma_scale(model: Any, photos: list[Path], max_side: int = CALIBRATION_MAX_SIDE) -> float:
    """The chroma multiplier that minimises the squared Lab a*b* error of `model`'s colourised photos.

    Each photo is reduced to `max_side`, turned gray and colourised as `colorcore colorize` does it
    (guided chroma, scale 1); with p the predicted and t the real chroma, the least-squares scale is
    sum(mean(p*t)) / sum(mean(p*p)) over the photos (each photo weighted equally). A network unsure of
    a photo's colours predicts plausible but often wrong chroma; shrinking it towards gray by this
    factor is what lowers the error on photos it never saw (docs/starter-model.md). Photos that cannot
    be read raise `colorcore.imageio.ImageReadError`.
    """
    import cv2
    import numpy as np

    from colorcore.colorize import _network_size, guided_chroma, lab_l8, luma, predict_chroma
    from colorcore.imageio import read_image

    saved, model.chroma_scale = model.chroma_scale, 1.0
    cross = power = 0.0
    try:
        for path in photos:
            real = read_image(path, min_size=max_side)
            scale = max_side / max(real.shape[:2])
            if scale < 1:
                real = cv2.resize(real, (max(1, round(real.shape[1] * scale)), max(1, round(real.shape[0] * scale))),
                                  interpolation=cv2.INTER_AREA)
            gray = luma(real)
            chroma = guided_chroma(lab_l8(gray), predict_chroma(gray, model, size=_network_size(model, None)))
            target = cv2.resize(real, chroma.shape[1::-1], interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
            truth = cv2.cvtColor(target, cv2.COLOR_RGB2Lab)[:, :, 1:]
            cross += float((chroma * truth).mean())
            power += float((chroma * chroma).mean())
    finally:
        model.chroma_scale = saved
    if power <= 0 or cross <= 0:
        raise ValueError("the model's chroma does not correlate with the photos' chroma: no scale helps")
    return cross / power


def write_chroma_scale(file: Path, scale: float, calibration: dict[str, Any]) -> Path:
    """Rewrite the model file `file` (atomically, tensors untouched) with `inference.chroma_scale` =
    `scale` and a record of how it was found (`calibration`) in its metadata."""
    from safetensors.torch import load_file, save

    from colorcore.atomic import atomic_write
    from colorcore.checkpoint import MAX_CHROMA_SCALE, METADATA_KEY, read_metadata

    if not 0 < scale <= MAX_CHROMA_SCALE:
        raise ValueError(f"chroma scale must be in (0, {MAX_CHROMA_SCALE:g}], got {scale}")
    meta = read_metadata(file)
    meta["inference"] = {"chroma_scale": scale, "calibration": calibration}
    data = save(load_file(str(file)), metadata={METADATA_KEY: json.dumps(meta)})
    atomic_write(file, lambda handle: handle.write(data))
    return file
