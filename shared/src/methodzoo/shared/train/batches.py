"""Random mini-batches that depend only on (seed, step), so a resumed run draws the same ones."""

from __future__ import annotations

import torch

from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import make_generator


class EpochBatches:
    """Shuffled batches without replacement within an epoch, a fresh permutation each epoch.

    ``batch(step)`` is a pure function of ``(seed, step)``: no hidden iterator state to save,
    which makes resuming exact by construction. The last partial batch of an epoch is dropped.
    """

    def __init__(self, num_items: int, batch_size: int, seed: int = 0) -> None:
        if num_items < 1:
            raise ConfigError("cannot draw batches from an empty dataset")
        if not 1 <= batch_size <= num_items:
            raise ConfigError(f"batch_size must be in [1, {num_items}] for {num_items} items, got {batch_size}")
        self.num_items = num_items
        self.batch_size = batch_size
        self.seed = seed
        self.batches_per_epoch = num_items // batch_size
        self._cached_epoch = -1
        self._permutation = torch.empty(0, dtype=torch.long)

    def epoch_of(self, step: int) -> int:
        return step // self.batches_per_epoch

    def batch(self, step: int) -> torch.Tensor:
        """Indices of the batch used at optimisation step ``step`` (0-based)."""
        epoch = self.epoch_of(step)
        if epoch != self._cached_epoch:
            generator = make_generator(self.seed * 1_000_003 + epoch)
            self._permutation = torch.randperm(self.num_items, generator=generator)
            self._cached_epoch = epoch
        start = (step % self.batches_per_epoch) * self.batch_size
        return self._permutation[start : start + self.batch_size]
