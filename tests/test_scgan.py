"""The SCGAN-like baseline: depth rule, shapes, optimiser defaults, overfitting 16 photos through the
Trainer, and the train -> export -> load path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from colorcore.models.checkpoint import export_model, load_model
from colorcore.models.base import MODEL_REGISTRY, ModelConfig, StepContext, build_model
from colorcore.models.scgan import UNetGenerator, unet_depth
from colorcore.core.tensors import gray_input
from colorcore.training.trainer import TrainConfig, Trainer
from tests.helpers import OVERFIT_SIZE, overfit_losses, prepare_overfit_photos

@pytest.mark.parametrize(("size", "depth"), [(128, 7), (64, 6), (32, 5), (96, 5), (256, 7)])
def test_depth_follows_the_image_size(size: int, depth: int) -> None:
    assert unet_depth(size) == depth


def test_too_small_or_odd_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="divisible by 4"):
        unet_depth(6)


@pytest.mark.parametrize(("size", "patch"), [(128, 30), (64, 14)])
def test_generator_and_discriminator_shapes(size: int, patch: int) -> None:
    model = build_model(ModelConfig(name="scgan", image_size=size, width=2))
    assert len(model.generator.down) == len(model.generator.up) == unet_depth(size)
    gray = torch.rand(2, 3, size, size) * 2 - 1
    with torch.no_grad():
        bottleneck = gray[:, :1]
        for block in model.generator.down:
            bottleneck = block(bottleneck)
        assert bottleneck.shape[-1] == size // 2 ** unet_depth(size)
        fake = model.generator(gray[:, :1])
        assert fake.shape == (2, 3, size, size) and fake.abs().max() <= 1
        score = model.discriminator(fake, gray[:, :1])
    assert score.shape == (2, 1, patch, patch) and 0 <= score.min() and score.max() <= 1


def test_generator_refuses_a_size_it_cannot_halve() -> None:
    with pytest.raises(ValueError, match="multiple of 64"):
        UNetGenerator(depth=6, width=2)(torch.zeros(1, 1, 96, 96))


def test_both_networks_start_from_xavier_weights_and_zero_biases() -> None:
    model = build_model(ModelConfig(name="scgan", width=4, image_size=64))
    layers = [m for net in (model.generator, model.discriminator) for m in net.modules()
              if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert layers and all(m.bias is None or torch.count_nonzero(m.bias) == 0 for m in layers)
    for m in layers:
        fan_in = m.weight[0].numel() if isinstance(m, nn.Conv2d) else m.weight[:, 0].numel()
        fan_out = m.weight[:, 0].numel() if isinstance(m, nn.Conv2d) else m.weight[0].numel()
        assert m.weight.abs().max() <= (6 / (fan_in + fan_out)) ** 0.5


def test_optimisers_use_the_paper_learning_rates_under_the_paper_preset() -> None:
    model = build_model(ModelConfig(name="scgan", image_size=32, width=2, preset="paper"))
    opts = model.make_optimizers()
    assert opts["g"].param_groups[0]["lr"] == pytest.approx(2e-4)
    assert opts["d"].param_groups[0]["lr"] == pytest.approx(1e-3)
    assert MODEL_REGISTRY["scgan"] is type(model)
    default = build_model(ModelConfig(name="scgan", image_size=32, width=2)).make_optimizers()
    assert default["d"].param_groups[0]["lr"] == pytest.approx(2e-4)  # measured to learn at batch 8


def test_training_step_updates_both_networks_and_reports_every_loss() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="scgan", image_size=32, width=2))
    rgb = torch.randint(0, 256, (4, 32, 32, 3), dtype=torch.uint8)
    batch = {"gray": gray_input(rgb), "rgb": rgb.permute(0, 3, 1, 2).float() / 127.5 - 1}
    g_before = [p.clone() for p in model.generator.parameters()]
    d_before = [p.clone() for p in model.discriminator.parameters()]
    losses = model.training_step(batch, model.make_optimizers(), StepContext())
    assert set(losses) == set(model.loss_names) and all(torch.isfinite(v) for v in losses.values())
    assert any(not torch.equal(a, b) for a, b in zip(g_before, model.generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d_before, model.discriminator.parameters()))


def test_overfits_sixteen_photos(photo_factory: Any, tmp_path: Path) -> None:
    data = prepare_overfit_photos(tmp_path, photo_factory)
    torch.manual_seed(0)
    # lr G 2e-3 / D 2e-4 instead of 2e-4 / 1e-3: 40 CPU steps are then enough, and the smaller D lr keeps
    # the adversarial term from swamping L1 so early (the last-3 mean lands near 0.24 of the first L1)
    model = ModelConfig(name="scgan", image_size=OVERFIT_SIZE, width=8, lr_g=2e-3, lr_d=2e-4)
    l1 = [s["loss_l1"] for s in overfit_losses(data, tmp_path / "run", model, steps=40)]
    assert np.mean(l1[-3:]) <= 0.5 * l1[0], (l1[0], l1[-3:])


def test_train_export_load_gives_the_same_colours(prepared_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    config = TrainConfig(data=str(prepared_dataset), run_dir=str(run),
                         model=ModelConfig(name="scgan", width=4), epochs=1, batch_size=3, device="cpu",
                         log_interval_s=0.0, eval_subset=2, sample_count=2, keep_checkpoints=1)
    assert Trainer(config).run().status == "finished"
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[-4:] == ["loss_g", "loss_l1", "loss_gan", "loss_d"]
    exported = export_model(run, tmp_path / "scgan.safetensors")
    from_checkpoint, from_file = load_model(run), load_model(exported)
    gray = gray_input(torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8))
    expected = from_checkpoint.predict(gray)["rgb"]
    assert expected.shape == (2, 3, 64, 64) and expected.abs().max() <= 1
    assert torch.allclose(from_file.predict(gray)["rgb"], expected, atol=1e-6)
