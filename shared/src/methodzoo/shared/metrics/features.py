"""A Fréchet distance on the features of a digit classifier.

Inception-based FID needs weights downloaded at run time, which this project never does. This
module holds the metric: the classifier's architecture (:class:`DigitFeatureNet`) and the
Fréchet distance of its penultimate features, given an extractor. The extractor trained here on
the offline MNIST digits (deterministic, a few seconds on a CPU, cached as safetensors) lives
above the training code, in :mod:`methodzoo.shared.digit_classifier`, which also offers
``digit_frechet_distance(a, b)``. The numbers are comparable with each other, not with
published FIDs.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from methodzoo.shared.errors import UserError
from methodzoo.shared.metrics.distributions import frechet_distance


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


@torch.no_grad()
def classifier_frechet_distance(images_a: torch.Tensor, images_b: torch.Tensor, extractor: DigitFeatureNet,
                                batch_size: int = 500) -> float:
    """Fréchet distance between ``extractor``'s features of two image sets (28×28 digits, uint8
    0..255 or float in [0, 1]). The trained, cached extractor is
    :func:`methodzoo.shared.digit_classifier.digit_feature_extractor`.

    >>> net = DigitFeatureNet().eval()
    >>> a = torch.zeros(8, 28, 28, dtype=torch.uint8)
    >>> classifier_frechet_distance(a, a, net) < 1e-6
    True
    """
    feats = [torch.cat([extractor.features(chunk) for chunk in images.split(batch_size)])
             for images in (images_a, images_b)]
    return frechet_distance(feats[0], feats[1])
