"""The paper's patch discriminator: six convs with LeakyReLU(0.2), sigmoid, 14x14 output at 64 px."""

from __future__ import annotations

import torch
from torch import Tensor, nn

NEG_SLOPE = 0.2
# (kernel, stride, padding) of the six convs: 64 -> 32 -> 16 -> 16 -> 16 -> 15 -> 14
LAYOUT = ((4, 2, 1), (4, 2, 1), (3, 1, 1), (3, 1, 1), (4, 1, 1), (4, 1, 1))


class PatchDiscriminator(nn.Module):
    """D(rgb, gray): concat(RGB, 3-channel gray) -> (B, 1, 14, 14) probabilities at 64 px.

    `forward(..., logits=True)` returns the pre-sigmoid scores (for the bce/lsgan/wgan-gp options).
    """

    def __init__(self, width: int = 64, in_channels: int = 6) -> None:
        super().__init__()
        chans = [in_channels, width, width * 2, width * 4, width * 8, width * 8, 1]
        layers: list[nn.Module] = []
        for k, (kernel, stride, pad) in enumerate(LAYOUT):
            layers.append(nn.Conv2d(chans[k], chans[k + 1], kernel, stride, pad))
            if k < len(LAYOUT) - 1:
                layers.append(nn.LeakyReLU(NEG_SLOPE, inplace=True))
        self.net = nn.Sequential(*layers)

    def forward(self, rgb: Tensor, gray: Tensor, logits: bool = False) -> Tensor:
        score = self.net(torch.cat([rgb, gray], dim=1))
        return score if logits else torch.sigmoid(score)
