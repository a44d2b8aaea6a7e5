"""Exact k-nearest-neighbour search (Euclidean) without an N×N matrix.

For each row ``x[i]`` find the ``k`` other rows closest in Euclidean distance. The search runs in
row blocks × column blocks, so memory is O(block² + N·k): N = 20,000 points in 100 dimensions
never builds the 20,000 × 20,000 distance matrix.

Tie rule (deterministic, the same on every path): neighbours are ordered by
``(distance, index)``, so among equal distances the LOWER index wins, both for which points
make the top k and for their order. The point itself is never its own neighbour
(``exclude_self=True``), even when duplicates sit at distance 0. Distances are computed as
``‖a‖² + ‖b‖² − 2 a·b`` (clamped at 0) in the input's dtype; two distances that are equal in
exact arithmetic are equal here whenever that expansion is exact (e.g. small integer data), and
float64 input makes near-ties resolve as in exact arithmetic far more often than float32.

* :func:`knn_reference`: plain torch, blocked over rows; the definition of the result;
* :func:`knn_triton`: a fused Triton kernel (distance tile + running top-k in registers);
* :func:`knn`: the dispatcher (Triton on CUDA tensors, the reference elsewhere).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from methodzoo.shared.errors import UserError
from methodzoo.shared.kernels import use_triton


class KnnResult(NamedTuple):
    """``distances`` (N, k) Euclidean, ascending per row; ``indices`` (N, k) int64 neighbours."""

    distances: torch.Tensor
    indices: torch.Tensor


def _check(x: torch.Tensor, k: int, exclude_self: bool) -> None:
    if x.ndim != 2:
        raise UserError(f"knn expects a 2-D (points, features) tensor, got shape {tuple(x.shape)}")
    if not torch.is_floating_point(x):
        raise UserError(f"knn expects a floating-point tensor, got {x.dtype}")
    available = x.shape[0] - (1 if exclude_self else 0)
    if not 1 <= k <= available:
        raise UserError(f"k must be in [1, {available}] for {x.shape[0]} points, got {k}")


def _sort_by_distance_then_index(dist: torch.Tensor, idx: torch.Tensor) -> KnnResult:
    """Order each row's candidates by (distance, index): sort by index, then stable by distance."""
    idx, order = torch.sort(idx, dim=1)
    dist = torch.gather(dist, 1, order)
    dist, order = torch.sort(dist, dim=1, stable=True)
    idx = torch.gather(idx, 1, order)
    return KnnResult(dist, idx)


def _block_top_k(dist: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact top-k smallest of each row of ``dist`` (B, M) under the (distance, index) order.

    ``torch.topk`` does not promise which of several equal values it returns, so it only finds
    the k-th smallest value; every entry ≤ that value is a candidate (usually exactly k), and the
    candidates are ordered by (distance, column) explicitly.
    """
    kth = torch.topk(dist, k, dim=1, largest=False, sorted=True).values[:, -1:]  # (B, 1)
    rows, cols = torch.nonzero(dist <= kth, as_tuple=True)  # row-major: cols ascend within a row
    values = dist[rows, cols]
    order = torch.sort(values, stable=True).indices
    order = order[torch.sort(rows[order], stable=True).indices]  # by row, then distance, then col
    rows, cols, values = rows[order], cols[order], values[order]
    counts = torch.bincount(rows, minlength=dist.shape[0])
    starts = torch.cumsum(counts, 0) - counts
    take = starts[:, None] + torch.arange(k, device=dist.device)[None, :]  # (B, k)
    return values[take], cols[take]


def knn_reference(x: torch.Tensor, k: int, *, exclude_self: bool = True,
                  block_rows: int = 1024) -> KnnResult:
    """k nearest neighbours of every row of ``x`` (N, d); plain torch, ``block_rows`` rows at a time.

    Memory is O(block_rows · N) for the distance block, never N × N. See the module docstring for
    the tie rule.
    """
    _check(x, k, exclude_self)
    n = x.shape[0]
    squared_norms = (x * x).sum(dim=1)  # (N,)
    out_dist = torch.empty((n, k), dtype=x.dtype, device=x.device)
    out_idx = torch.empty((n, k), dtype=torch.int64, device=x.device)
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        block = x[start:stop]  # (B, d)
        dist = squared_norms[start:stop, None] + squared_norms[None, :] - 2.0 * (block @ x.T)  # (B, N)
        dist.clamp_(min=0.0)
        if exclude_self:
            local = torch.arange(stop - start, device=x.device)
            dist[local, local + start] = float("inf")
        values, cols = _block_top_k(dist, k)
        out_dist[start:stop] = values.sqrt()
        out_idx[start:stop] = cols
    return KnnResult(out_dist, out_idx)


def _kernel() -> Any:
    """Build the Triton kernel lazily (importing Triton is slow and needs the package)."""
    import triton
    import triton.language as tl

    @triton.jit
    def knn_kernel(x_ptr, norms_ptr, out_dist_ptr, out_idx_ptr, n, d, stride_x,
                   K: tl.constexpr, K_PAD: tl.constexpr, EXCLUDE_SELF: tl.constexpr,
                   BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
        pid = tl.program_id(0)
        rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)  # (BLOCK_M,)
        row_ok = rows < n
        row_norm = tl.load(norms_ptr + rows, mask=row_ok, other=0.0)
        slots = tl.arange(0, K_PAD)  # (K_PAD,)
        big_index = 2147483647
        inf = float("inf")
        # Running top-k per row: (BLOCK_M, K_PAD). The K live slots start at (+inf, big_index);
        # the padding slots (K ≤ slot < K_PAD) hold -inf so they are never the worst, never replaced.
        best_d = tl.where(slots[None, :] < K, tl.full((BLOCK_M, K_PAD), inf, tl.float32), -inf)
        best_i = tl.full((BLOCK_M, K_PAD), big_index, tl.int32)
        for col_start in range(0, n, BLOCK_N):
            cols = col_start + tl.arange(0, BLOCK_N)  # (BLOCK_N,)
            col_ok = cols < n
            dot = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
            for d_start in range(0, d, BLOCK_D):
                feats = d_start + tl.arange(0, BLOCK_D)
                feat_ok = feats < d
                a = tl.load(x_ptr + rows[:, None] * stride_x + feats[None, :],
                            mask=row_ok[:, None] & feat_ok[None, :], other=0.0)  # (BLOCK_M, BLOCK_D)
                b = tl.load(x_ptr + cols[:, None] * stride_x + feats[None, :],
                            mask=col_ok[:, None] & feat_ok[None, :], other=0.0)  # (BLOCK_N, BLOCK_D)
                dot += tl.dot(a, tl.trans(b), input_precision="ieee")
            col_norm = tl.load(norms_ptr + cols, mask=col_ok, other=0.0)
            dist = row_norm[:, None] + col_norm[None, :] - 2.0 * dot
            dist = tl.maximum(dist, 0.0)
            invalid = (cols[None, :] >= n) | (rows[:, None] < 0)
            if EXCLUDE_SELF:
                invalid = invalid | (cols[None, :] == rows[:, None])
            dist = tl.where(invalid, inf, dist)
            # K rounds of "take this tile's best (distance, index) and insert it if it beats the
            # current worst slot"; a taken entry is set to +inf so the next round sees the next one.
            for _ in tl.static_range(K):
                cand_d = tl.min(dist, axis=1)  # (BLOCK_M,)
                cand_i = tl.min(tl.where(dist == cand_d[:, None], cols[None, :], big_index), axis=1)
                worst_d = tl.max(best_d, axis=1)
                worst_i = tl.max(tl.where(best_d == worst_d[:, None], best_i, -1), axis=1)
                worst_slot = tl.max(tl.where((best_d == worst_d[:, None]) & (best_i == worst_i[:, None]),
                                             slots[None, :], -1), axis=1)
                better = (cand_d < inf) & ((cand_d < worst_d) | ((cand_d == worst_d) & (cand_i < worst_i)))
                replace = better[:, None] & (slots[None, :] == worst_slot[:, None])
                best_d = tl.where(replace, cand_d[:, None], best_d)
                best_i = tl.where(replace, cand_i[:, None], best_i)
                dist = tl.where(cols[None, :] == cand_i[:, None], inf, dist)
        out_mask = row_ok[:, None] & (slots[None, :] < K)
        offsets = rows[:, None] * K + slots[None, :]
        tl.store(out_dist_ptr + offsets, best_d, mask=out_mask)
        tl.store(out_idx_ptr + offsets, best_i, mask=out_mask)

    return knn_kernel


_KERNEL: Any = None


def knn_triton(x: torch.Tensor, k: int, *, exclude_self: bool = True, block_m: int = 32,
               block_n: int = 64, block_d: int = 32) -> KnnResult:
    """The fused Triton kernel: one program per ``block_m`` rows streams over column tiles,
    computing a distance tile with ``tl.dot`` and merging it into a running top-k kept in
    registers. Computes in float32; same result and tie rule as :func:`knn_reference`.
    """
    global _KERNEL
    _check(x, k, exclude_self)
    if k > 128:
        raise UserError(f"the Triton knn kernel supports k ≤ 128, got {k}; use knn_reference")
    if _KERNEL is None:
        _KERNEL = _kernel()
    x32 = x.to(torch.float32).contiguous()
    n, d = x32.shape
    norms = (x32 * x32).sum(dim=1).contiguous()  # (N,)
    out_dist = torch.empty((n, k), dtype=torch.float32, device=x.device)
    out_idx = torch.empty((n, k), dtype=torch.int32, device=x.device)
    k_pad = max(16, 1 << (k - 1).bit_length())
    grid = ((n + block_m - 1) // block_m,)
    _KERNEL[grid](x32, norms, out_dist, out_idx, n, d, x32.stride(0), K=k, K_PAD=k_pad,
                  EXCLUDE_SELF=exclude_self, BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_D=block_d)
    dist, idx = _sort_by_distance_then_index(out_dist, out_idx.to(torch.int64))
    return KnnResult(dist.sqrt().to(x.dtype), idx)


def knn(x: torch.Tensor, k: int, *, exclude_self: bool = True, block_rows: int = 1024) -> KnnResult:
    """k nearest neighbours (Euclidean) of every row of ``x`` (N, d), in blocks.

    Dispatches to :func:`knn_triton` when :func:`~methodzoo.shared.kernels.use_triton` says so
    (CUDA tensors with Triton installed), else to :func:`knn_reference`. Returns
    :class:`KnnResult` ``(distances, indices)``, each (N, k), ascending in (distance, index).
    """
    if use_triton(x.device) and k <= 128:
        return knn_triton(x, k, exclude_self=exclude_self)
    return knn_reference(x, k, exclude_self=exclude_self, block_rows=block_rows)


__all__ = ["KnnResult", "knn", "knn_reference", "knn_triton"]
