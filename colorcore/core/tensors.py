"""Conversions between stored uint8 images and the tensors the models see.

Storage (prepared datasets, GUI, files): RGB uint8 (H, W, 3), edge uint8 in {0, 255}, saliency
uint8 in 0..255. Models: gray input (B, 3, S, S) in [-1, 1] (BT.601 luma stacked three times), RGB
(B, 3, S, S) in [-1, 1], maps (B, 1, S, S) in [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from colorcore.data.imageio import LUMA_FIXED_WEIGHTS, LUMA_SHIFT

__all__ = ["gray_input", "gray_input_from_luma", "batch_from_uint8", "to_uint8_images", "maps_to_uint8",
           "image_grid"]


def gray_input(rgb_u8: Tensor) -> Tensor:
    """(B, S, S, 3) uint8 RGB tensor -> (B, 3, S, S) float gray input in [-1, 1]: the luma of
    `colorcore.data.imageio.luma`, bit for bit, computed on the tensor's device (float32 holds the
    fixed-point sums exactly: below 2**24)."""
    x = rgb_u8[..., :3].permute(0, 3, 1, 2).float()
    w = torch.tensor(LUMA_FIXED_WEIGHTS, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    y = torch.floor(((x * w).sum(dim=1, keepdim=True) + 2 ** (LUMA_SHIFT - 1)) / 2**LUMA_SHIFT)
    return (y / 127.5 - 1.0).expand(-1, 3, -1, -1).contiguous()


def gray_input_from_luma(luma_u8_array: np.ndarray) -> Tensor:
    """(H, W) or (B, H, W) uint8 luma array -> (B, 3, H, W) float gray input in [-1, 1]."""
    y = torch.from_numpy(np.ascontiguousarray(luma_u8_array)).float()
    if y.ndim == 2:
        y = y[None]
    return (y[:, None] / 127.5 - 1.0).expand(-1, 3, -1, -1).contiguous()


def batch_from_uint8(rgb_u8: Tensor, edge_u8: Tensor, saliency_u8: Tensor) -> dict[str, Tensor]:
    """Model batch (`colorcore.models.base.Batch`) from stored uint8 tensors (already on the target device).

    rgb_u8 (B, S, S, 3), edge_u8 (B, S, S) in {0, 255}, saliency_u8 (B, S, S) in 0..255.
    """
    rgb = rgb_u8.permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return {
        "gray": gray_input(rgb_u8),
        "rgb": rgb.contiguous(),
        "edge": (edge_u8.float() / 255.0)[:, None],
        "saliency": (saliency_u8.float() / 255.0)[:, None],
    }


def to_uint8_images(t: Tensor) -> np.ndarray:
    """(B, C, H, W) tensor in [-1, 1] -> (B, H, W, C) uint8 numpy array (C = 1 or 3)."""
    x = ((t.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def maps_to_uint8(t: Tensor) -> np.ndarray:
    """(B, 1, H, W) map in [0, 1] -> (B, H, W) uint8."""
    return (t.detach().float().clamp(0, 1) * 255.0).round().to(torch.uint8)[:, 0].cpu().numpy()


def image_grid(rows: list[np.ndarray], pad: int = 2) -> np.ndarray:
    """Stack equally sized (N, H, W, 3) uint8 image rows into one grid image with white padding."""
    n, h, w, _ = rows[0].shape
    grid = np.full((len(rows) * (h + pad) + pad, n * (w + pad) + pad, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c in range(n):
            y, x = pad + r * (h + pad), pad + c * (w + pad)
            grid[y:y + h, x:x + w] = row[c]
    return grid
