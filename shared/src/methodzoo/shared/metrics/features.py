"""A Fréchet distance on the features of a small digit classifier trained here.

Inception-based FID needs weights downloaded at run time, which this project never does. We
train a LeNet-style classifier on the offline MNIST digits instead (deterministic, a few seconds
on a CPU, cached as safetensors) and compute the Fréchet distance of its penultimate features.
The numbers are comparable with each other, not with published FIDs.
"""

from __future__ import annotations

from functools import cache

import torch
from torch import nn
from torch.nn import functional as F

from methodzoo.shared.errors import UserError
from methodzoo.shared.metrics.distributions import frechet_distance

_WEIGHTS_VERSION = "digitnet-v1"


class DigitFeatureNet(nn.Module):
    """LeNet-style classifier for 28×28 grey digits; :meth:`features` gives 128-d features."""

    def __init__(self, num_classes: int = 10, feature_dim: int = 128) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(64 * 7 * 7, feature_dim)
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = _as_batch(images)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (N, 32, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (N, 64, 7, 7)
        return F.relu(self.fc(x.flatten(1)))  # (N, feature_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def _as_batch(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, 28, 28)`` or float ``(N, 1, 28, 28)`` in [0, 1] → float ``(N, 1, 28, 28)``."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
        raise UserError(f"digit features need (N, 28, 28) or (N, 1, 28, 28) images, got {tuple(images.shape)}")
    return x


def train_digit_classifier(epochs: int = 4, seed: int = 0) -> DigitFeatureNet:
    """Train :class:`DigitFeatureNet` on 4,500 offline MNIST digits (deterministic).

    Callers often sit inside ``torch.no_grad()`` or ``torch.inference_mode()`` (an evaluation
    that finds the cache empty): training switches both off for its own duration.
    """
    with torch.inference_mode(False), torch.enable_grad():
        return _train_digit_classifier(epochs, seed)


def _train_digit_classifier(epochs: int, seed: int) -> DigitFeatureNet:
    from methodzoo.shared.data.offline import mnist_digits
    from methodzoo.shared.train.batches import EpochBatches

    data = mnist_digits()
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(data), generator=generator)
    train = data.subset(order[:4500])
    torch.manual_seed(seed)
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
    from methodzoo.shared.data.root import cache_dir
    from methodzoo.shared.train.checkpoint import CheckpointError, load_weights, save_weights

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


@torch.no_grad()
def classifier_frechet_distance(images_a: torch.Tensor, images_b: torch.Tensor,
                                extractor: DigitFeatureNet | None = None, batch_size: int = 500) -> float:
    """Fréchet distance between digit-classifier features of two image sets (28×28 digits,
    uint8 0..255 or float in [0, 1])."""
    net = extractor if extractor is not None else digit_feature_extractor()
    feats = [torch.cat([net.features(chunk) for chunk in images.split(batch_size)])
             for images in (images_a, images_b)]
    return frechet_distance(feats[0], feats[1])
