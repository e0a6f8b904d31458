"""Compare trained models on the same test split: one table (Markdown + CSV) and one grid image.

Each run (a run folder, a `.pt` checkpoint or a `.safetensors` model file) is loaded with
`checkpoint.load_model` and scored with `evaluation.evaluate.evaluate_model` on the same prepared
dataset and split, at the dataset's size (the size rule, `models.base.check_inference_size`: the
trained size or, for a fully convolutional model, a multiple of it). The table has one row per run:
run, model, generator parameters, PSNR, SSIM, colourfulness, training img/s (median of the
`img_per_s` column of the run's metrics.csv) and epochs (from the run's training summary). The grid
shows the same first `n` photos of the split: the gray input row first, one row per model, the real
photos last, with the row names in a strip on the left. A run that cannot be used (missing, damaged,
unable to run at the dataset's size) is reported by name with the reason and left out; the others
are still compared.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from colorcore.core.advice import GIVE, Advice, AdvisedError
from colorcore.core.events import ProgressEvent, StopFlag, emit, should_stop
from colorcore.training.runs import RunFolder, dataset_of_run

TABLE_COLUMNS = ("run", "model", "params", "psnr", "ssim", "colourfulness", "img_per_s", "epochs")
TABLE_HEADERS = ("Run", "Model", "Params", "PSNR (dB)", "SSIM", "Colourfulness", "Train img/s", "Epochs")
MARKDOWN_FILE = "comparison.md"
CSV_FILE = "comparison.csv"
GRID_FILE = "comparison_grid.png"
DEFAULT_GRID_COUNT = 8
LABEL_STRIP_WIDTH = 96
LABEL_FONT_SCALE = 0.35
GRID_PAD = 2
MISSING = "n/a"
COLUMN_DIGITS = {"psnr": 2, "ssim": 4, "colourfulness": 2, "img_per_s": 1}  # decimals in the Markdown table


class CompareError(AdvisedError):
    """Nothing could be compared (no usable dataset or no usable run)."""


@dataclass
class ComparisonRow:
    """One run's line of the comparison table."""

    run: str
    model: str
    params: int
    psnr: float
    ssim: float
    colourfulness: float
    img_per_s: float
    epochs: int | None

    def values(self) -> dict[str, Any]:
        """The row keyed by `TABLE_COLUMNS`."""
        return {name: getattr(self, name) for name in TABLE_COLUMNS}


@dataclass
class ComparisonResult:
    """Table rows (in the order given), the grid image, and the runs left out with their reasons."""

    data: str
    split: str
    count: int
    rows: list[ComparisonRow]
    grid: np.ndarray | None
    grid_labels: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    stopped: bool = False


def training_img_per_s(run: RunFolder | None) -> float:
    """Median of the logged `img_per_s` values of a run's metrics.csv (NaN when there are none)."""
    values = [s.img_per_s for s in run.steps() if math.isfinite(s.img_per_s)] if run is not None else []
    return float(np.median(values)) if values else math.nan


def _epochs(path: Path) -> int | None:
    from colorcore.models.checkpoint import ModelFileError, read_metadata

    try:
        epochs = (read_metadata(path).get("training") or {}).get("epochs")
    except ModelFileError:
        return None
    return int(epochs) if isinstance(epochs, (int, float)) else None


def _predict_rows(model: Any, real: np.ndarray, device: torch.device) -> np.ndarray:
    from colorcore.core.tensors import gray_input, to_uint8_images

    with torch.no_grad():
        return to_uint8_images(model.predict(gray_input(torch.from_numpy(real).to(device)))["rgb"])


def labelled_grid(rows: list[np.ndarray], labels: list[str]) -> np.ndarray:
    """`tensors.image_grid` of the rows with each row's name written in a white strip on the left."""
    import cv2

    from colorcore.core.tensors import image_grid

    grid = image_grid(rows, pad=GRID_PAD)
    strip = np.full((grid.shape[0], LABEL_STRIP_WIDTH, 3), 255, np.uint8)
    row_height = rows[0].shape[1]
    for r, label in enumerate(labels):
        y = GRID_PAD + r * (row_height + GRID_PAD) + row_height // 2
        cv2.putText(strip, label[:16], (4, y), cv2.FONT_HERSHEY_SIMPLEX, LABEL_FONT_SCALE, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, grid], axis=1)


def compare_runs(
    runs: Sequence[str | os.PathLike[str]],
    data: str | os.PathLike[str] | None = None,
    split: str = "test",
    n: int = DEFAULT_GRID_COUNT,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    limit: int | None = None,
    callbacks: Sequence[object] = (),
    stop: StopFlag | None = None,
) -> ComparisonResult:
    """Score every run on the same split of `data` (default: the dataset the first run was trained on).

    Emits one `ProgressEvent` per run. Raises `CompareError` when no dataset is usable or no run is.
    """
    from colorcore.data.prepared import DatasetError, load_prepared
    from colorcore.evaluation.evaluate import evaluate_model
    from colorcore.models.base import check_inference_size
    from colorcore.models.checkpoint import ModelFileError, load_model

    paths = [Path(r) for r in runs]
    if data is None:
        data = next((d for d in map(dataset_of_run, paths) if d is not None), None)
        if data is None:
            raise CompareError("no dataset given and none of the runs names the dataset it was trained on",
                               [Advice("data", GIVE)])
    try:
        dataset = load_prepared(data)
    except DatasetError as exc:
        raise CompareError(str(exc)) from None
    try:
        arrays = dataset.split(split)
    except DatasetError as exc:
        raise CompareError(str(exc)) from None
    if len(arrays) == 0:
        raise CompareError(f"{data}: split {split!r} has no images")
    dev = torch.device(device)
    shown = np.array(arrays.rgb[:min(n, len(arrays))], dtype=np.uint8)
    rows: list[ComparisonRow] = []
    model_rows: list[np.ndarray] = []
    labels: list[str] = []
    skipped: list[tuple[str, str]] = []
    stopped = False
    for index, path in enumerate(paths):
        if should_stop(stop):
            stopped = True
            break
        emit(callbacks, "on_progress", ProgressEvent(index, len(paths), f"evaluating {path}"))
        try:
            model = load_model(path, dev)
            check_inference_size(model, dataset.size)
        except ModelFileError as exc:  # the other runs still count
            skipped.append((str(path), str(exc)))
            continue
        except ValueError as exc:  # the size rule: it cannot run at the dataset's size
            skipped.append((str(path), f"{path}: cannot score {data}'s {dataset.size} px images ({exc})"))
            continue
        result = evaluate_model(model, dataset, split, batch_size=batch_size, device=dev, limit=limit, grid_count=0)
        rows.append(ComparisonRow(
            run=str(path), model=model.config.name,
            params=sum(p.numel() for p in model.generator.parameters()),
            psnr=result.summary["psnr"], ssim=result.summary["ssim"],
            colourfulness=result.summary["colourfulness"],
            img_per_s=training_img_per_s(RunFolder.containing(path)), epochs=_epochs(path),
        ))
        if len(shown):
            model_rows.append(_predict_rows(model, shown, dev))
            labels.append(model.config.name)
    emit(callbacks, "on_progress", ProgressEvent(len(paths), len(paths), "done"))
    if not rows and not stopped:
        reasons = "; ".join(reason for _, reason in skipped)
        raise CompareError(f"no run could be evaluated ({reasons})")
    grid = None
    grid_labels: list[str] = []
    if model_rows:
        from colorcore.core.tensors import gray_input, to_uint8_images

        gray = to_uint8_images(gray_input(torch.from_numpy(shown)))
        names = [label if labels.count(label) == 1 else Path(row.run).name for label, row in zip(labels, rows)]
        grid_labels = ["gray", *names, "real"]
        grid = labelled_grid([gray, *model_rows, shown], grid_labels)
    return ComparisonResult(str(data), split, len(arrays) if limit is None else min(limit, len(arrays)),
                            rows, grid, grid_labels, skipped, stopped)


def _cell(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table_csv(result: ComparisonResult) -> str:
    """The comparison table as CSV text (header `TABLE_COLUMNS`, full precision)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TABLE_COLUMNS)
    for row in result.rows:
        writer.writerow(["" if v is None else v for v in row.values().values()])
    return buffer.getvalue()


def table_markdown(result: ComparisonResult) -> str:
    """The comparison table as a Markdown document (with the dataset, split and skipped runs)."""
    lines = [
        f"# Model comparison on `{result.data}` ({result.split} split, {result.count} images)",
        "",
        "| " + " | ".join(TABLE_HEADERS) + " |",
        "|" + "|".join("---" if i < 2 else "---:" for i in range(len(TABLE_HEADERS))) + "|",
    ]
    for row in result.rows:
        cells = [_cell(v, COLUMN_DIGITS.get(k, 0)) for k, v in row.values().items()]
        cells[0] = f"`{cells[0]}`"
        lines.append("| " + " | ".join(cells) + " |")
    if result.grid_labels:
        lines += ["", f"Grid rows, top to bottom: {', '.join(result.grid_labels)}."]
    if result.skipped:
        lines += ["", "Left out:", *[f"- `{run}`: {reason}" for run, reason in result.skipped]]
    return "\n".join(lines) + "\n"


def write_comparison(result: ComparisonResult, out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write comparison.md, comparison.csv and comparison_grid.png into `out` (each atomically)."""
    from colorcore.core.atomic import atomic_write_text
    from colorcore.data.imageio import write_image

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written = {
        "markdown": atomic_write_text(folder / MARKDOWN_FILE, table_markdown(result)),
        "csv": atomic_write_text(folder / CSV_FILE, table_csv(result)),
    }
    if result.grid is not None:
        write_image(folder / GRID_FILE, result.grid)
        written["grid"] = folder / GRID_FILE
    return written
