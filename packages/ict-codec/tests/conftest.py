"""Shared fixtures: a briefly trained tiny ICT and held-out photo crops (real offline photos)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from methodzoo.ict_codec import CodecConfig, TrainConfig, build_model, fit
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
    """A tiny ICT trained for a few steps so its rates are those of a fitted (not random) model."""
    torch.manual_seed(0)
    model = build_model(CodecConfig.tiny("ict"))
    config = TrainConfig(lmbda=0.01, loss_form="compressai", steps=40, batch_size=3, patch_size=64, lr=3e-3,
                         checkpoint_every=0)
    history = fit(model, train_photos, config, progress=False)
    model.history = history  # type: ignore[attr-defined]
    return model.eval()
