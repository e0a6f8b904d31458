"""The paper's networks: shapes, registry, init, frozen ResNet path, training step, weight options."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from colorcore.models.base import MODEL_REGISTRY, ModelConfig, StepContext, build_model
from colorcore.models.discriminator import PatchDiscriminator
from colorcore.models.generator import MultiPathGenerator, ResNetWeightsError, load_resnet18
from colorcore.models.init import xavier_init

TINY = ModelConfig(width=8, resnet_weights="none")


def random_batch(n: int, size: int = 64) -> dict[str, torch.Tensor]:
    """A model batch of random photos: 3-channel gray and RGB in [-1, 1], saliency and binary edge maps."""
    return {
        "gray": torch.rand(n, 1, size, size).expand(-1, 3, -1, -1) * 2 - 1,
        "rgb": torch.rand(n, 3, size, size) * 2 - 1,
        "saliency": torch.rand(n, 1, size, size),
        "edge": (torch.rand(n, 1, size, size) > 0.8).float(),
    }


def test_generator_and_discriminator_output_shapes() -> None:
    gen = MultiPathGenerator(width=8, resnet_weights="none").eval()
    disc = PatchDiscriminator(width=8)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    out = gen(x)
    assert out.shape == (2, 5, 64, 64)
    assert disc(out[:, :3], x).shape == (2, 1, 14, 14)


def test_outputs_are_squashed_into_their_ranges() -> None:
    """Weights scaled up 1000x push every pre-activation far beyond 1: only the generator's tanh and the
    discriminator's sigmoid keep the outputs in [-1, 1] and [0, 1] (and the outputs then reach the ends)."""
    gen = MultiPathGenerator(width=8, resnet_weights="none").eval()
    disc = PatchDiscriminator(width=8)
    last_d_conv = [m for m in disc.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():
        gen.decoder_blocks[-1].conv.weight.mul_(1000)
        last_d_conv.weight.mul_(1000)
        x = torch.rand(2, 3, 64, 64) * 2 - 1
        out = gen(x)
        score = disc(out[:, :3], x)
    assert out.abs().max() <= 1.0 and out.abs().max() > 0.99
    assert score.min() >= 0.0 and score.max() <= 1.0 and (score.min() < 0.01 or score.max() > 0.99)


def test_encoder_blocks_halve_the_size_six_times() -> None:
    gen = MultiPathGenerator(width=8, resnet_weights="none").eval()
    assert len(gen.encoder_blocks) == 6
    h = torch.zeros(1, 3, 64, 64)
    sizes = []
    for k, block in enumerate(gen.encoder_blocks[:5]):
        h = block(h)
        sizes.append((h.shape[1], h.shape[-1]))
    assert sizes == [(8, 32), (16, 16), (32, 8), (64, 4), (64, 2)]


def test_generator_rejects_sizes_not_multiple_of_64() -> None:
    gen = MultiPathGenerator(width=8, resnet_weights="none")
    with pytest.raises(ValueError, match="multiple of 64"):
        gen(torch.zeros(1, 3, 48, 48))


def test_registry_and_unknown_model() -> None:
    assert "multipath" in MODEL_REGISTRY
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        build_model(ModelConfig(name="nope"))


def test_without_pretrained_weights_the_resnet_path_is_left_out_or_trained() -> None:
    """No frozen random trunk: "none" leaves the path out (the 6th conv sees the encoder only);
    with finetune_resnet it is trained from random weights."""
    omitted = build_model(TINY)
    assert omitted.generator.resnet is None and omitted.generator.resnet_role == "omitted"
    assert omitted.generator.encoder_blocks[5].conv.in_channels == 8 * 8
    trained = build_model(TINY.with_(finetune_resnet=True))
    assert trained.generator.resnet_role == "trained"
    assert all(p.requires_grad for p in trained.generator.resnet.trunk.parameters())
    assert trained.generator.encoder_blocks[5].conv.in_channels == 8 * 8 + 512
    assert trained.generator.eval()(torch.zeros(1, 3, 64, 64)).shape == (1, 5, 64, 64)


def test_frozen_resnet_path_keeps_its_weights_and_statistics(tmp_path: Path) -> None:
    weights = tmp_path / "resnet18.pth"
    torch.save(load_resnet18("none").state_dict(), weights)
    model = build_model(TINY.with_(resnet_weights=str(weights)))
    assert model.generator.resnet_role == "frozen"
    trunk = model.generator.resnet.trunk
    assert not any(p.requires_grad for p in trunk.parameters())
    assert all(p.requires_grad for p in model.generator.encoder_blocks.parameters())
    before = {k: v.clone() for k, v in trunk.state_dict().items()}
    model.train()
    model.generator(torch.rand(2, 3, 64, 64) * 2 - 1)
    after = trunk.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_xavier_init_zeroes_biases() -> None:
    model = build_model(TINY)
    conv = model.generator.encoder_blocks[0].conv
    assert torch.count_nonzero(conv.bias) == 0
    bound = (6 / (conv.in_channels * 9 + conv.out_channels * 9)) ** 0.5
    assert conv.weight.abs().max() <= bound


def test_xavier_init_covers_conv_transposed_conv_and_linear_layers() -> None:
    torch.manual_seed(0)
    layers = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ConvTranspose2d(4, 2, 4), nn.Linear(5, 6), nn.BatchNorm2d(4))
    for layer in layers:
        nn.init.constant_(layer.bias, 0.5)
        nn.init.constant_(layer.weight, 9.0)
    xavier_init(layers)
    for layer, (fan_in, fan_out) in zip(layers, ((3 * 9, 4 * 9), (2 * 16, 4 * 16), (5, 6))):
        assert torch.count_nonzero(layer.bias) == 0
        assert 0 < layer.weight.abs().max() <= (6 / (fan_in + fan_out)) ** 0.5
    assert torch.all(layers[3].weight == 9.0) and torch.all(layers[3].bias == 0.5)  # norm layers untouched


def test_training_step_updates_both_networks_and_returns_every_loss() -> None:
    torch.manual_seed(0)
    model = build_model(TINY).train()
    opts = model.make_optimizers()
    batch = random_batch(4)
    g0 = model.generator.decoder_blocks[-1].conv.weight.clone()
    d0 = model.discriminator.net[0].weight.clone()
    out = model.training_step(batch, opts, StepContext())
    assert set(out) == set(model.loss_names)
    assert all(torch.isfinite(v) for v in out.values())
    expected_g = out["l1"] + 0.5 * out["gan"] + 0.5 * out["sal"] + 0.05 * out["edge"]
    assert out["g"].item() == pytest.approx(expected_g.item(), rel=1e-5)
    assert not torch.equal(g0, model.generator.decoder_blocks[-1].conv.weight)
    assert not torch.equal(d0, model.discriminator.net[0].weight)
    assert all(p.requires_grad for p in model.discriminator.parameters())  # restored after the G step


@pytest.mark.parametrize("name", ["multipath", "scgan"])
def test_generator_step_computes_no_discriminator_weight_gradients(name: str) -> None:
    """D's weight gradients are computed once per step (the D step); the G step needs only D's input gradient."""
    torch.manual_seed(0)
    model = build_model(TINY.with_(name=name)).train()
    opts = model.make_optimizers()
    batch = random_batch(2)
    weight_grads = []
    for p in model.discriminator.parameters():
        p.register_hook(lambda g: weight_grads.append(g.shape))
    generator_grads = []
    for p in model.generator.parameters():
        if p.requires_grad:
            p.register_hook(lambda g: generator_grads.append(g.shape))
    model.training_step(batch, opts, StepContext())
    assert len(weight_grads) == len(list(model.discriminator.parameters()))
    assert len(generator_grads) == len([p for p in model.generator.parameters() if p.requires_grad])
    assert all(p.requires_grad for p in model.discriminator.parameters())


MIXED_PRECISION = {"bf16": (torch.bfloat16, False), "fp16+scaler": (torch.float16, True)}
SMALL_CONFIGS = {
    "multipath": ModelConfig(width=8, resnet_weights="none"),
    "scgan": ModelConfig(name="scgan", image_size=32, width=4),
    "zhang": ModelConfig(name="zhang", image_size=32, width=4),
}


@pytest.mark.parametrize("precision", sorted(MIXED_PRECISION))
@pytest.mark.parametrize("name", sorted(SMALL_CONFIGS))
def test_every_model_trains_under_mixed_precision_and_channels_last(name: str, precision: str) -> None:
    """The GPU / bf16-CPU paths (autocast, GradScaler, channels_last), run on this CPU: finite fp32
    losses, every network updated, weights kept in fp32."""
    assert set(SMALL_CONFIGS) == set(MODEL_REGISTRY)
    dtype, use_scaler = MIXED_PRECISION[precision]
    torch.manual_seed(0)
    config = SMALL_CONFIGS[name]
    model = build_model(config).train().to(memory_format=torch.channels_last)
    batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in random_batch(2, config.image_size).items()}
    scaler = torch.amp.GradScaler("cpu") if use_scaler else None
    ctx = StepContext(autocast=lambda: torch.autocast("cpu", dtype=dtype), scaler=scaler)
    opts = model.make_optimizers()
    before = {key: [p.detach().clone() for p in net.parameters() if p.requires_grad]
              for key, net in model.networks().items()}
    for _ in range(2):
        out = model.training_step(batch, opts, ctx)
    assert set(out) == set(model.loss_names)
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in out.values())
    for key, net in model.networks().items():
        now = [p for p in net.parameters() if p.requires_grad]
        assert all(p.dtype == torch.float32 for p in now)
        assert any(not torch.equal(a, b) for a, b in zip(before[key], now)), f"{name}: network {key} not updated"


@pytest.mark.parametrize("gan_loss", ["lsgan", "wgan-gp", "bce"])
def test_other_gan_losses_train(gan_loss: str) -> None:
    model = build_model(TINY.with_(gan_loss=gan_loss)).train()
    batch = {
        "gray": torch.zeros(2, 3, 64, 64), "rgb": torch.rand(2, 3, 64, 64) * 2 - 1,
        "saliency": torch.rand(2, 1, 64, 64), "edge": torch.zeros(2, 1, 64, 64),
    }
    out = model.training_step(batch, model.make_optimizers(), StepContext())
    assert all(torch.isfinite(v) for v in out.values())


def test_resnet_weights_from_a_local_file_and_bad_files(tmp_path: Path) -> None:
    reference = load_resnet18("none")
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    loaded = load_resnet18(str(path))
    assert torch.equal(loaded.conv1.weight, reference.conv1.weight)
    with pytest.raises(ResNetWeightsError, match="not found"):
        load_resnet18(str(tmp_path / "missing.pth"))
    bad = tmp_path / "bad.pth"
    torch.save({"fc.weight": torch.zeros(1)}, bad)
    with pytest.raises(ResNetWeightsError, match="not a ResNet-18 state_dict"):
        load_resnet18(str(bad))


def test_predict_returns_rgb_and_maps_in_range() -> None:
    model = build_model(TINY).eval()
    out = model.predict(torch.zeros(1, 3, 64, 64))
    assert out["rgb"].shape == (1, 3, 64, 64)
    for key in ("saliency", "edge"):
        assert out[key].shape == (1, 1, 64, 64)
        assert 0 <= out[key].min() and out[key].max() <= 1


# three seeded training steps of each GAN (width 4, batch 2), recorded before `GANColorModel.discriminator_step`
# replaced the copies in multipath.py and scgan.py: sharing the D step changes no number
GAN_STEP_LOSSES = {
    ("multipath", "paper"): [
        {"g": 0.553602, "l1": 0.606698, "gan": -0.465962, "sal": 0.332633, "edge": 0.271361, "d": 0.001343},
        {"g": 0.547009, "l1": 0.603294, "gan": -0.466636, "sal": 0.327726, "edge": 0.263401, "d": 0.000573},
        {"g": 0.541477, "l1": 0.600439, "gan": -0.467494, "sal": 0.323871, "edge": 0.256996, "d": -9.9e-05}],
    ("multipath", "wgan-gp"): [
        {"g": 0.849138, "l1": 0.606698, "gan": 0.12511, "sal": 0.332633, "edge": 0.271361, "d": 43.867538},
        {"g": 0.836167, "l1": 0.603177, "gan": 0.111128, "sal": 0.328381, "edge": 0.264701, "d": 35.514507},
        {"g": 0.824707, "l1": 0.600145, "gan": 0.098255, "sal": 0.324946, "edge": 0.259225, "d": 27.873533}],
    ("scgan", "paper"): [
        {"g": 0.289781, "l1": 0.547348, "gan": -0.515134, "d": -0.003855},
        {"g": 0.285663, "l1": 0.544647, "gan": -0.517969, "d": -0.006769},
        {"g": 0.281477, "l1": 0.541914, "gan": -0.520873, "d": -0.009747}],
    ("scgan", "wgan-gp"): [
        {"g": 0.516822, "l1": 0.547348, "gan": -0.061052, "d": 0.446662},
        {"g": 0.507693, "l1": 0.54511, "gan": -0.074833, "d": 0.238301},
        {"g": 0.499111, "l1": 0.542921, "gan": -0.08762, "d": 0.030649}],
}


@pytest.mark.parametrize(("name", "gan_loss"), sorted(GAN_STEP_LOSSES))
def test_seeded_gan_steps_give_the_recorded_losses(name: str, gan_loss: str) -> None:
    """The shared discriminator step trains exactly as the per-model copies did (the same losses, step by step)."""
    config = {"multipath": TINY.with_(width=4), "scgan": ModelConfig(name="scgan", image_size=32, width=4)}[name]
    torch.manual_seed(0)
    model = build_model(config.with_(gan_loss=gan_loss)).train()
    size = config.image_size
    draw = torch.Generator().manual_seed(1)
    batch = {"gray": (torch.rand(2, 1, size, size, generator=draw) * 2 - 1).expand(-1, 3, -1, -1),
             "rgb": torch.rand(2, 3, size, size, generator=draw) * 2 - 1,
             "saliency": torch.rand(2, 1, size, size, generator=draw),
             "edge": (torch.rand(2, 1, size, size, generator=draw) > 0.8).float()}
    optimizers = model.make_optimizers()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the sums' order, so the last digits, depend on the thread count
    try:
        steps = [model.training_step(batch, optimizers, StepContext()) for _ in GAN_STEP_LOSSES[(name, gan_loss)]]
    finally:
        torch.set_num_threads(threads)
    for losses, expected in zip(steps, GAN_STEP_LOSSES[(name, gan_loss)]):
        assert {key: float(value) for key, value in losses.items()} == pytest.approx(expected, rel=1e-5, abs=2e-6)
