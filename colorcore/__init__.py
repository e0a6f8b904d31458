"""ColorCore: edge- and saliency-guided multi-path GAN colourisation engine (no Qt here).

The engine lives in sub-packages that follow the data (docs/architecture.md): `core` (events, options,
files, devices, colour spaces), `data` (photos, guidance maps, prepared datasets), `models` (networks,
losses, model files), `training`, `inference` (colourising, colour control, hints, video), `evaluation`,
`downstream` (the CIFAR-10 pretext experiment) and `commands` (the CLI). Importing this package is
cheap: no torch, no cv2.

The flat modules of 0.1 (`colorcore.colorize`, `colorcore.dataset`, ...) still import for this release,
as their new modules, with a DeprecationWarning (`MOVED_MODULES`).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Any, Callable

__version__ = "0.1.0"

# the 0.1 module -> where it lives now (to be removed in 0.3)
MOVED_MODULES = {
    "colorcore.atomic": "colorcore.core.atomic", "colorcore.events": "colorcore.core.events",
    "colorcore.options": "colorcore.core.options", "colorcore.provenance": "colorcore.core.provenance",
    "colorcore.resources": "colorcore.core.resources", "colorcore.device": "colorcore.core.device",
    "colorcore.precision": "colorcore.core.precision", "colorcore.lab": "colorcore.core.lab",
    "colorcore.tensors": "colorcore.core.tensors",
    "colorcore.imageio": "colorcore.data.imageio", "colorcore.guidance": "colorcore.data.guidance",
    "colorcore.dataset": "colorcore.data.prepare",
    "colorcore.losses": "colorcore.models.losses", "colorcore.calibration": "colorcore.models.calibration",
    "colorcore.checkpoint": "colorcore.models.checkpoint", "colorcore.starter": "colorcore.models.starter",
    "colorcore.train_config": "colorcore.training.config", "colorcore.presets": "colorcore.training.presets",
    "colorcore.runs": "colorcore.training.runs", "colorcore.csv_log": "colorcore.training.csv_log",
    "colorcore.distributed": "colorcore.training.distributed",
    "colorcore.reproducibility": "colorcore.training.reproducibility",
    "colorcore.watchdog": "colorcore.training.watchdog", "colorcore.training_errors": "colorcore.training.errors",
    "colorcore.colorize": "colorcore.inference.colorize", "colorcore.colour_control": "colorcore.inference.colour_control",
    "colorcore.hints": "colorcore.inference.hints", "colorcore.batch": "colorcore.inference.batch",
    "colorcore.video": "colorcore.inference.video", "colorcore.reference": "colorcore.inference.reference",
    "colorcore.metrics": "colorcore.evaluation.metrics", "colorcore.compare": "colorcore.evaluation.compare",
    "colorcore.cifar": "colorcore.downstream.cifar", "colorcore.downstream_table": "colorcore.downstream.tables",
}
# 0.1 modules whose name is now a sub-package: their names are read from the module that holds them now
MODULES_NOW_PACKAGES = {
    "colorcore.training": "colorcore.training.trainer",
    "colorcore.evaluation": "colorcore.evaluation.evaluate",
    "colorcore.downstream": "colorcore.downstream.experiment",
}


def _moved_warning(old: str, new: str) -> None:
    warnings.warn(f"{old} moved to {new}; import it from there (the old name goes in 0.3)",
                  DeprecationWarning, stacklevel=3)


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports a 0.1 module name as the module that holds its code now (the same module object)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        _moved_warning(spec.name, MOVED_MODULES[spec.name])
        return importlib.import_module(MOVED_MODULES[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module was imported under its new name."""


def _engine_name(value: Any) -> bool:
    """Whether `value` is one of the engine's own names (a function, class or constant of colorcore), not
    a library a module imported (torch, numpy, ...) nor one of its names."""
    if isinstance(value, ModuleType):
        return False
    owner = getattr(value, "__module__", None)
    return not isinstance(owner, str) or owner.split(".")[0] == __name__


def moved_names(package: str) -> Callable[[str], Any]:
    """A module `__getattr__` for the sub-package `package` that used to be a module: a name that is
    not one of its modules is read, with a DeprecationWarning, from the module that holds it now."""
    holder = MODULES_NOW_PACKAGES[package]

    def __getattr__(name: str) -> Any:
        if name.startswith("__") or importlib.util.find_spec(f"{package}.{name}") is not None:
            raise AttributeError(name)
        value = getattr(importlib.import_module(holder), name, None)
        if value is None or not _engine_name(value):
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        _moved_warning(f"{package}.{name}", f"{holder}.{name}")
        return value

    return __getattr__


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())
