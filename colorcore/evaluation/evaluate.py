"""Score a model on a prepared dataset split: per-image PSNR/SSIM/colourfulness, means, a sample grid,
and on request every prediction with its predicted maps (the GUI's Results tab shows them).

Used by `colorcore evaluate`, `colorcore compare`, the Trainer's per-epoch validation and the GUI's
Results tab. Works for every registered model (it only calls `predict` and `visuals`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from colorcore.core.device import flushed_denormals
from colorcore.core.events import ProgressEvent, StopFlag, emit, should_stop
from colorcore.evaluation.metrics import MetricAccumulator
from colorcore.models.base import ColorModel
from colorcore.core.tensors import batch_from_uint8, gray_input, image_grid, maps_to_uint8, to_uint8_images

DEFAULT_GRID_COUNT = 8


@dataclass
class EvaluationResult:
    """Per-image metrics (in split order), their means, a gray | fake | real grid of the first images and,
    when asked for, the predictions: `fake` (N, S, S, 3) uint8 and `maps`, each auxiliary output the
    model predicts ("saliency", "edge") as (N, S, S) uint8."""

    split: str
    files: list[str]
    per_image: list[dict[str, float]]
    summary: dict[str, float]
    grid: np.ndarray | None = None
    stopped: bool = False
    fake: np.ndarray | None = None
    maps: dict[str, np.ndarray] = field(default_factory=dict)

    def metric(self, name: str) -> np.ndarray:
        """One metric ("psnr", "ssim" or "colourfulness") of every image scored, in split order."""
        return np.array([values[name] for values in self.per_image], dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        """JSON-able summary and per-image table (with file names)."""
        return {
            "split": self.split,
            "count": len(self.per_image),
            "summary": self.summary,
            "per_image": [{"file": f, **m} for f, m in zip(self.files, self.per_image)],
        }


def _model_device(model: ColorModel) -> torch.device:
    for param in model.parameters():
        return param.device
    return torch.device("cpu")


def comparison_grid(
    model: ColorModel, rgb: np.ndarray, edge: np.ndarray, saliency: np.ndarray, device: torch.device | str | None = None
) -> np.ndarray:
    """One row per `model.visual_names` (e.g. gray | fake | real) for the given uint8 images."""
    dev = torch.device(device) if device is not None else _model_device(model)
    tensors = [torch.from_numpy(np.array(a, dtype=np.uint8)).to(dev) for a in (rgb, edge, saliency)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            visuals = model.visuals(batch_from_uint8(*tensors))
    finally:
        model.train(was_training)
    rows = []
    for name in model.visual_names:
        image = visuals[name]
        if image.shape[1] == 1:
            image = image.expand(-1, 3, -1, -1) * 2.0 - 1.0  # maps are [0, 1]; show them as gray
        rows.append(to_uint8_images(image))
    return image_grid(rows)


def evaluate_model(
    model: ColorModel,
    dataset: Any,
    split: str = "test",
    batch_size: int = 64,
    device: torch.device | str | None = None,
    limit: int | None = None,
    grid_count: int = DEFAULT_GRID_COUNT,
    callbacks: Sequence[object] = (),
    stop: StopFlag | None = None,
    keep_predictions: bool = False,
) -> EvaluationResult:
    """Predict the first `limit` images (all when None) of `split` and score them against the originals.

    `dataset` is a `PreparedDataset` or its folder. `keep_predictions` keeps every colourised image and
    predicted map in the result. Emits `on_progress` per batch; a stop request ends early with the
    images scored so far (`stopped=True`).
    """
    from colorcore.data.prepared import PreparedDataset, load_prepared

    data: PreparedDataset = dataset if isinstance(dataset, PreparedDataset) else load_prepared(os.fspath(dataset))
    arrays = data.split(split)
    total = len(arrays) if limit is None else min(limit, len(arrays))
    dev = torch.device(device) if device is not None else _model_device(model)
    acc = MetricAccumulator()
    fakes: list[np.ndarray] = []
    maps: dict[str, list[np.ndarray]] = {}
    was_training = model.training
    model.eval()
    stopped = False
    try:
        for start in range(0, total, max(1, batch_size)):
            if should_stop(stop):
                stopped = True
                break
            real = np.array(arrays.rgb[start:min(start + batch_size, total)], dtype=np.uint8)
            with torch.no_grad(), flushed_denormals():
                out = model.predict(gray_input(torch.from_numpy(real).to(dev)))
            fake = to_uint8_images(out["rgb"])
            acc.add(fake, real)
            if keep_predictions:
                fakes.append(fake)
                for key, value in out.items():
                    if key != "rgb":
                        maps.setdefault(key, []).append(maps_to_uint8(value))
            emit(callbacks, "on_progress", ProgressEvent(min(start + batch_size, total), total, split))
    finally:
        model.train(was_training)
    count = min(grid_count, total)
    grid = None
    if count:
        grid = comparison_grid(model, arrays.rgb[:count], arrays.edge[:count], arrays.saliency[:count], dev)
    per_image = acc.per_image()
    files = data.files(split)[:len(per_image)]
    result = EvaluationResult(split, files, per_image, acc.summary(), grid, stopped)
    if keep_predictions:
        size = data.size
        result.fake = np.concatenate(fakes) if fakes else np.zeros((0, size, size, 3), np.uint8)
        result.maps = {key: np.concatenate(parts) for key, parts in maps.items()}
    return result


def evaluate_model_file(
    path: str | os.PathLike[str],
    dataset: Any,
    split: str = "test",
    device: str = "auto",
    batch_size: int = 64,
    grid_count: int = DEFAULT_GRID_COUNT,
    callbacks: Sequence[object] = (),
    stop: StopFlag | None = None,
    keep_predictions: bool = False,
    limit: int | None = None,
) -> EvaluationResult:
    """`evaluate_model` for a saved model ("starter", run folder, .pt or .safetensors: `load_model`, its
    `ModelFileError`) loaded onto `device` ("auto", "cpu", "cuda", ...; one that is not there is a
    `DeviceError`). The model runs at the dataset's image size when it can (`check_inference_size`: its
    own or a multiple of it), else ValueError."""
    from colorcore.data.prepared import PreparedDataset, load_prepared
    from colorcore.models.base import check_inference_size
    from colorcore.models.checkpoint import load_model

    model = load_model(path, device)
    data = dataset if isinstance(dataset, PreparedDataset) else load_prepared(os.fspath(dataset))
    check_inference_size(model, data.size)
    return evaluate_model(model, data, split, batch_size=batch_size, grid_count=grid_count,
                          callbacks=callbacks, stop=stop, keep_predictions=keep_predictions, limit=limit)
