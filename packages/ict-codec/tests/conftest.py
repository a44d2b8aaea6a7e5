"""Shared fixtures: a briefly trained tiny ICT and held-out photo crops (real offline photos)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from methodzoo.ict_codec import (
    CodecConfig,
    RandomCrops,
    TrainConfig,
    build_model,
    fit,
    rate_distortion_loss,
)
from methodzoo.shared.data import offline_photos

TEST_PHOTOS = ("astronaut", "coffee")


@pytest.fixture(scope="session")
def train_photos() -> list[np.ndarray]:
    return [p.image for p in offline_photos(["rocket", "grace_hopper", "flower", "immunohistochemistry"])]


@pytest.fixture(scope="session")
def test_crops() -> list[tuple[str, np.ndarray]]:
    """Held-out photos, cropped to odd sizes (not multiples of 64) to exercise padding."""
    return [(p.name, np.ascontiguousarray(p.image[40:233, 17:262])) for p in offline_photos(list(TEST_PHOTOS))]


@pytest.fixture(scope="session")
def trained_ict(train_photos: list[np.ndarray]) -> torch.nn.Module:
    """A tiny ICT trained for a few steps so its rates are those of a fitted (not random) model.

    ``model.fixed_batch_loss`` holds the eval-mode loss on one fixed batch of crops before and
    after training (comparing noisy training losses of different crops would be fragile).
    """
    torch.manual_seed(0)
    model = build_model(CodecConfig.tiny("ict"))
    config = TrainConfig(lmbda=0.01, loss_form="compressai", steps=40, batch_size=3, patch_size=64, lr=2e-3,
                         checkpoint_every=0)
    fixed = RandomCrops(train_photos, 64).batch(6, torch.Generator().manual_seed(123))
    before = _eval_loss(model, fixed, config.lmbda)
    history = fit(model, train_photos, config, progress=False)
    model.history = history  # type: ignore[attr-defined]
    model.fixed_batch_loss = (before, _eval_loss(model, fixed, config.lmbda))  # type: ignore[attr-defined]
    return model.eval()


def _eval_loss(model: torch.nn.Module, batch: torch.Tensor, lmbda: float) -> float:
    model.eval()
    with torch.no_grad():
        loss = rate_distortion_loss(model(batch), batch, lmbda, "compressai")["loss"]
    model.train()
    return float(loss)
