"""Noisy-label data: a clean test set, a small clean meta set and a disjoint noisy training set."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from methodzoo.famus.config import TrainConfig
from methodzoo.famus.noise import NoisyLabels, corrupt_labels
from methodzoo.shared.data import DATASETS, LabeledImages
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import make_generator


@dataclass(frozen=True)
class NoisyLabelData:
    """Float images ``(N, C, H, W)`` normalised with the training mean/std, and int64 labels.

    ``train_clean_labels`` are kept only to report the noise; training never reads them.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    train_clean_labels: torch.Tensor
    meta_images: torch.Tensor
    meta_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    num_classes: int
    noise: NoisyLabels

    def to(self, device: torch.device | str) -> NoisyLabelData:
        return NoisyLabelData(
            train_images=self.train_images.to(device), train_labels=self.train_labels.to(device),
            train_clean_labels=self.train_clean_labels.to(device), meta_images=self.meta_images.to(device),
            meta_labels=self.meta_labels.to(device), test_images=self.test_images.to(device),
            test_labels=self.test_labels.to(device), num_classes=self.num_classes, noise=self.noise)


def _load(config: TrainConfig) -> tuple[LabeledImages, LabeledImages | None, int]:
    """(train pool, test split or None when the test set is carved from the pool, classes), by
    name from the core's ``DATASETS`` registry."""
    spec = DATASETS.get(config.dataset)
    if spec.offline:  # shipped whole inside a package (mnist-digits): no test split
        pool, test = spec.loader(), None
    else:
        pool = spec.loader(root=config.data_root, split="train")
        test = spec.loader(root=config.data_root, split="test")
    return pool, test, int(pool.labels.max()) + 1


def balanced_split(labels: torch.Tensor, per_class: int, num_classes: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of ``per_class`` random samples of every class, and of all the others."""
    chosen = []
    for c in range(num_classes):
        members = torch.nonzero(labels == c).squeeze(1)
        if members.numel() < per_class:
            raise ConfigError(f"class {c} has only {members.numel()} samples; cannot take {per_class} for the meta set")
        chosen.append(members[torch.randperm(members.numel(), generator=generator)[:per_class]])
    picked = torch.cat(chosen)
    mask = torch.ones(labels.numel(), dtype=torch.bool)
    mask[picked] = False
    return picked, torch.nonzero(mask).squeeze(1)


def prepare_noisy_data(config: TrainConfig) -> NoisyLabelData:
    """Split, corrupt and normalise the data of ``config`` (deterministic in ``config.seed``).

    The meta set has ``meta_size // classes`` clean samples per class and is disjoint from the
    noisy training set; on ``mnist-digits`` the test set is a held-out part of the 5,000 digits.
    """
    pool, test, classes = _load(config)
    generator = make_generator(config.seed)
    order = torch.randperm(len(pool), generator=generator)
    pool = pool.subset(order)
    if test is None:
        if config.test_size >= len(pool):
            raise ConfigError(f"test_size={config.test_size} leaves no training data out of {len(pool)} digits")
        test = pool.subset(torch.arange(config.test_size))
        pool = pool.subset(torch.arange(config.test_size, len(pool)))
    else:
        test = test.subset(torch.randperm(len(test), generator=generator)[: config.test_size])
    per_class = config.meta_size // classes
    if per_class < 1:
        raise ConfigError(f"meta_size={config.meta_size} is below one sample per class ({classes} classes)")
    meta_index, rest = balanced_split(pool.labels, per_class, classes, generator)
    if config.train_size is not None:
        if config.train_size > rest.numel():
            raise ConfigError(f"train_size={config.train_size} exceeds the {rest.numel()} samples left after the meta set")
        rest = rest[: config.train_size]
    meta, train = pool.subset(meta_index), pool.subset(rest)
    noise = corrupt_labels(train.labels, classes, config.rate, config.noise, generator=generator)
    train_x = train.as_float()  # (N, C, H, W)
    mean = train_x.mean(dim=(0, 2, 3), keepdim=True)  # (1, C, 1, 1)
    std = train_x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)

    def normalise(images: LabeledImages) -> torch.Tensor:
        return (images.as_float() - mean) / std

    return NoisyLabelData(normalise(train), noise.labels, train.labels, normalise(meta), meta.labels,
                          normalise(test), test.labels, classes, noise)
