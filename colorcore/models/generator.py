"""The paper's multi-path generator: a U-Net-like encoder/decoder plus a pre-trained trunk path.

Encoder: six groups Conv3x3 -> LeakyReLU(0.2) -> AvgPool2 -> BatchNorm (64 -> 1 px at 64 px input).
ResNet-18 path: torchvision's trunk (conv1..layer4) on the same input, ImageNet-normalised; its
512-channel map has the size of the 5th encoder output and is concatenated with it before the 6th conv.
Without pretrained weights ("none") the path is left out, unless it is trained (`finetune`): a
frozen random trunk only adds 512 channels of fixed noise (measured in benchmarks/bench_learning.py).
EfficientNet-Lite0 path (`trunk="efficientnet-lite0"`, the default where the ResNet-18 weights cannot
be had; its ImageNet weights install with the engine): the gray input enlarged to at least
`TRUNK_INPUT_SIZE` px (where it recognises the most of a 64 px sample: benchmarks/bench_trunk_input.py), its last stage (320 channels, stride 32) averaged
down to the 5th encoder output's size and joined where the paper joins ResNet-18; frozen.
Decoder: six Upsample x2 -> concat skip of the same size -> Conv3x3 -> LeakyReLU stages; the last stage
has tanh and five output channels (RGB, saliency, edge), all in [-1, 1].
Any input size that is a multiple of 64 works (the network is fully convolutional).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from colorcore.core.advice import OTHER, SET, Advice, AdvisedError
from colorcore.models.init import xavier_init

NEG_SLOPE = 0.2
OUT_CHANNELS = 5
RESNET_CHANNELS = 512
TRUNKS = ("auto", "resnet18", "efficientnet-lite0", "none")
LITE0_CHANNELS = 320
TRUNK_INPUT_SIZE = 128  # px: the gray sample is enlarged to this for the EfficientNet-Lite0 path (bench_trunk_input.py)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ResNetWeightsError(AdvisedError, RuntimeError):
    """The requested ResNet-18 weights could not be obtained (offline, bad file...); its advice: no
    weights, or another source."""

    def __init__(self, message: str) -> None:
        super().__init__(message, (Advice("resnet_weights", SET, "none"), Advice("resnet_weights", OTHER)))


def encoder_channels(width: int) -> list[int]:
    """Channel count of each of the six encoder groups (64-128-256-512-512-512 for width 64)."""
    return [width, width * 2, width * 4, width * 8, width * 8, width * 8]


class EncoderBlock(nn.Module):
    """Conv3x3 -> LeakyReLU(0.2) -> AvgPool2 -> BatchNorm: one of the paper's six encoder groups."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.act = nn.LeakyReLU(NEG_SLOPE, inplace=True)
        self.pool = nn.AvgPool2d(2)
        self.bn = nn.BatchNorm2d(out_ch)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.pool(self.act(self.conv(x))))


class DecoderBlock(nn.Module):
    """Upsample x2 -> concat skip -> Conv3x3 -> LeakyReLU (or tanh on the last stage)."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int, last: bool = False) -> None:
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = nn.Conv2d(in_ch + skip_ch, out_ch, 3, padding=1)
        self.act: nn.Module = nn.Tanh() if last else nn.LeakyReLU(NEG_SLOPE, inplace=True)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.act(self.conv(torch.cat([self.up(x), skip], dim=1)))


def resnet_cache_dir() -> Path:
    """Where torchvision caches downloaded weights (torch hub's checkpoints folder)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def load_resnet18(weights: str) -> nn.Module:
    """torchvision ResNet-18 with `weights` = "imagenet" | "none" | path to a state_dict file.

    "imagenet" uses torchvision's own download and cache; without internet the error names the cache
    folder and the alternatives. A local file is loaded with ``weights_only=True``.
    """
    from torchvision.models import ResNet18_Weights, resnet18

    if weights == "none":
        return resnet18(weights=None)
    if weights == "imagenet":
        try:
            return resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)
        except Exception as exc:  # URLError, OSError, hash mismatch...
            url = ResNet18_Weights.IMAGENET1K_V1.url
            raise ResNetWeightsError(
                "could not get the ImageNet ResNet-18 weights "
                f"({type(exc).__name__}: {exc}). Put {Path(url).name} from {url} into "
                f"{resnet_cache_dir()}, or give a local ResNet-18 state_dict file."
            ) from exc
    path = Path(weights)
    if not path.is_file():
        raise ResNetWeightsError(
            f"ResNet-18 weights file not found: {path} (use imagenet, none, or a path to a file)"
        )
    model = resnet18(weights=None)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        model.load_state_dict(state)
    except Exception as exc:
        raise ResNetWeightsError(f"{path}: not a ResNet-18 state_dict ({exc})") from exc
    return model


RESNET_SOURCES = ("auto", "imagenet", "none")


def resolve_resnet_weights(weights: str, allow_download: bool = False) -> str:
    """A concrete ResNet-18 source for `weights`: "auto" becomes "imagenet" when the weights are in
    the local cache (or, with `allow_download`, can be downloaded now) and "none" otherwise; any
    other value is returned unchanged."""
    if weights != "auto":
        return weights
    if imagenet_weights_available():
        return "imagenet"
    if allow_download:
        try:
            load_resnet18("imagenet")
            return "imagenet"
        except ResNetWeightsError:
            pass
    return "none"


def resnet_role(weights: str, finetune: bool) -> str:
    """What the ResNet-18 path is in a model: "trained", "omitted" (no pretrained weights to freeze:
    "none", or "auto" without a cached ImageNet file) or "frozen"."""
    if finetune:
        return "trained"
    if weights == "none" or (weights == "auto" and not imagenet_weights_available()):
        return "omitted"
    return "frozen"


def resolve_trunk(trunk: str, resnet_weights: str, finetune_resnet: bool = False,
                  allow_download: bool = False) -> str:
    """A concrete trunk for `trunk`: "auto" is ResNet-18 (the paper's) when its weights can be had
    (`resolve_resnet_weights`) or it is trained (`finetune_resnet`), EfficientNet-Lite0 otherwise, and
    "none" when `resnet_weights` is "none" and it is not trained (a model asked for no ImageNet path;
    files saved before the trunk option say so)."""
    if trunk != "auto":
        return trunk
    if finetune_resnet:
        return "resnet18"
    if resnet_weights == "none":
        return "none"
    return "resnet18" if resolve_resnet_weights(resnet_weights, allow_download) != "none" else "efficientnet-lite0"


def imagenet_weights_available() -> bool:
    """True when torchvision's ImageNet ResNet-18 file is already in the local cache."""
    from torchvision.models import ResNet18_Weights

    name = os.path.basename(ResNet18_Weights.IMAGENET1K_V1.url)
    return (resnet_cache_dir() / name).is_file()


class ResNetPath(nn.Module):
    """ResNet-18 trunk (conv1..layer4) on the ImageNet-normalised input; frozen unless `finetune`."""

    def __init__(self, weights: str = "imagenet", finetune: bool = False) -> None:
        super().__init__()
        net = load_resnet18(resolve_resnet_weights(weights))
        self.trunk = nn.Sequential(
            net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4
        )
        self.finetune = finetune
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        if not finetune:
            self.trunk.requires_grad_(False)
            self.trunk.eval()

    def train(self, mode: bool = True) -> "ResNetPath":
        super().train(mode)
        if not self.finetune:
            self.trunk.eval()  # frozen means frozen: BN statistics do not move either
        return self

    def forward(self, x: Tensor) -> Tensor:
        x = ((x + 1.0) * 0.5 - self.mean) / self.std
        if self.finetune:
            return self.trunk(x)
        with torch.no_grad():
            return self.trunk(x)


class EfficientNetPath(nn.Module):
    """EfficientNet-Lite0 (stem and the seven stages, no head) on the gray input enlarged to at least
    TRUNK_INPUT_SIZE px; its 320-channel stride-32 map averaged to `1/32` of the input's size. Frozen."""

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        from colorcore.models.trunks import EfficientNetLite0, load_efficientnet_lite0

        net = load_efficientnet_lite0() if pretrained else EfficientNetLite0()
        self.net = net
        del net._conv_head, net._bn1, net._fc  # the classifier is not used (nor saved)
        self.net.requires_grad_(False)
        self.net.eval()

    def train(self, mode: bool = True) -> "EfficientNetPath":
        super().train(mode)
        self.net.eval()  # frozen means frozen: BN statistics do not move either
        return self

    def forward(self, x: Tensor) -> Tensor:
        from colorcore.models.trunks import imagenet_input

        h, w = x.shape[-2:]
        scale = max(1.0, TRUNK_INPUT_SIZE / min(h, w))
        with torch.no_grad():
            rgb = (x.float() + 1.0) * 127.5
            if scale > 1.0:
                rgb = F.interpolate(rgb, size=(round(h * scale), round(w * scale)), mode="bilinear",
                                    align_corners=False)
            features = self.net.stages(imagenet_input(rgb))[-1]
            return F.adaptive_avg_pool2d(features, (h // 32, w // 32))


class MultiPathGenerator(nn.Module):
    """Gray (B, 3, S, S) in [-1, 1] -> (B, 5, S, S) in [-1, 1]: RGB, saliency, edge.

    `pretrained=False` builds the ResNet path without loading its weights (they come from a file).
    """

    def __init__(self, width: int = 64, resnet_weights: str = "auto", finetune_resnet: bool = False,
                 pretrained: bool = True, trunk: str = "auto"):
        super().__init__()
        ch = encoder_channels(width)
        self.trunk = resolve_trunk(trunk, resnet_weights, finetune_resnet)
        self.resnet_role = resnet_role(resnet_weights, finetune_resnet) if self.trunk == "resnet18" else "omitted"
        self.resnet: ResNetPath | None = None
        self.lite0: EfficientNetPath | None = None
        extra = 0
        if self.resnet_role != "omitted":
            self.resnet = ResNetPath(resnet_weights if pretrained else "none", finetune_resnet)
            extra = RESNET_CHANNELS
        elif self.trunk == "efficientnet-lite0":
            self.lite0 = EfficientNetPath(pretrained)
            extra = LITE0_CHANNELS
        ins = [3, ch[0], ch[1], ch[2], ch[3], ch[4] + extra]
        self.encoder_blocks = nn.ModuleList(EncoderBlock(i, o) for i, o in zip(ins, ch))
        # decoder stage k upsamples to the size of encoder level 5-k and concatenates its output;
        # the last stage concatenates the input itself (level 0, full size).
        skips = [ch[4], ch[3], ch[2], ch[1], ch[0], 3]
        outs = [ch[4], ch[3], ch[2], ch[1], ch[0], OUT_CHANNELS]
        dec_in = [ch[5]] + outs[:-1]
        self.decoder_blocks = nn.ModuleList(
            DecoderBlock(i, s, o, last=(k == 5)) for k, (i, s, o) in enumerate(zip(dec_in, skips, outs))
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] % 64 or x.shape[-2] % 64:
            raise ValueError(f"input size {tuple(x.shape[-2:])} must be a multiple of 64")
        feats = [x]
        h = x
        for k, block in enumerate(self.encoder_blocks):
            if k == 5 and self.resnet is not None:
                h = torch.cat([h, self.resnet(x).to(h.dtype)], dim=1)
            elif k == 5 and self.lite0 is not None:
                h = torch.cat([h, self.lite0(x).to(h.dtype)], dim=1)
            h = block(h)
            feats.append(h)
        for k, block in enumerate(self.decoder_blocks):
            h = block(h, feats[5 - k])
        return h


def load_widened(gen: MultiPathGenerator, state: dict[str, Tensor]) -> list[str]:
    """Load a generator's weights saved without `gen`'s trunk (or with a narrower one) into `gen`: every
    tensor of the same shape is copied; the conv that takes the trunk's channels keeps the old
    weights for the encoder's channels and zeros for the trunk's, so `gen` starts out computing what
    the old generator did and learns to use the trunk. The trunk keeps its own (pre-trained) weights.
    Returns the names of the widened tensors; ValueError for weights of another architecture."""
    own = gen.state_dict()
    widened = []
    for name, value in state.items():
        if name not in own:
            raise ValueError(f"{name}: not a weight of this generator")
        target = own[name]
        if value.shape == target.shape:
            target.copy_(value)
        elif value.dim() == 4 and value.shape[0] == target.shape[0] and value.shape[1] < target.shape[1] \
                and value.shape[2:] == target.shape[2:]:
            target.zero_()
            target[:, : value.shape[1]].copy_(value)
            widened.append(name)
        else:
            raise ValueError(f"{name}: shape {tuple(value.shape)} does not fit {tuple(target.shape)}")
    return widened


def init_generator(gen: MultiPathGenerator) -> None:
    """Xavier init for the encoder/decoder only (the pretrained ResNet keeps its weights)."""
    xavier_init(gen.encoder_blocks)
    xavier_init(gen.decoder_blocks)
