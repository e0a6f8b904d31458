"""What defines the CIFAR-10 experiment: its settings, configuration names and protocols, with no torch
import, so the CLI's parser and the GUI's Downstream tab read them from the engine.
`colorcore.downstream.experiment` runs the experiment and describes the choices it makes.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from colorcore.core.advice import AdvisedError
from colorcore.downstream.cifar import NUM_CLASSES

SCRATCH = "scratch"
# every configuration, in the paper's order: "k" freezes blocks 1..k, scratch trains fresh blocks; "0"
# (every block fine-tuned from the colouriser) is an extra, last
CONFIG_NAMES = ("1", "2", "3", "4", "5", SCRATCH, "0")
DEFAULT_CONFIGS = ("1", "2", "3", "4", "5", SCRATCH)
CLASSIFIER_BLOCKS = 5
INPUT_MODES = ("gray", "rgb")
IMAGE_SIZES = (32, 64)
CIFAR_SIDE = 32
# Training length, by protocol. "paper": the paper's protocol as far as it can be read (section 8 reports
# a validation accuracy beside each test accuracy and its figures 12-23 show curves over epochs): each run
# trains until its validation accuracy has not improved for PATIENCE epochs, at most MAX_EPOCHS, and the
# epoch with the best validation accuracy is evaluated. PATIENCE and MAX_EPOCHS are ours (the paper
# states neither). "quick": at most 5 epochs, a CPU budget (the six-configuration, one-seed table in
# minutes on 2 cores: benchmarks/bench_downstream.py), NOT the paper's protocol.
PROTOCOLS = {"paper": {"epochs": 100, "patience": 5}, "quick": {"epochs": 5, "patience": 0}}
DEFAULT_PROTOCOL = "paper"
CUSTOM_PROTOCOL = "custom"  # a training length that is neither protocol's
PROTOCOL_LABELS = {"paper": "the paper's protocol (until validation stops improving)",
                   "quick": "quick (5 epochs, a CPU budget: not the paper's protocol)"}


class DownstreamError(AdvisedError, ValueError):
    """A user error in the experiment's settings, encoder or output folder (message says which)."""


def config_label(config: str) -> str:
    """Human name of a configuration, as in the paper's table."""
    if config == SCRATCH:
        return "from scratch"
    if config == "0":
        return "fine-tuned (no block frozen)"
    return f"frozen through block {config}"


def frozen_blocks_of(config: str) -> int:
    """How many leading encoder blocks a configuration freezes (0 for scratch)."""
    return 0 if config == SCRATCH else int(config)


def parse_configs(text: str) -> tuple[str, ...]:
    """"1,2,scratch" -> ("1", "2", "scratch"); DownstreamError for unknown names or repeats."""
    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in CONFIG_NAMES]
    if unknown or not names:
        raise DownstreamError(
            f"unknown configuration(s) {', '.join(unknown) or '(none given)'}: choose from {','.join(CONFIG_NAMES)}"
        )
    if len(set(names)) != len(names):
        raise DownstreamError(f"configuration listed twice in {text!r}")
    return names


def protocol_of(epochs: int, patience: int) -> str:
    """"paper" or "quick" when (epochs, patience) is one of `PROTOCOLS`, else "custom"."""
    return next((name for name, values in PROTOCOLS.items()
                 if (epochs, patience) == (values["epochs"], values["patience"])), CUSTOM_PROTOCOL)


@dataclass(frozen=True)
class DownstreamSettings:
    """Everything that defines the experiment; saved in config.json.

    `seeds` is a count (seeds 0..seeds-1); `configs` and `seeds` may grow between resumed sessions,
    every other field must stay the same (see `fingerprint_fields`). `train_size` images are fitted and
    `val_size` others, from the rest of the training batches, validate (the paper: 8000 training images).
    A run trains at most `epochs` epochs and stops early once its validation accuracy has not improved
    for `patience` epochs (0: never early); the best validation epoch's weights are evaluated.
    `PROTOCOLS` names the two standard choices (`for_protocol`).
    """

    train_size: int = 8000
    val_size: int = 1600
    test_size: int = 1600
    data_seed: int = 0
    seeds: int = 3
    epochs: int = PROTOCOLS[DEFAULT_PROTOCOL]["epochs"]
    patience: int = PROTOCOLS[DEFAULT_PROTOCOL]["patience"]
    configs: tuple[str, ...] = DEFAULT_CONFIGS
    input: str = "gray"
    image_size: int = CIFAR_SIDE
    batch_size: int = 64
    lr: float = 1e-3
    hidden: tuple[int, ...] = (256, 128)
    dropout: float = 0.5

    def validate(self) -> None:
        """Raise DownstreamError naming the first invalid field."""
        if self.input not in INPUT_MODES:
            raise DownstreamError(f"input must be one of {', '.join(INPUT_MODES)}, got {self.input!r}")
        if self.image_size not in IMAGE_SIZES:
            raise DownstreamError(f"image size must be one of {IMAGE_SIZES}, got {self.image_size}")
        for name in ("seeds", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise DownstreamError(f"{name.replace('_', ' ')} must be at least 1, got {getattr(self, name)}")
        if self.patience < 0:
            raise DownstreamError(f"patience must be 0 (never stop early) or more, got {self.patience}")
        if self.batch_size < 2:
            raise DownstreamError("batch size must be at least 2 (BatchNorm needs two samples)")
        if not self.lr > 0 or not 0 <= self.dropout < 1:
            raise DownstreamError("lr must be > 0 and dropout in [0, 1)")
        for name in ("train_size", "val_size", "test_size"):
            value = getattr(self, name)
            if value < NUM_CLASSES or value % NUM_CLASSES:
                raise DownstreamError(
                    f"{name.replace('_', ' ')} must be a positive multiple of {NUM_CLASSES} (equal per class), got {value}"
                )
        parse_configs(",".join(self.configs))

    @classmethod
    def for_protocol(cls, protocol: str, **changes: Any) -> "DownstreamSettings":
        """Settings with `protocol`'s epochs and patience ("paper" or "quick"), then `changes`."""
        if protocol not in PROTOCOLS:
            raise DownstreamError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
        return cls(**{**PROTOCOLS[protocol], **changes})

    @property
    def protocol(self) -> str:
        """"paper" or "quick" when the training length is one of `PROTOCOLS`, else "custom"."""
        return protocol_of(self.epochs, self.patience)

    def fingerprint_fields(self) -> dict[str, Any]:
        """The fields that change results (all but `seeds` and `configs`)."""
        return {k: v for k, v in asdict(self).items() if k not in ("seeds", "configs")} | {
            "hidden": list(self.hidden)
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (what `from_dict` reads back)."""
        return asdict(self) | {"configs": list(self.configs), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, data: Any, source: str | os.PathLike[str]) -> "DownstreamSettings":
        """Settings read from `data` (parsed JSON; a field it lacks takes its default); DownstreamError
        naming the file `source` and the field when a field is unknown, mistyped or invalid."""
        if not isinstance(data, dict):
            raise DownstreamError(f"{source}: the settings are not an object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise DownstreamError(f"{source}: unknown setting(s) {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            values[name] = _typed(value, known[name].default, f"{source}: {name}")
        settings = cls(**values)
        try:
            settings.validate()
        except DownstreamError as exc:
            raise DownstreamError(f"{source}: {exc}") from None
        return settings


def _typed(value: Any, default: Any, where: str) -> Any:
    """`value` as the type of the field's `default` (tuples from JSON lists); DownstreamError otherwise."""
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(item, type(default[0])) and not isinstance(item, bool)
                                                  for item in value):
            raise DownstreamError(f"{where} must be a list of {type(default[0]).__name__}, got {value!r}")
        return tuple(value)
    if isinstance(default, float):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise DownstreamError(f"{where} must be a number, got {value!r}")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, type(default)):
        raise DownstreamError(f"{where} must be {type(default).__name__}, got {value!r}")
    return value
