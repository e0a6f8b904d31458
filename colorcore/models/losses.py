"""The paper's losses, one function each, plus the optional GAN losses (lsgan, wgan-gp, bce).

Paper preset (DESIGN.md section 3):
    L_D = mean D(fake) - mean D(real)
    L_G = L1(rgb) + 0.5 * (-mean D(fake)) + 0.5 * L1(s_hat*y_hat, s*y) + 0.05 * L1(e_hat*y_hat, e*y)
Saliency/edge maps are in [0, 1]; images in [-1, 1].
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

GAN_LOSSES = ("paper", "lsgan", "wgan-gp", "bce")


def l1_loss(fake: Tensor, real: Tensor) -> Tensor:
    """Mean absolute error."""
    return (fake - real).abs().mean()


def weighted_map_l1(map_fake: Tensor, rgb_fake: Tensor, map_real: Tensor, rgb_real: Tensor) -> Tensor:
    """L1(map_fake * rgb_fake, map_real * rgb_real): the paper's saliency and edge terms."""
    return l1_loss(map_fake * rgb_fake, map_real * rgb_real)


def map_to_unit(t: Tensor) -> Tensor:
    """A tanh map channel in [-1, 1] brought to [0, 1]."""
    return (t + 1.0) * 0.5


def paper_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """mean D(fake) - mean D(real) on sigmoid outputs."""
    return d_fake.mean() - d_real.mean()


def paper_g_adv(d_fake: Tensor) -> Tensor:
    """-mean D(fake) on sigmoid outputs."""
    return -d_fake.mean()


def lsgan_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Least squares on logits: 0.5 * (E[(D(real)-1)^2] + E[D(fake)^2])."""
    return 0.5 * ((d_real - 1).pow(2).mean() + d_fake.pow(2).mean())


def lsgan_g_adv(d_fake: Tensor) -> Tensor:
    """Least squares on logits: 0.5 * E[(D(fake)-1)^2]."""
    return 0.5 * (d_fake - 1).pow(2).mean()


def bce_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Binary cross-entropy on logits (real -> 1, fake -> 0)."""
    return F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real)) + \
        F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))


def bce_g_adv(d_fake: Tensor) -> Tensor:
    """Non-saturating generator loss on logits."""
    return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))


def wgan_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Wasserstein critic loss on logits (the gradient penalty is added separately)."""
    return d_fake.mean() - d_real.mean()


def wgan_g_adv(d_fake: Tensor) -> Tensor:
    """Wasserstein generator loss on logits."""
    return -d_fake.mean()


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP: E[(||grad critic(x_hat)||_2 - 1)^2] on random interpolates of real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    score = critic(x_hat)
    (grad,) = torch.autograd.grad(score.sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


# name -> (uses logits, D loss, G adversarial term)
GAN_LOSS_TABLE: dict[str, tuple[bool, Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]]] = {
    "paper": (False, paper_d_loss, paper_g_adv),
    "lsgan": (True, lsgan_d_loss, lsgan_g_adv),
    "bce": (True, bce_d_loss, bce_g_adv),
    "wgan-gp": (True, wgan_d_loss, wgan_g_adv),
}
WGAN_GP_WEIGHT = 10.0


def gan_loss_fns(name: str) -> tuple[bool, Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]]:
    """(uses_logits, d_loss, g_adv) for a GAN loss name; a clear error for unknown names."""
    try:
        return GAN_LOSS_TABLE[name]
    except KeyError:
        raise ValueError(f"unknown GAN loss {name!r}; choose one of {', '.join(GAN_LOSSES)}") from None


def paper_generator_terms(
    rgb_fake: Tensor, sal_fake: Tensor, edge_fake: Tensor, rgb_real: Tensor, sal_real: Tensor, edge_real: Tensor
) -> dict[str, Tensor]:
    """The three reconstruction terms of L_G (unweighted): l1, sal, edge."""
    return {
        "l1": l1_loss(rgb_fake, rgb_real),
        "sal": weighted_map_l1(sal_fake, rgb_fake, sal_real, rgb_real),
        "edge": weighted_map_l1(edge_fake, rgb_fake, edge_real, rgb_real),
    }
