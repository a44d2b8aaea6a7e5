"""The digit classifier behind the classifier-feature Fréchet distance, trained here and cached.

:class:`~methodzoo.shared.metrics.features.DigitFeatureNet` is trained on 4,500 of the offline MNIST
digits (deterministic, a few seconds on a CPU) the first time it is needed and cached as
safetensors under ``$XDG_CACHE_HOME/methodzoo/features``. It sits above the training code in the
core's layering (primitives → metrics → data → train → this), so the metric itself stays free of
data and training.
"""

from __future__ import annotations

from functools import cache

import torch
from torch.nn import functional as F

from methodzoo.shared.data.offline import mnist_digits
from methodzoo.shared.data.root import cache_dir
from methodzoo.shared.metrics.features import DigitFeatureNet, classifier_frechet_distance
from methodzoo.shared.seed import seeded
from methodzoo.shared.train.batches import EpochBatches
from methodzoo.shared.train.checkpoint import CheckpointError, load_weights, save_weights

_WEIGHTS_VERSION = "digitnet-v1"


def train_digit_classifier(epochs: int = 4, seed: int = 0) -> DigitFeatureNet:
    """Train :class:`DigitFeatureNet` on 4,500 offline MNIST digits (deterministic).

    Callers often sit inside ``torch.no_grad()`` or ``torch.inference_mode()`` (an evaluation
    that finds the cache empty): training switches both off for its own duration.
    """
    with torch.inference_mode(False), torch.enable_grad():
        return _train_digit_classifier(epochs, seed)


def _train_digit_classifier(epochs: int, seed: int) -> DigitFeatureNet:
    data = mnist_digits()
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(data), generator=generator)
    train = data.subset(order[:4500])
    with seeded(seed):
        model = DigitFeatureNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    batches = EpochBatches(len(train), 64, seed=seed)
    for step in range(epochs * batches.batches_per_epoch):
        index = batches.batch(step)
        loss = F.cross_entropy(model(train.images[index]), train.labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@cache
def digit_feature_extractor() -> DigitFeatureNet:
    """The trained feature network, from the cache or trained now (then cached)."""
    path = cache_dir("features") / f"{_WEIGHTS_VERSION}.safetensors"
    model = DigitFeatureNet()
    if path.exists():
        try:
            load_weights(path, model)
            return model.eval()
        except CheckpointError:
            path.unlink(missing_ok=True)  # a stale or damaged cache entry: retrain
    model = train_digit_classifier()
    save_weights(path, model, metadata={"version": _WEIGHTS_VERSION})
    return model


def digit_frechet_distance(images_a: torch.Tensor, images_b: torch.Tensor, batch_size: int = 500) -> float:
    """:func:`~methodzoo.shared.metrics.features.classifier_frechet_distance` with the trained,
    cached digit classifier (28×28 digits, uint8 0..255 or float in [0, 1])."""
    return classifier_frechet_distance(images_a, images_b, digit_feature_extractor(), batch_size)


__all__ = ["digit_feature_extractor", "digit_frechet_distance", "train_digit_classifier"]
