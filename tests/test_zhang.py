"""The Zhang et al. baseline: Lab conversions, the 313 computed bins, soft-encoding, class rebalancing,
annealed mean, the prior buffer, overfitting 16 photos through the Trainer, export/load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from skimage import color

from colorcore.models.checkpoint import export_model, load_model
from colorcore.core.lab import AB_GRID_LIMIT, AB_GRID_STEP, N_AB_BINS, ab_bins, lab_to_rgb, rgb_to_lab
from colorcore.models.base import ModelConfig, StepContext, build_model
from colorcore.models.zhang import (
    annealed_mean,
    lightness_from_gray,
    nearest_bin,
    rebalance_weights,
    smoothed_prior,
    soft_encode,
)
from colorcore.core.tensors import batch_from_uint8, gray_input
from colorcore.training.trainer import TrainConfig, Trainer
from tests.helpers import make_photo_array
from tests.helpers import OVERFIT_SIZE, overfit_losses, prepare_overfit_photos


def photo_ab(seed: int = 0, size: int = 16) -> torch.Tensor:
    """(1, 2, size, size) ab of a structured test photo."""
    rgb = torch.from_numpy(make_photo_array(size, size, seed)).permute(2, 0, 1)[None].float() / 255
    return rgb_to_lab(rgb)[:, 1:]


def test_lab_matches_scikit_image_and_round_trips() -> None:
    rgb = torch.rand(2, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    lab = rgb_to_lab(rgb)
    reference = color.rgb2lab(rgb.permute(0, 2, 3, 1).numpy())
    assert np.abs(lab.permute(0, 2, 3, 1).numpy() - reference).max() < 0.02
    assert torch.allclose(lab_to_rgb(lab), rgb, atol=1e-5)


def test_there_are_313_bins_on_the_step_10_grid() -> None:
    bins = ab_bins()
    assert bins.shape == (N_AB_BINS, 2) == (313, 2)
    assert torch.all(bins % AB_GRID_STEP == 0) and bins.abs().max() <= AB_GRID_LIMIT
    assert len({tuple(b) for b in bins.tolist()}) == 313
    as_set = {tuple(b) for b in bins.tolist()}
    assert (0.0, 0.0) in as_set and (-90.0, 50.0) in as_set  # gray, and the published set's first bin
    assert (110.0, 110.0) not in as_set and (-110.0, -110.0) not in as_set  # far outside sRGB


def test_every_srgb_colour_is_near_a_bin() -> None:
    values = torch.linspace(0, 1, 9)
    cube = torch.cartesian_prod(values, values, values).T.reshape(1, 3, -1, 1)
    ab = rgb_to_lab(cube)[:, 1:]
    distance = torch.cdist(ab[0, :, :, 0].T, ab_bins()).min(dim=1).values
    assert distance.max() <= AB_GRID_STEP * 2**0.5 / 2 + 1e-4  # inside the bin's square cell


def test_soft_encoding_sums_to_one_with_five_nonzeros_per_pixel() -> None:
    ab = photo_ab()
    bins = ab_bins()
    target = soft_encode(ab, bins)
    assert target.shape == (1, 313, 16, 16)
    assert torch.allclose(target.sum(dim=1), torch.ones(1, 16, 16), atol=1e-5)
    assert torch.all((target > 0).sum(dim=1) == 5)
    assert torch.equal(target.argmax(dim=1), nearest_bin(ab, bins))


def test_rebalancing_weights_have_expectation_one_under_the_prior() -> None:
    bins = ab_bins()
    counts = torch.zeros(313, dtype=torch.float64)
    for seed in range(4):
        counts += torch.bincount(nearest_bin(photo_ab(seed), bins).flatten(), minlength=313).double()
    prior = smoothed_prior(counts, bins)
    assert prior.sum().item() == pytest.approx(1.0) and torch.all(prior >= 0)
    assert (prior > 0).sum() > (counts > 0).sum()  # smoothing spreads mass to neighbours
    weights = rebalance_weights(prior)
    assert (prior * weights).sum().item() == pytest.approx(1.0, abs=1e-9)
    common, rare = prior.argmax(), prior.argmin()
    assert weights[rare] > weights[common]
    assert torch.allclose(rebalance_weights(prior, lam=1.0), torch.ones(313, dtype=torch.float64))


def test_annealed_mean_at_t1_is_the_distribution_mean() -> None:
    logits = torch.randn(2, 313, 3, 3, generator=torch.Generator().manual_seed(1)) * 3
    bins = ab_bins()
    mean = torch.einsum("bqhw,qc->bchw", torch.softmax(logits, dim=1), bins)
    assert torch.allclose(annealed_mean(logits, bins, temperature=1.0), mean, atol=1e-4)
    # a low temperature approaches the mode
    mode = bins[logits.argmax(dim=1)].permute(0, 3, 1, 2)
    assert torch.allclose(annealed_mean(logits, bins, temperature=1e-3), mode, atol=0.1)
    assert (annealed_mean(logits, bins) - mode).abs().mean() < (mean - mode).abs().mean()


def test_training_accumulates_the_prior_in_the_generator_state() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="zhang", image_size=16, width=2))
    rgb = torch.from_numpy(np.stack([make_photo_array(16, 16, s) for s in range(2)]))
    zeros = torch.zeros(2, 16, 16, dtype=torch.uint8)
    batch = batch_from_uint8(rgb, zeros, zeros)
    losses = model.training_step(batch, model.make_optimizers(), StepContext())
    assert set(losses) == {"ce"} and torch.isfinite(losses["ce"])
    counts = model.generator.state_dict()["ab_counts"]
    assert counts.sum().item() == 2 * 4 * 4  # one count per pixel of the quarter-size target
    assert model.make_optimizers()["g"].defaults["nesterov"] is True
    assert model.make_optimizers()["g"].defaults["lr"] == pytest.approx(0.01)


def test_prediction_keeps_the_input_lightness() -> None:
    model = build_model(ModelConfig(name="zhang", image_size=32, width=2)).eval()
    rgb = torch.from_numpy(np.stack([make_photo_array(32, 32, s) for s in range(2)]))
    gray = gray_input(rgb)
    out = model.predict(gray)["rgb"]
    assert out.shape == (2, 3, 32, 32) and out.min() >= -1 and out.max() <= 1
    lightness_out = rgb_to_lab((out + 1) / 2)[:, :1]
    # clipping out-of-gamut colours moves L a little; on average it stays with the input
    assert (lightness_out - lightness_from_gray(gray)).abs().mean() < 3.0


def test_overfits_sixteen_photos(photo_factory: Any, tmp_path: Path) -> None:
    data = prepare_overfit_photos(tmp_path, photo_factory)
    torch.manual_seed(0)
    # a raised lr (0.1 instead of 0.01) so that 50 CPU steps are enough (last-3 mean near 0.34 of the first)
    model = ModelConfig(name="zhang", image_size=OVERFIT_SIZE, width=8, lr_g=0.1)
    ce = [s["loss_ce"] for s in overfit_losses(data, tmp_path / "run", model, steps=50)]
    assert np.mean(ce[-3:]) <= 0.5 * ce[0], (ce[0], ce[-3:])


def test_train_resume_export_load_carry_the_prior(prepared_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    base = dict(data=str(prepared_dataset), run_dir=str(run), model=ModelConfig(name="zhang", width=4),
                epochs=2, batch_size=3, device="cpu", log_interval_s=0.0, eval_subset=2, sample_count=2,
                keep_checkpoints=1)
    assert Trainer(TrainConfig(**{**base, "max_steps": 1})).run().status == "finished"
    after_one = load_model(run).generator.ab_counts.sum().item()
    assert after_one == 3 * 16 * 16
    assert Trainer(TrainConfig(**{**base, "resume": True})).run().status == "finished"
    model = load_model(run)
    assert model.generator.ab_counts.sum().item() == 4 * 3 * 16 * 16  # 2 epochs x 2 steps x 3 images
    exported = load_model(export_model(run, tmp_path / "zhang.safetensors"))
    assert torch.equal(exported.generator.ab_counts, model.generator.ab_counts)
    gray = gray_input(torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8))
    assert torch.allclose(exported.predict(gray)["rgb"], model.predict(gray)["rgb"], atol=1e-6)
