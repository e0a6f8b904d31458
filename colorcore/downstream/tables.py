"""Settings, statistics and tables of the CIFAR-10 experiment: the torch-free half of
`colorcore.downstream.experiment`, so the CLI's parser and the GUI's Downstream tab can use them without
importing torch. `colorcore.downstream.experiment` re-exports `DownstreamSettings` and `DownstreamError` (they
are defined here so that importing them needs no torch). See `colorcore.downstream.experiment` for the
experiment itself and the choices it makes.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from colorcore.core.atomic import atomic_write_text
from colorcore.downstream.cifar import NUM_CLASSES

SCRATCH = "scratch"
CONFIG_NAMES = ("0", "1", "2", "3", "4", "5", SCRATCH)
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
PROTOCOL_LABELS = {"paper": "the paper's protocol (until validation stops improving)",
                   "quick": "quick (5 epochs, a CPU budget: not the paper's protocol)"}
T_CONFIDENCE = 0.95
# two-sided 95 % Student t quantiles t(0.975, df) for df = 1..30
T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)
Z_975 = 1.959964

CONFIG_JSON = "config.json"
RUNS_JSON = "runs.json"
RESULTS_CSV = "results.csv"
RESULTS_MD = "results.md"
CURVES_DIR = "curves"
PAPER_TABLE_RESOURCE = "paper_table1.json"
CURVE_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")
RESULT_COLUMNS = (
    "config", "label", "frozen_blocks", "seeds",
    "train_mean", "train_std", "val_mean", "val_std", "test_mean", "test_std",
    "val_diff_mean", "val_diff_low", "val_diff_high",
    "test_diff_mean", "test_diff_low", "test_diff_high",
    "paper_train", "paper_val", "paper_test",
)


class DownstreamError(ValueError):
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
        return next((name for name, values in PROTOCOLS.items()
                     if (self.epochs, self.patience) == (values["epochs"], values["patience"])), "custom")

    def fingerprint_fields(self) -> dict[str, Any]:
        """The fields that change results (all but `seeds` and `configs`)."""
        return {k: v for k, v in asdict(self).items() if k not in ("seeds", "configs")} | {
            "hidden": list(self.hidden)
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        return asdict(self) | {"configs": list(self.configs), "hidden": list(self.hidden)}



# -------------------------------------------------------------------------------------- statistics


def t_quantile_975(df: int) -> float:
    """Two-sided 95 % Student t quantile for `df` degrees of freedom (table, then a series)."""
    if df < 1:
        return math.nan
    if df <= len(T_975):
        return T_975[df - 1]
    z = Z_975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (NaN std for fewer than two values)."""
    if not values:
        return math.nan, math.nan
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else math.nan


def paired_interval(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """Mean of a - b (paired) and its 95 % t-interval (NaN bounds for fewer than two pairs)."""
    diffs = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if diffs.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(diffs.mean())
    if diffs.size < 2:
        return mean, math.nan, math.nan
    half = t_quantile_975(diffs.size - 1) * float(diffs.std(ddof=1)) / math.sqrt(diffs.size)
    return mean, mean - half, mean + half


def load_paper_table() -> dict[str, Any]:
    """The paper's Table 1 (colorcore/downstream/paper_table1.json): {"rows": {config: {train, val, test}}, ...}."""
    text = resources.files("colorcore.downstream").joinpath(PAPER_TABLE_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


def summarise(
    runs: Sequence[dict[str, Any]], configs: Sequence[str], seeds: int, paper: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One results row (RESULT_COLUMNS) per configuration that has finished runs, in `configs` order."""
    paper_rows = (paper or load_paper_table())["rows"]
    by_config: dict[str, dict[int, dict[str, Any]]] = {}
    for run in runs:
        if run["seed"] < seeds:
            by_config.setdefault(run["config"], {})[run["seed"]] = run
    scratch = by_config.get(SCRATCH, {})
    rows = []
    for config in configs:
        mine = by_config.get(config)
        if not mine:
            continue
        seed_list = sorted(mine)
        row: dict[str, Any] = {
            "config": config, "label": config_label(config), "frozen_blocks": frozen_blocks_of(config),
            "seeds": len(seed_list),
        }
        for split in ("train", "val", "test"):
            row[f"{split}_mean"], row[f"{split}_std"] = mean_std([mine[s][f"{split}_acc"] for s in seed_list])
        paired = [s for s in seed_list if s in scratch] if config != SCRATCH else []
        for split in ("val", "test"):
            row[f"{split}_diff_mean"], row[f"{split}_diff_low"], row[f"{split}_diff_high"] = paired_interval(
                [mine[s][f"{split}_acc"] for s in paired], [scratch[s][f"{split}_acc"] for s in paired]
            )
        reference = paper_rows.get(config, {})
        for split in ("train", "val", "test"):
            row[f"paper_{split}"] = reference.get(split, math.nan)
        rows.append(row)
    return rows


def _fmt(value: float, digits: int = 2) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _fmt_mean_std(mean: float, std: float) -> str:
    if math.isnan(mean):
        return ""
    return f"{mean:.2f} ± {std:.2f}" if not math.isnan(std) else f"{mean:.2f} (one seed)"


def _fmt_diff(row: dict[str, Any]) -> str:
    mean, low, high = row["test_diff_mean"], row["test_diff_low"], row["test_diff_high"]
    if math.isnan(mean):
        return ""
    if math.isnan(low):
        return f"{mean:+.2f} (one seed, no interval)"
    return f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"


def markdown_table(rows: Sequence[dict[str, Any]], settings: DownstreamSettings) -> str:
    """The results as a Markdown table, ours beside the paper's Table 1."""
    stopping = (f"until validation accuracy stops improving ({settings.patience} epochs' patience, at most "
                f"{settings.epochs} epochs), best validation epoch evaluated" if settings.patience
                else f"{settings.epochs} epochs, best validation epoch evaluated")
    protocol = {"paper": "the paper's protocol", "quick": "quick protocol, NOT the paper's"}.get(
        settings.protocol, "custom protocol")
    lines = [
        f"CIFAR-10: {settings.train_size} training, {settings.val_size} validation, {settings.test_size} test "
        f"images (stratified, data seed {settings.data_seed}); input {settings.input} {settings.image_size} px; "
        f"{stopping} ({protocol}). Accuracy in %, mean ± std over seeds; difference to scratch paired by "
        f"seed with a {T_CONFIDENCE:.0%} t-interval. Paper: one run each.",
        "",
        "| Configuration | Seeds | Train | Validation | Test | Test − scratch (95 % CI) "
        "| Paper train | Paper val. | Paper test |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['label']} | {row['seeds']} | {_fmt_mean_std(row['train_mean'], row['train_std'])} "
            f"| {_fmt_mean_std(row['val_mean'], row['val_std'])} | {_fmt_mean_std(row['test_mean'], row['test_std'])} "
            f"| {_fmt_diff(row)} | {_fmt(row['paper_train'])} | {_fmt(row['paper_val'])} | {_fmt(row['paper_test'])} |"
        )
    return "\n".join(lines) + "\n"


def results_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The results rows as CSV text (RESULT_COLUMNS, empty cells for NaN)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for row in rows:
        writer.writerow([_fmt(v, 4) if isinstance(v, float) else v for v in (row[c] for c in RESULT_COLUMNS)])
    return buffer.getvalue()


# ----------------------------------------------------------------------------------- output folder


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (temp file in the same folder, fsync, os.replace)."""
    atomic_write_text(path, text)


def curves_csv(curves: Sequence[dict[str, float]]) -> str:
    """Per-epoch curves as CSV text (CURVE_COLUMNS)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CURVE_COLUMNS)
    for point in curves:
        writer.writerow([point["epoch"], *(f"{point[c]:.6g}" for c in CURVE_COLUMNS[1:])])
    return buffer.getvalue()


def curves_path(out_dir: Path, config: str, seed: int) -> Path:
    """Where the per-epoch curves of one (configuration, seed) run go."""
    stem = SCRATCH if config == SCRATCH else f"block{config}"
    return out_dir / CURVES_DIR / f"{stem}_seed{seed}.csv"
