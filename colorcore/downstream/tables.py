"""Statistics and tables of the CIFAR-10 experiment: mean and spread over seeds, the paired difference to
scratch, the paper's Table 1, and the table as CSV and Markdown. No torch import (the CLI and the GUI's
Downstream tab use it). The settings are in `colorcore.downstream.settings`, the output folder in
`colorcore.downstream.results`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from importlib import resources
from typing import Any, Sequence

import numpy as np

from colorcore.downstream.results import RunRecord
from colorcore.downstream.settings import SCRATCH, DownstreamSettings, config_label, frozen_blocks_of

SPLITS = ("train", "val", "test")
T_CONFIDENCE = 0.95
# two-sided 95 % Student t quantiles t(0.975, df) for df = 1..30
T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)
Z_975 = 1.959964
PAPER_TABLE_RESOURCE = "paper_table1.json"
RESULT_COLUMNS = (
    "config", "label", "frozen_blocks", "seeds",
    "train_mean", "train_std", "val_mean", "val_std", "test_mean", "test_std",
    "val_diff_mean", "val_diff_low", "val_diff_high",
    "test_diff_mean", "test_diff_low", "test_diff_high",
    "paper_train", "paper_val", "paper_test",
)


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
    runs: Sequence[RunRecord], configs: Sequence[str], seeds: int, paper: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One results row (RESULT_COLUMNS) per configuration that has finished runs, in `configs` order."""
    paper_rows = (paper or load_paper_table())["rows"]
    by_config: dict[str, dict[int, RunRecord]] = {}
    for run in runs:
        if run.seed < seeds:
            by_config.setdefault(run.config, {})[run.seed] = run
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
        for split in SPLITS:
            row[f"{split}_mean"], row[f"{split}_std"] = mean_std([mine[s].accuracy(split) for s in seed_list])
        paired = [s for s in seed_list if s in scratch] if config != SCRATCH else []
        for split in ("val", "test"):
            row[f"{split}_diff_mean"], row[f"{split}_diff_low"], row[f"{split}_diff_high"] = paired_interval(
                [mine[s].accuracy(split) for s in paired], [scratch[s].accuracy(split) for s in paired]
            )
        reference = paper_rows.get(config, {})
        for split in SPLITS:
            row[f"paper_{split}"] = reference.get(split, math.nan)
        rows.append(row)
    return rows


def _fmt(value: float, digits: int = 2) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def format_mean_std(mean: float | None, std: float | None) -> str:
    """"56.47 ± 0.80", "56.47 (one seed)" when there is no spread, "" when there is no mean: how the
    command line, results.md and the Downstream tab show an accuracy over seeds."""
    if _missing(mean):
        return ""
    return f"{mean:.2f} (one seed)" if _missing(std) else f"{mean:.2f} \u00b1 {std:.2f}"


def format_diff(mean: float | None, low: float | None, high: float | None) -> str:
    """A paired difference to scratch with its 95 % interval: "+1.20 [+0.30, +2.10]", "+1.20 (one seed, no
    interval)", or "" when there is none."""
    if _missing(mean):
        return ""
    if _missing(low) or _missing(high):
        return f"{mean:+.2f} (one seed, no interval)"
    return f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"


def _missing(value: float | None) -> bool:
    return value is None or math.isnan(value)


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
            f"| {row['label']} | {row['seeds']} | {format_mean_std(row['train_mean'], row['train_std'])} "
            f"| {format_mean_std(row['val_mean'], row['val_std'])} | {format_mean_std(row['test_mean'], row['test_std'])} "
            f"| {format_diff(row['test_diff_mean'], row['test_diff_low'], row['test_diff_high'])} "
            f"| {_fmt(row['paper_train'])} | {_fmt(row['paper_val'])} | {_fmt(row['paper_test'])} |"
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
