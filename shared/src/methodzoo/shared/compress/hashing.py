"""HashedNets (Chen et al. 2015): a linear layer whose ``m×n`` virtual weights share ``K``
real parameters through a hash, ``V_ij = ξ(i, j) · w_{h(i, j)}`` with ``h`` into ``0…K−1`` and
a sign hash ``ξ ∈ {±1}``.

The hashes are recomputed from ``(i, j, seed)`` (a 32-bit integer mixing function), never stored,
so the layer keeps only ``K`` weights and its bias; the gradient of ``w_k`` is the sum of
``ξ · ∂L/∂V`` over the positions hashing to ``k``. Trained from scratch, as in the paper.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.shared.config import check

_MASK32 = 0xFFFFFFFF


def hash32(values: torch.Tensor, seed: int) -> torch.Tensor:
    """A 32-bit integer hash of int64 ``values`` (xor-shift-multiply rounds; multipliers below
    2^31 so every product fits in int64)."""
    x = (values ^ (seed * 0x27D4EB2F & _MASK32)) & _MASK32
    for _ in range(2):
        x = ((x >> 16) ^ x) * 0x45D9F3B & _MASK32
    return (x >> 16) ^ x


class HashedLinear(nn.Module):
    """``nn.Linear(in_features, out_features)`` with its weight matrix hashed into ``buckets`` values."""

    bucket_index: torch.Tensor
    sign: torch.Tensor

    def __init__(self, in_features: int, out_features: int, buckets: int, bias: bool = True, seed: int = 0) -> None:
        super().__init__()
        check(1 <= buckets <= in_features * out_features, "buckets must be in 1..{}, got {}",
              in_features * out_features, buckets)
        self.in_features, self.out_features, self.buckets, self.seed = in_features, out_features, buckets, seed
        bound = 1.0 / math.sqrt(in_features)  # nn.Linear's initial scale for the virtual weights
        self.weight = nn.Parameter(torch.empty(buckets).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound)) if bias else None
        positions = torch.arange(out_features * in_features, dtype=torch.int64).view(out_features, in_features)
        # Recomputed from the seed, so not part of the state dict.
        self.register_buffer("bucket_index", hash32(positions, seed) % buckets, persistent=False)
        self.register_buffer("sign", 1.0 - 2.0 * (hash32(positions, seed + 1) & 1).float(), persistent=False)

    def virtual_weight(self) -> torch.Tensor:
        """The ``(out_features, in_features)`` matrix ``ξ · w[h]``."""
        return self.sign * self.weight[self.bucket_index]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.virtual_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, buckets={self.buckets}"
