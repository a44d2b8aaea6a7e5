"""Training data in model space: 2-D toys (fresh samples each step) or images scaled to [−1, 1].

Images come by name from the core's ``DATASETS`` registry (:mod:`methodzoo.shared.data`):
``mnist-digits`` (5,000 real MNIST digits, offline, the default), ``mnist`` / ``fashion-mnist`` (idx
files) and ``cifar10`` (python batches) from a local folder (``root`` or ``$METHODZOO_DATA``),
``sklearn-digits`` (8×8).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from methodzoo.cud.toy import TOY_DISTRIBUTIONS, ToyDistribution, toy_distribution
from methodzoo.shared.errors import ConfigError

IMAGE_DATASETS = ("mnist-digits", "mnist", "fashion-mnist", "cifar10", "sklearn-digits")


@dataclass
class TrainingData:
    """Either a toy distribution (``toy``) or a fixed tensor of images (``images``) in [−1, 1]."""

    name: str
    data_shape: tuple[int, ...]
    toy: ToyDistribution | None = None
    images: torch.Tensor | None = None  # (N, C, H, W) float in [−1, 1]

    @property
    def is_image(self) -> bool:
        return self.images is not None

    def draw(self, batch_size: int, step: int, generator: torch.Generator,
             batches: object | None = None) -> torch.Tensor:
        """A training batch: toy samples from ``generator``, or images at ``batches.batch(step)``."""
        if self.toy is not None:
            return self.toy.sample(batch_size, generator)
        assert self.images is not None and batches is not None
        return self.images[batches.batch(step)]  # type: ignore[attr-defined]

    def reference(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n samples of the data distribution (toys) or the first n images after a seeded shuffle."""
        if self.toy is not None:
            return self.toy.sample(n, generator)
        assert self.images is not None
        order = torch.randperm(len(self.images), generator=generator)[:n]
        return self.images[order]


def images_to_model(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W) or (N, C, H, W) → float (N, C, H, W) in [−1, 1]."""
    x = images.float() / 127.5 - 1.0
    return x.unsqueeze(1) if x.ndim == 3 else x


def model_to_images(x: torch.Tensor) -> torch.Tensor:
    """float (N, C, H, W) in [−1, 1] → uint8 (N, C, H, W), clamped."""
    return ((x.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)


def load_training_data(name: str, root: str | Path | None = None, limit: int | None = None) -> TrainingData:
    """The data set ``name``: a 2-D toy (8gaussians, gmm, checkerboard, moons) or an image set."""
    if name in TOY_DISTRIBUTIONS:
        return TrainingData(name, (2,), toy=toy_distribution(name))
    if name not in IMAGE_DATASETS:
        valid = ", ".join([*TOY_DISTRIBUTIONS.names(), *IMAGE_DATASETS])
        raise ConfigError(f"unknown data set {name!r}; valid: {valid}")
    from methodzoo.shared.data import DATASETS

    spec = DATASETS.get(name)
    # Offline sets ship whole inside a package; the others are read from the data root.
    loaded = spec.loader() if spec.offline else spec.loader(root=root, split="train")
    images = images_to_model(loaded.images)
    if limit is not None:
        # Some sources are sorted by class: a seeded shuffle keeps every class in the subset.
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
        images = images[order[:limit]]
    return TrainingData(name, tuple(images.shape[1:]), images=images)
