"""Micro-batches: the pieces one optimizer step's global batch is cut into.

With gradient accumulation (``TrainerOptions.accumulation = A``) and ``W`` processes, every
optimizer step averages the gradients of ``count = W·A`` micro-batches; process ``r`` computes
those with ``index`` in ``[r·A, (r + 1)·A)``. A loss function that derives everything random
about a micro-batch from ``(step, index)`` — which rows of the global batch it takes
(:meth:`MicroBatch.select`) and the noise it draws (:meth:`MicroBatch.generator`) — gives the
same step however the micro-batches are spread over processes: ``torchrun --nproc-per-node 2``
with ``A = 1`` reproduces one process with ``A = 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from methodzoo.shared.errors import ConfigError


@dataclass(frozen=True)
class MicroBatch:
    """Micro-batch ``index`` of ``count`` at optimizer step ``step`` (all 0-based)."""

    step: int
    index: int
    count: int

    def select(self, items: torch.Tensor) -> torch.Tensor:
        """This micro-batch's share of a global batch: every ``count``-th row from ``index``.

        The global batch must split evenly, so that the mean of the micro-batch losses is the
        global batch's mean loss.
        """
        if len(items) % self.count:
            raise ConfigError(f"a batch of {len(items)} does not split into {self.count} equal micro-batches "
                              "(processes × accumulation); choose a batch size divisible by it")
        return items[self.index :: self.count]

    def size(self, global_batch_size: int) -> int:
        """Rows per micro-batch for a global batch of ``global_batch_size`` (which must split evenly)."""
        if global_batch_size % self.count:
            raise ConfigError(f"batch size {global_batch_size} does not split into {self.count} equal "
                              "micro-batches (processes × accumulation); choose a divisible batch size")
        return global_batch_size // self.count

    def seed(self, stream: int) -> int:
        """A seed that depends only on ``(stream, step, index)``; ``stream`` tells draws apart."""
        return derive_seed(stream, self.step, self.index)

    def generator(self, stream: int, device: str | torch.device = "cpu") -> torch.Generator:
        """A fresh generator seeded with :meth:`seed`, for this micro-batch's random draws."""
        return torch.Generator(device=device).manual_seed(self.seed(stream))


def derive_seed(*keys: int) -> int:
    """A well-mixed seed in ``[0, 2**63)`` from non-negative integer keys (NumPy's SeedSequence)."""
    state = np.random.SeedSequence([int(k) for k in keys]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])
