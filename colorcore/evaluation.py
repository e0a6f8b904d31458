"""Score a model on a prepared dataset split: per-image PSNR/SSIM/colourfulness, means, a sample grid.

Used by `colorcore evaluate`, `colorcore compare`, the Trainer's per-epoch validation and the GUI's
Results tab. Works for every registered model (it only calls `predict` and `visuals`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from colorcore.events import ProgressEvent, StopFlag, emit
from colorcore.metrics import MetricAccumulator
from colorcore.models.base import ColorModel
from colorcore.tensors import batch_from_uint8, gray_input, image_grid, to_uint8_images

DEFAULT_GRID_COUNT = 8


@dataclass
class EvaluationResult:
    """Per-image metrics (in split order), their means, and a gray | fake | real grid of the first images."""

    split: str
    files: list[str]
    per_image: list[dict[str, float]]
    summary: dict[str, float]
    grid: np.ndarray | None = None
    stopped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

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
) -> EvaluationResult:
    """Predict the first `limit` images (all when None) of `split` and score them against the originals.

    `dataset` is a `PreparedDataset` or its folder. Emits `on_progress` per batch; a stop request
    ends early with the images scored so far (`stopped=True`).
    """
    from colorcore.dataset import PreparedDataset, load_prepared

    data: PreparedDataset = dataset if isinstance(dataset, PreparedDataset) else load_prepared(os.fspath(dataset))
    arrays = data.split(split)
    total = len(arrays) if limit is None else min(limit, len(arrays))
    dev = torch.device(device) if device is not None else _model_device(model)
    acc = MetricAccumulator()
    was_training = model.training
    model.eval()
    stopped = False
    try:
        for start in range(0, total, max(1, batch_size)):
            if stop is not None:
                stop.wait_if_paused()
                if stop.stop_requested:
                    stopped = True
                    break
            real = np.array(arrays.rgb[start:min(start + batch_size, total)], dtype=np.uint8)
            with torch.no_grad():
                fake = model.predict(gray_input(torch.from_numpy(real).to(dev)))["rgb"]
            acc.add(to_uint8_images(fake), real)
            emit(callbacks, "on_progress", ProgressEvent(min(start + batch_size, total), total, split))
    finally:
        model.train(was_training)
    count = min(grid_count, total)
    grid = None
    if count:
        grid = comparison_grid(model, arrays.rgb[:count], arrays.edge[:count], arrays.saliency[:count], dev)
    per_image = acc.per_image()
    files = data.files(split)[:len(per_image)]
    return EvaluationResult(split, files, per_image, acc.summary(), grid, stopped)
