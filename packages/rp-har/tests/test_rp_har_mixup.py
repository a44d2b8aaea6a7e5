"""Mixup and the flip/crop augmentation: label mass, the α → 0 and λ-mean properties, the
mixing formula, shapes and reproducibility."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from methodzoo.rp_har.augment import random_resized_crop_flip
from methodzoo.rp_har.mixup import mixup, sample_mixup_lambda
from methodzoo.shared.errors import ConfigError


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(16, 3, 8, 8, generator=generator), F.one_hot(torch.randint(0, 5, (16,), generator=generator), 5).float()


@pytest.mark.parametrize("take_max", [False, True])
def test_mixed_labels_sum_to_one_and_follow_the_formula(take_max):
    images, targets = _batch()
    mixed, soft, lam = mixup(images, targets, 0.4, torch.Generator().manual_seed(1), take_max=take_max)
    torch.testing.assert_close(soft.sum(dim=1), torch.ones(16))
    assert 0.0 < lam < 1.0 and (not take_max or lam >= 0.5)
    replay = torch.Generator().manual_seed(1)
    torch.rand((), generator=replay, dtype=torch.float64)  # the λ draw
    order = torch.randperm(16, generator=replay)  # then the partners
    torch.testing.assert_close(mixed, lam * images + (1 - lam) * images[order])
    torch.testing.assert_close(soft, lam * targets + (1 - lam) * targets[order])


def test_alpha_to_zero_with_the_max_option_is_the_identity():
    images, targets = _batch()
    generator = torch.Generator().manual_seed(2)
    for _ in range(20):
        mixed, soft, lam = mixup(images, targets, 1e-4, generator, take_max=True)
        assert lam == pytest.approx(1.0, abs=1e-6)
        torch.testing.assert_close(mixed, images, atol=1e-5, rtol=0)
        torch.testing.assert_close(soft, targets, atol=1e-5, rtol=0)
    same, same_targets, lam = mixup(images, targets, 0.0, generator)
    assert lam == 1.0 and same is images and same_targets is targets


def test_lambda_has_mean_one_half_and_at_least_one_half_with_the_max():
    generator = torch.Generator().manual_seed(3)
    draws = torch.tensor([sample_mixup_lambda(0.4, generator) for _ in range(4000)])
    # Beta(0.4, 0.4) has variance 1/(4(2·0.4 + 1)) ≈ 0.139; 5 standard errors of the mean
    assert abs(float(draws.mean()) - 0.5) < 5 * (0.139 / 4000) ** 0.5
    maxed = torch.tensor([sample_mixup_lambda(0.4, generator, take_max=True) for _ in range(500)])
    assert bool((maxed >= 0.5).all())
    assert sample_mixup_lambda(0.4, torch.Generator().manual_seed(9)) == sample_mixup_lambda(0.4, torch.Generator().manual_seed(9))


def test_negative_alpha_and_mismatched_targets_are_errors():
    images, targets = _batch()
    with pytest.raises(ConfigError):
        sample_mixup_lambda(-1.0, torch.Generator())
    with pytest.raises(ConfigError, match="targets"):
        mixup(images, targets[:3], 0.4, torch.Generator())


def test_crop_flip_keeps_shape_is_seeded_and_a_full_crop_flip_mirrors():
    images, _ = _batch()
    first = random_resized_crop_flip(images, torch.Generator().manual_seed(4))
    assert first.shape == images.shape
    assert torch.equal(first, random_resized_crop_flip(images, torch.Generator().manual_seed(4)))
    mirrored = random_resized_crop_flip(images, torch.Generator().manual_seed(5), scale=(1.0, 1.0), ratio=(1.0, 1.0),
                                        flip_probability=1.0)
    torch.testing.assert_close(mirrored, images.flip(-1), atol=1e-5, rtol=0)
    unchanged = random_resized_crop_flip(images, torch.Generator().manual_seed(5), scale=(1.0, 1.0), ratio=(1.0, 1.0),
                                         flip_probability=0.0)
    torch.testing.assert_close(unchanged, images, atol=1e-5, rtol=0)
