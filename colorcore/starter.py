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
