"""Sparse projections: the construction's dense ``nn.Linear`` weights are mostly zero (identity
blocks, one-hot selections, per-head permutations), so each output channel reads only a few input
channels. :class:`SparseProjection` keeps exactly those nonzero weights (trainable) and gathers
their inputs instead of multiplying by the dense matrix; the linear attentions compute only the
block of rows and keys their mask allows. The outputs are the same sums, possibly in a different
order (equal to float64 round-off, tested)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SparseProjection(nn.Module):
    """``y_r = sum_m x[index[r, m]] * values[r, m] + bias_r``, from a dense ``nn.Linear`` whose rows
    have at most ``m`` nonzero weights (rows are padded with zero weights on input 0)."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach()
        nonzero = weight != 0
        width = max(1, int(nonzero.sum(1).max()))
        # stable sort puts each row's nonzero columns first, in increasing column order
        order = torch.sort(nonzero.to(torch.int8), dim=1, descending=True, stable=True).indices[:, :width]
        kept = torch.gather(nonzero, 1, order)
        self.register_buffer("index", torch.where(kept, order, torch.zeros_like(order)))
        self.values = nn.Parameter(torch.where(kept, torch.gather(weight, 1, order), torch.zeros_like(order, dtype=weight.dtype)))
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone())
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: Tensor) -> Tensor:
        if self.values.shape[1] == 1:
            y = x.index_select(-1, self.index[:, 0]) * self.values[:, 0]  # (..., out)
        else:
            y = (x[..., self.index] * self.values).sum(-1)  # (..., out, m) -> (..., out)
        return y if self.bias is None else y + self.bias


def max_nonzeros_per_row(linear: nn.Linear) -> int:
    return int((linear.weight != 0).sum(1).max())


def sparsify_projections(module: nn.Module) -> int:
    """Replace, inside ``module``, every ``nn.Linear`` whose rows have at most a quarter of their
    inputs nonzero by a :class:`SparseProjection`, and let every linear-attention
    :class:`~methodzoo.tint.modules.TinTAttention` compute only its mask's block; returns how many
    projections were replaced."""
    from methodzoo.tint.modules import TinTAttention

    replaced = 0
    for attention in module.modules():
        if isinstance(attention, TinTAttention):
            attention.block_sparse = True
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear) and 4 * max_nonzeros_per_row(child) <= child.in_features:
                setattr(parent, name, SparseProjection(child))
                replaced += 1
    return replaced
