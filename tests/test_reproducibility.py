"""Repeatable training (colorcore.training.reproducibility): the per-epoch order, seeding and deterministic kernels."""

from __future__ import annotations

import random

import numpy as np
import torch

from colorcore.training.reproducibility import (
    epoch_permutation,
    rng_state,
    seed_everything,
    set_deterministic,
    set_rng_state,
)


def test_epoch_permutation_depends_only_on_seed_and_epoch() -> None:
    a = epoch_permutation(0, 3, 50)
    assert torch.equal(a, epoch_permutation(0, 3, 50)) and sorted(a.tolist()) == list(range(50))
    assert not torch.equal(a, epoch_permutation(0, 4, 50))
    assert not torch.equal(a, epoch_permutation(1, 3, 50))


def test_seeding_repeats_every_generator_and_a_state_resumes_them() -> None:
    seed_everything(5)
    first = (torch.rand(2), np.random.rand(2), random.random())
    seed_everything(5)
    state = rng_state()
    assert torch.equal(torch.rand(2), first[0]) and np.array_equal(np.random.rand(2), first[1])
    assert random.random() == first[2]
    set_rng_state(state)
    assert torch.equal(torch.rand(2), first[0]) and np.array_equal(np.random.rand(2), first[1])
    assert random.random() == first[2]


def test_deterministic_kernels_are_switched_on_and_back_off() -> None:
    cudnn = torch.backends.cudnn
    was = (torch.are_deterministic_algorithms_enabled(), cudnn.deterministic, cudnn.benchmark)
    try:
        set_deterministic(True)
        assert torch.are_deterministic_algorithms_enabled() and cudnn.deterministic and not cudnn.benchmark
        set_deterministic(False)
        assert not torch.are_deterministic_algorithms_enabled() and not cudnn.deterministic and cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(was[0])
        cudnn.deterministic, cudnn.benchmark = was[1], was[2]
