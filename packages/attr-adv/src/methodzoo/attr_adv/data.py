"""Training and test images: real MNIST digits offline (digits-RTS / digits-C), CIFAR-10 from a folder.

The digits are the 5,000 real MNIST digits of ``methodzoo.shared.data`` (sorted by class, so
they are shuffled with a seeded generator before the split). digits-RTS and digits-C differ in
the attribute space and the evaluation grid (:mod:`~methodzoo.attr_adv.evaluation`), not in
the images: both train on canonical digits and test on shifted ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import make_generator


@dataclass
class SplitData:
    """Float images in [0, 1] ``(N, C, H, W)`` with int64 labels, train and test."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    num_classes: int
    name: str

    @property
    def channels(self) -> int:
        return int(self.train_images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[-1])


def digits_split(train_size: int | None = None, test_size: int = 1000, seed: int = 0,
                 name: str = "digits") -> SplitData:
    """Real MNIST digits (5,000, offline), shuffled with ``seed`` and split into train and test."""
    from methodzoo.shared.data import load_dataset

    digits = load_dataset("mnist-digits")
    total = len(digits)
    train_size = total - test_size if train_size is None else train_size
    if test_size + train_size > total:
        raise ConfigError(f"train_size + test_size must be <= {total} digits, got {train_size} + {test_size}")
    order = torch.randperm(total, generator=make_generator(seed))
    images, labels = digits.as_float(), digits.labels
    test, train = order[:test_size], order[test_size:test_size + train_size]
    return SplitData(images[train], labels[train], images[test], labels[test], 10, name)


def cifar10_split(root: str | None = None, train_size: int | None = None, test_size: int = 10_000,
                  seed: int = 0) -> SplitData:
    """CIFAR-10 from its python batches under ``root`` (see ``methodzoo.shared.data.load_cifar``)."""
    from methodzoo.shared.data import load_cifar

    train, test = load_cifar(root, "train"), load_cifar(root, "test")
    generator = make_generator(seed)
    if train_size is not None and train_size < len(train):
        train = train.subset(torch.randperm(len(train), generator=generator)[:train_size])
    if test_size < len(test):
        test = test.subset(torch.randperm(len(test), generator=generator)[:test_size])
    return SplitData(train.as_float(), train.labels, test.as_float(), test.labels, 10, "cifar10")


def random_crop_flip(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """The standard CIFAR augmentation of TTT's code: zero-pad, random crop, random horizontal flip."""
    n, _, height, width = images.shape
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    tops = torch.randint(0, 2 * padding + 1, (n,), generator=generator).tolist()
    lefts = torch.randint(0, 2 * padding + 1, (n,), generator=generator).tolist()
    flips = (torch.rand(n, generator=generator) < 0.5).tolist()
    crops = []
    for i in range(n):
        crop = padded[i, :, tops[i]:tops[i] + height, lefts[i]:lefts[i] + width]
        crops.append(crop.flip(-1) if flips[i] else crop)
    return torch.stack(crops)


__all__ = ["SplitData", "cifar10_split", "digits_split", "random_crop_flip"]
