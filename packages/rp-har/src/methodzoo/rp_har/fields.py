"""Gramian angular and Markov transition fields (Wang & Oates 2015), batched in torch, for
comparison with the recurrence plots. Without resizing they equal ``pyts``'s
``GramianAngularField`` and ``MarkovTransitionField`` (quantile bins) at full size.
"""

from __future__ import annotations

from typing import Any

import torch

from methodzoo.rp_har.config import GafMethod
from methodzoo.rp_har.series import as_batch, restore
from methodzoo.shared.errors import UserError


def rescale(x: torch.Tensor, low: float = -1.0, high: float = 1.0) -> torch.Tensor:
    """Each row of ``(B, T)`` min–max scaled to [low, high] as scikit-learn's ``MinMaxScaler``
    (``x·s + (low − min·s)``, ``s = (high − low)/(max − min)``); a constant row becomes ``low``."""
    minimum = x.amin(dim=-1, keepdim=True)
    span = x.amax(dim=-1, keepdim=True) - minimum
    scale = (high - low) / torch.where(span > 0, span, torch.ones_like(span))
    return x * scale + (low - minimum * scale)


def gramian_angular_field(x: Any, method: GafMethod = "summation", *,
                          dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """GASF ``cos(φ_i + φ_j)`` or GADF ``sin(φ_i − φ_j)`` with ``cos φ`` the series scaled to
    [−1, 1]: ``(T,)``, ``(N, T)`` or ``(N, C, T)`` → ``(…, T, T)``.

    >>> gramian_angular_field([0.0, 1.0]).tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    batch, lead = as_batch(x, dtype)
    cosine = rescale(batch)  # (B, T)
    sine = (1 - cosine**2).clamp_(0, 1).sqrt_()
    if method == "summation":
        images = cosine[:, :, None] * cosine[:, None, :] - sine[:, :, None] * sine[:, None, :]
    elif method == "difference":
        images = sine[:, :, None] * cosine[:, None, :] - cosine[:, :, None] * sine[:, None, :]
    else:
        raise UserError(f"unknown GAF method {method!r}; valid: summation, difference")
    return restore(images, lead)


def quantile_bins(x: torch.Tensor, n_bins: int) -> torch.Tensor:
    """Bin index in 0 … n_bins − 1 of every value of ``(B, T)``, the edges being each row's
    quantiles k/n_bins (linear interpolation, as NumPy), values on an edge going to the lower bin."""
    levels = torch.linspace(0, 1, n_bins + 1, dtype=x.dtype, device=x.device)[1:-1]
    edges = torch.quantile(x, levels, dim=-1).T.contiguous()  # (B, n_bins − 1)
    return torch.searchsorted(edges, x.contiguous(), side="left")  # (B, T)


def markov_transition_field(x: Any, n_bins: int = 8, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``M_ij = W[q(x_i), q(x_j)]``, W the row-normalised matrix of transitions between the
    quantile bins of consecutive samples: ``(T,)``, ``(N, T)`` or ``(N, C, T)`` → ``(…, T, T)``.
    """
    if not 2 <= n_bins <= 256:
        raise UserError(f"n_bins must be in 2..256, got {n_bins}")
    batch, lead = as_batch(x, dtype)
    if batch.shape[-1] < 2:
        raise UserError("a Markov transition field needs series of at least 2 samples")
    bins = quantile_bins(batch, n_bins)  # (B, T)
    transitions = bins[:, :-1] * n_bins + bins[:, 1:]  # (B, T − 1): index of (from, to)
    counts = torch.zeros(batch.shape[0], n_bins * n_bins, dtype=batch.dtype, device=batch.device)
    counts.scatter_add_(1, transitions, torch.ones_like(transitions, dtype=batch.dtype))
    counts = counts.view(-1, n_bins, n_bins)
    totals = counts.sum(dim=2, keepdim=True)
    matrix = counts / torch.where(totals > 0, totals, torch.ones_like(totals))  # (B, n, n)
    pairs = bins[:, :, None] * n_bins + bins[:, None, :]  # (B, T, T)
    images = matrix.flatten(1).gather(1, pairs.flatten(1)).view(pairs.shape)
    return restore(images, lead)


__all__ = ["gramian_angular_field", "markov_transition_field", "quantile_bins", "rescale"]
