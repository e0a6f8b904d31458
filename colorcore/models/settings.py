"""What a model is asked for by, with no heavy import (no torch), so the command line's parser and the GUI
read it from the engine: the name of the bundled starter model and its file, the largest network size and
the names of the hyperparameter presets.

`colorcore.models.checkpoint` is the one place that turns a model argument ("starter", a run folder, a
`.pt` or `.safetensors` file) into a model; `colorcore.models.base.network_size` is the one size rule.
"""

from __future__ import annotations

from pathlib import Path

STARTER = "starter"  # the name that stands for the starter model wherever a model is asked for
STARTER_FILE = "starter.safetensors"
MODELS_FOLDER = "models"  # of the resources folder
MODEL_SUFFIXES = (".pt", ".safetensors")  # a checkpoint, an exported model file
# the largest network input side: the largest trained size a model file may declare, and the largest size a
# model is run at (its memory grows with the square: a 64 px model's activations at 2048 px already take
# gigabytes, and larger sizes colour worse: docs/cli.md)
MAX_NETWORK_SIZE = 2048
PRESETS = ("default", "paper")  # the hyperparameter presets: each model's `presets` gives their values


def starter_model_path() -> Path:
    """The bundled starter model file (FileNotFoundError when this installation lacks it)."""
    from colorcore.core.resources import resources_dir

    path = resources_dir() / MODELS_FOLDER / STARTER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"the starter model is missing from this installation ({path}); "
                                "reinstall ColorCore Studio or give a model")
    return path
