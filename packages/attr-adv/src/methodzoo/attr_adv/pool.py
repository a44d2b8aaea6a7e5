"""The augmentation pool of the released AGAT code: perturbed examples that accumulate.

After ``epochs_pre`` clean epochs, and then every ``aug_freq`` epochs, a random
``aug_percentage`` of the training set is perturbed by the inner maximisation (in batches of
``aug_batch_size``, against the model of that moment) and appended; training then draws its
batches from the clean set and the whole pool together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from methodzoo.attr_adv.config import TrainConfig


def pool_epochs(config: TrainConfig) -> list[int]:
    """The epochs (0-based) at whose start a pool slice is generated."""
    return list(range(config.epochs_pre, config.epochs, config.aug_freq))


def slice_size(config: TrainConfig, num_train: int) -> int:
    """Examples added per slice: ``aug_percentage`` of the training set, at least one."""
    return max(1, math.floor(config.aug_percentage * num_train + 0.5))


@dataclass
class SliceRecord:
    """What one pool slice held: when, how many, and where the attributes ended (normalised units)."""

    epoch: int
    size: int
    attribute_mean_abs: list[float] = field(default_factory=list)  # per attribute, mean |a|
    at_bound_fraction: list[float] = field(default_factory=list)  # per attribute, share at a bound of A
    objective_start: float | None = None  # mean J per image before / after the search (AGAT)
    objective_end: float | None = None


class AugmentationPool:
    """Perturbed images and their labels, grown slice by slice."""

    def __init__(self) -> None:
        self._images: list[torch.Tensor] = []
        self._labels: list[torch.Tensor] = []
        self._cache: tuple[torch.Tensor, torch.Tensor] | None = None
        self.slices: list[SliceRecord] = []

    def __len__(self) -> int:
        return sum(len(labels) for labels in self._labels)

    def add(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self._images.append(images.detach())
        self._labels.append(labels.detach())
        self._cache = None

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All pooled images ``(P, C, H, W)`` and labels ``(P,)`` (empty tensors when empty)."""
        if not self._labels:
            raise ValueError("the pool is empty")
        if self._cache is None:
            self._cache = (torch.cat(self._images), torch.cat(self._labels))
        return self._cache


__all__ = ["AugmentationPool", "SliceRecord", "pool_epochs", "slice_size"]
