"""Repeatable training: seeding, the per-epoch image order, RNG states for checkpoints, deterministic kernels.

Each epoch visits a permutation seeded by (seed, epoch) alone, so a checkpoint's (epoch, position) plus
the RNG states captured by `rng_state` are enough to continue a run exactly where it stopped.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch
from torch import Tensor

EPOCH_SEED_STRIDE = 1_000_003


def epoch_permutation(seed: int, epoch: int, n: int) -> Tensor:
    """The order of the n training images in `epoch` (depends only on seed and epoch)."""
    generator = torch.Generator().manual_seed(seed * EPOCH_SEED_STRIDE + epoch)
    return torch.randperm(n, generator=generator)


def rng_state(device: torch.device | None = None) -> dict[str, Any]:
    """Every RNG state (torch, numpy, random, and the training `device`'s CUDA generator) as tensors and
    plain lists (weights_only-safe). Only the training device's CUDA state is kept, so a checkpoint
    resumes on a machine with any number of GPUs."""
    keys, pos, has_gauss, cached = np.random.get_state()[1:]
    version, internal, gauss_next = random.getstate()
    cuda = torch.cuda.get_rng_state(device) if device is not None and device.type == "cuda" else None
    return {
        "torch": torch.get_rng_state(),
        "cuda": cuda,
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": [version, list(internal), gauss_next],
    }


def set_rng_state(state: dict[str, Any], device: torch.device | None = None) -> None:
    """Restore what `rng_state` captured; the CUDA state goes to the training `device` when it is a GPU.

    Checkpoints of older versions hold one CUDA state per GPU of the machine that wrote them: the
    training device's entry is used when there is one (never all of them, which fails on a machine
    with fewer GPUs).
    """
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if isinstance(cuda, (list, tuple)):
        index = (device.index or 0) if device is not None else 0
        cuda = cuda[index] if index < len(cuda) else None
    if cuda is not None and device is not None and device.type == "cuda":
        torch.cuda.set_rng_state(cuda, device)
    np_state = state["numpy"]
    np.random.set_state(("MT19937", np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached_gaussian"]))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


def seed_everything(seed: int) -> None:
    """Seed torch (all devices), numpy and random."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_deterministic(enabled: bool) -> None:
    """Deterministic kernels (bitwise repeatable runs on the same machine) or the fast defaults."""
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if enabled != torch.are_deterministic_algorithms_enabled():
        torch.use_deterministic_algorithms(enabled)  # imports torch._inductor (~2 s): only when it changes
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled
