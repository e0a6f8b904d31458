"""Baseline 2 (paper section 6.2, [5]): Zhang et al., "Colorful Image Colorization" (ECCV 2016).

The network sees L (the Lab lightness of the gray input) and predicts, for every pixel, logits over
the 313 in-gamut ab bins (`colorcore.core.lab.ab_bins`). Five conv groups (2-3 convs each, ReLU, BatchNorm
after each group): groups 1-3 halve the size, group 4 keeps it and is followed by a x2 upsampling,
group 5 ends with a 1x1 conv to 313 logits, so the distribution comes out at a quarter of the input
size (as in Zhang et al.). Training: multinomial cross-entropy against soft-encoded targets (5 nearest
bins, Gaussian sigma 5) at that quarter size, each pixel weighted by class rebalancing; SGD with
Nesterov momentum 0.9, lr 0.01. Prediction: annealed mean (T 0.38) of the softmax -> ab, upsampled
bilinearly to the input size, joined with the input's L and converted to RGB in [-1, 1].

Class rebalancing uses the empirical prior of the training set, accumulated by the model from the
training batches it sees (hard counts of the target's nearest bin, in the `ab_counts` buffer of the
generator, so checkpoints and exported model files carry it; after one epoch it is the prior of the
whole training set). Weights: the prior smoothed with a Gaussian (sigma 5) over the bin centres, mixed
with the uniform distribution (lambda 0.5), inverted and normalised to expectation 1 under the smoothed
prior.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from colorcore.core.lab import N_AB_BINS, ab_bins, lab_to_rgb, rgb_to_lab
from colorcore.models.base import Batch, ColorModel, ModelConfig, StepContext, optimizer_step, register

SOFT_NEIGHBOURS = 5
SOFT_SIGMA = 5.0
PRIOR_SIGMA = 5.0
REBALANCE_LAMBDA = 0.5
ANNEAL_T = 0.38
SGD_MOMENTUM = 0.9
L_CENTRE = 50.0
L_SCALE = 50.0
OUTPUT_STRIDE = 4  # the distribution is predicted at a quarter of the input size
SIZE_MULTIPLE = 8  # three stride-2 groups
# (output channels as multiples of width, number of convs, stride of the last conv) per group 1..4
GROUP_LAYOUT = ((1, 2, 2), (2, 2, 2), (4, 3, 2), (8, 3, 1))
GROUP5_WIDTH = 4


def soft_encode(ab: Tensor, bins: Tensor, neighbours: int = SOFT_NEIGHBOURS, sigma: float = SOFT_SIGMA) -> Tensor:
    """(B, 2, H, W) ab -> (B, Q, H, W) soft targets: Gaussian weights on the nearest bins, summing to 1."""
    b, _, h, w = ab.shape
    points = ab.permute(0, 2, 3, 1).reshape(-1, 2).float()
    dist, idx = torch.cdist(points, bins.float()).topk(neighbours, dim=1, largest=False)
    weights = torch.exp(-dist.pow(2) / (2 * sigma**2))
    weights = weights / weights.sum(dim=1, keepdim=True)
    target = torch.zeros(points.shape[0], bins.shape[0], device=ab.device, dtype=torch.float32)
    target.scatter_(1, idx, weights)
    return target.reshape(b, h, w, -1).permute(0, 3, 1, 2)


def nearest_bin(ab: Tensor, bins: Tensor) -> Tensor:
    """(B, 2, H, W) ab -> (B, H, W) index of the nearest bin."""
    b, _, h, w = ab.shape
    points = ab.permute(0, 2, 3, 1).reshape(-1, 2).float()
    return torch.cdist(points, bins.float()).argmin(dim=1).reshape(b, h, w)


def batch_bin_counts(nearest: Tensor) -> Tensor:
    """(313,) float32 nearest-bin counts of a batch, summed over every process under DDP.

    The prior must be the training set's: DDP would otherwise overwrite each rank's `ab_counts`
    buffer with rank 0's at the next forward, so the prior would be rank 0's shard alone.
    """
    counts = torch.bincount(nearest.flatten(), minlength=N_AB_BINS).float()
    if torch.distributed.is_available() and torch.distributed.is_initialized() \
            and torch.distributed.get_world_size() > 1:
        torch.distributed.all_reduce(counts)
    return counts


def smoothed_prior(counts: Tensor, bins: Tensor, sigma: float = PRIOR_SIGMA) -> Tensor:
    """Empirical bin distribution from counts, smoothed by a Gaussian over the bin centres (sums to 1)."""
    dtype = torch.promote_types(counts.dtype, torch.float32)
    prior = counts.to(dtype) / counts.sum().clamp_min(1)
    centres = bins.to(dtype)
    kernel = torch.exp(-torch.cdist(centres, centres).pow(2) / (2 * sigma**2))
    smoothed = kernel @ prior
    return smoothed / smoothed.sum().clamp_min(torch.finfo(dtype).tiny)


def rebalance_weights(prior: Tensor, lam: float = REBALANCE_LAMBDA) -> Tensor:
    """w ∝ ((1 - lam) * prior + lam / Q)^-1, normalised so that sum(prior * w) = 1."""
    q = prior.numel()
    w = 1.0 / ((1.0 - lam) * prior + lam / q)
    return w / (prior * w).sum()


def annealed_mean(logits: Tensor, bins: Tensor, temperature: float = ANNEAL_T) -> Tensor:
    """(B, Q, H, W) logits -> (B, 2, H, W) ab: mean of softmax(logits / T) over the bin centres.

    softmax(log p / T) is the paper's f_T(z) = exp(log z / T) / sum exp(log z / T), p = softmax(logits).
    """
    probs = torch.softmax(logits.float() / temperature, dim=1)
    return torch.einsum("bqhw,qc->bchw", probs, bins.float())


def lightness_from_gray(gray: Tensor) -> Tensor:
    """(B, 3, H, W) gray input in [-1, 1] -> (B, 1, H, W) Lab L in [0, 100]."""
    return rgb_to_lab(((gray.float() + 1.0) * 0.5).clamp(0, 1))[:, :1]


def _conv_group(in_ch: int, out_ch: int, convs: int, stride: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k in range(convs):
        last = k == convs - 1
        layers += [nn.Conv2d(in_ch if k == 0 else out_ch, out_ch, 3, stride if last else 1, 1), nn.ReLU(inplace=True)]
    layers.append(nn.BatchNorm2d(out_ch))
    return nn.Sequential(*layers)


class ZhangNet(nn.Module):
    """L (B, 1, S, S) in [0, 100] -> logits (B, 313, S/4, S/4). Carries the bins and the prior counts."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        groups: list[nn.Module] = []
        in_ch = 1
        for mult, convs, stride in GROUP_LAYOUT:
            groups.append(_conv_group(in_ch, width * mult, convs, stride))
            in_ch = width * mult
        self.groups = nn.ModuleList(groups)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        g5 = width * GROUP5_WIDTH
        self.group5 = nn.Sequential(
            nn.Conv2d(in_ch, g5, 3, 1, 1), nn.ReLU(inplace=True),
            nn.Conv2d(g5, g5, 3, 1, 1), nn.ReLU(inplace=True),
            nn.BatchNorm2d(g5),
        )
        self.classifier = nn.Conv2d(g5, N_AB_BINS, 1)
        self.register_buffer("bins", ab_bins(), persistent=False)
        self.register_buffer("ab_counts", torch.zeros(N_AB_BINS))  # float32: MPS has no float64

    def forward(self, lightness: Tensor) -> Tensor:
        if lightness.shape[-1] % SIZE_MULTIPLE or lightness.shape[-2] % SIZE_MULTIPLE:
            raise ValueError(f"input size {tuple(lightness.shape[-2:])} must be a multiple of {SIZE_MULTIPLE}")
        h = (lightness - L_CENTRE) / L_SCALE
        for group in self.groups:
            h = group(h)
        return self.classifier(self.group5(self.upsample(h)))


@register
class ZhangColorization(ColorModel):
    """Zhang et al. classification colourisation over 313 ab bins (paper section 6.2)."""

    name: ClassVar[str] = "zhang"
    loss_names: ClassVar[tuple[str, ...]] = ("ce",)
    visual_names: ClassVar[tuple[str, ...]] = ("gray", "fake", "real")
    colour_space: ClassVar[str] = "lab"
    presets: ClassVar[dict[str, dict[str, float]]] = {
        # the paper (section 6.2): NAG, lr 0.01, 200 epochs
        "paper": {"lr_g": 0.01, "lr_warmup_steps": 0, "epochs": 200},
        "default": {"lr_g": 0.01, "lr_warmup_steps": 0, "epochs": 200},
    }

    def __init__(self, config: ModelConfig, pretrained: bool = True) -> None:
        super().__init__(config)
        if config.image_size % SIZE_MULTIPLE:
            raise ValueError(f"zhang needs an image size that is a multiple of {SIZE_MULTIPLE}, got {config.image_size}")
        self.generator = ZhangNet(config.width)

    def networks(self) -> dict[str, nn.Module]:
        return {"g": self.generator}

    def set_network(self, key: str, module: nn.Module) -> None:
        if key != "g":
            raise KeyError(key)
        self.generator = module

    def _net(self) -> ZhangNet:
        """The bare network (unwrapped from DDP if the Trainer wrapped it)."""
        return getattr(self.generator, "module", self.generator)

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        lr = self.hyperparameter("lr_g")
        return {"g": torch.optim.SGD(self.generator.parameters(), lr=lr, momentum=SGD_MOMENTUM, nesterov=True)}

    def class_weights(self) -> Tensor:
        """Current rebalancing weights (313,) from the prior accumulated so far."""
        net = self._net()
        return rebalance_weights(smoothed_prior(net.ab_counts, net.bins)).float()

    def training_step(
        self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer], ctx: StepContext
    ) -> dict[str, Tensor]:
        net = self._net()
        with torch.no_grad():
            lab = rgb_to_lab((batch["rgb"].float() + 1.0) * 0.5)
            ab_small = F.avg_pool2d(lab[:, 1:], OUTPUT_STRIDE)
            target = soft_encode(ab_small, net.bins)
            nearest = target.argmax(dim=1)
            net.ab_counts += batch_bin_counts(nearest)
            pixel_weight = self.class_weights()[nearest]
            lightness = lightness_from_gray(batch["gray"])
        with ctx.autocast():
            logits = self.generator(lightness)
        log_probs = torch.log_softmax(logits.float(), dim=1)
        loss = -((target * log_probs).sum(dim=1) * pixel_weight).mean()
        optimizer_step(loss, optimizers["g"], ctx.scaler)
        if ctx.scaler is not None:
            ctx.scaler.update()
        return {"ce": loss.detach()}

    @torch.no_grad()
    def predict(self, gray: Tensor) -> dict[str, Tensor]:
        lightness = lightness_from_gray(gray)
        ab = annealed_mean(self.generator(lightness), self._net().bins)
        ab = F.interpolate(ab, size=gray.shape[-2:], mode="bilinear", align_corners=False)
        rgb = lab_to_rgb(torch.cat([lightness, ab], dim=1))
        return {"rgb": rgb * 2.0 - 1.0}
