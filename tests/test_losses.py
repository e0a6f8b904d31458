"""Each loss term against values computed by hand on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch

from colorcore.models import losses


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_l1_is_the_mean_absolute_difference() -> None:
    # |1-0| + |-1-1| + |0.5-0.25| + |0-0| = 1 + 2 + 0.25 + 0 = 3.25 over 4
    assert losses.l1_loss(t(1, -1, 0.5, 0), t(0, 1, 0.25, 0)).item() == pytest.approx(0.8125)


def test_weighted_map_l1_multiplies_maps_into_images_first() -> None:
    # fake: [1*0.5, 0*-1] = [0.5, 0]; real: [0.5*1, 1*-1] = [0.5, -1]; |0| + |1| over 2
    value = losses.weighted_map_l1(t(1, 0), t(0.5, -1), t(0.5, 1), t(1, -1))
    assert value.item() == pytest.approx(0.5)


def test_map_to_unit_maps_tanh_range_to_zero_one() -> None:
    assert losses.map_to_unit(t(-1, 0, 1)).tolist() == [0.0, 0.5, 1.0]


def test_paper_discriminator_and_generator_adversarial_terms() -> None:
    d_real, d_fake = t(0.9, 0.7), t(0.2, 0.4)
    assert losses.paper_d_loss(d_real, d_fake).item() == pytest.approx(0.3 - 0.8)
    assert losses.paper_g_adv(d_fake).item() == pytest.approx(-0.3)


def test_lsgan_terms() -> None:
    # D: 0.5 * (mean((2-1)^2, (0-1)^2) + mean(1^2, 3^2)) = 0.5 * (1 + 5) = 3
    assert losses.lsgan_d_loss(t(2, 0), t(1, 3)).item() == pytest.approx(3.0)
    # G: 0.5 * mean((1-1)^2, (3-1)^2) = 0.5 * 2 = 1
    assert losses.lsgan_g_adv(t(1, 3)).item() == pytest.approx(1.0)


def test_bce_terms_on_logits() -> None:
    # logit 0 -> p 0.5: -log(0.5) for both real and fake
    assert losses.bce_d_loss(t(0.0), t(0.0)).item() == pytest.approx(2 * math.log(2))
    assert losses.bce_g_adv(t(0.0)).item() == pytest.approx(math.log(2))
    # logit x for "real": log(1 + exp(-x))
    assert losses.bce_g_adv(t(2.0)).item() == pytest.approx(math.log1p(math.exp(-2.0)))


def test_wgan_terms() -> None:
    assert losses.wgan_d_loss(t(3, 1), t(0, -2)).item() == pytest.approx(-1 - 2)
    assert losses.wgan_g_adv(t(0, -2)).item() == pytest.approx(1.0)


def test_gradient_penalty_of_a_linear_critic_is_known() -> None:
    # critic(x) = sum(w * x): its gradient is w everywhere, ||w|| = 5 -> (5 - 1)^2 = 16
    w = torch.tensor([3.0, 4.0], dtype=torch.float64).view(1, 2, 1, 1)
    real = torch.randn(4, 2, 1, 1, dtype=torch.float64)
    fake = torch.randn(4, 2, 1, 1, dtype=torch.float64)
    gp = losses.gradient_penalty(lambda x: (x * w).flatten(1).sum(1), real, fake)
    assert gp.item() == pytest.approx(16.0)


def test_paper_generator_terms_by_hand() -> None:
    shape = (1, 3, 1, 2)
    rgb_fake = torch.tensor([0.5, -0.5, 0.0, 1.0, -1.0, 0.5]).view(shape)
    rgb_real = torch.zeros(shape)
    sal_fake, sal_real = torch.full((1, 1, 1, 2), 0.5), torch.ones(1, 1, 1, 2)
    edge_fake, edge_real = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2), torch.zeros(1, 1, 1, 2)
    terms = losses.paper_generator_terms(rgb_fake, sal_fake, edge_fake, rgb_real, sal_real, edge_real)
    abs_sum = 0.5 + 0.5 + 0 + 1 + 1 + 0.5  # 3.5 over 6 values
    assert terms["l1"].item() == pytest.approx(3.5 / 6)
    assert terms["sal"].item() == pytest.approx(0.5 * 3.5 / 6)  # real side is 1 * 0
    # edge 1 on the first pixel of each channel: |0.5| + |0| + |-1| = 1.5 over 6
    assert terms["edge"].item() == pytest.approx(1.5 / 6)


def test_gan_loss_table_and_unknown_name() -> None:
    assert set(losses.GAN_LOSS_TABLE) == set(losses.GAN_LOSSES)
    assert losses.gan_loss_fns("paper")[0] is False  # paper works on sigmoid outputs
    with pytest.raises(ValueError, match="unknown GAN loss 'hinge'"):
        losses.gan_loss_fns("hinge")
