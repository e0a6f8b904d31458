"""Colourisation models. Importing this package registers every model in `MODEL_REGISTRY`."""

from colorcore.models.base import (
    MODEL_REGISTRY,
    ColorModel,
    GANOptions,
    ModelConfig,
    ModelOptions,
    StepContext,
    build_model,
    register,
    registered_options,
)
from colorcore.models import multipath  # noqa: F401  (registers "multipath")
from colorcore.models import scgan  # noqa: F401  (registers "scgan")
from colorcore.models import zhang  # noqa: F401  (registers "zhang")

__all__ = ["MODEL_REGISTRY", "ColorModel", "GANOptions", "ModelConfig", "ModelOptions", "StepContext", "build_model",
           "register", "registered_options"]
