"""Recurrence plots: the plain one and Lu & Tong's modified (trend-aware) ones, batched in torch.

Plain (Eckmann et al. 1987, unthresholded): ``R_ij = ‖s_i − s_j‖₂`` over the delay-embedded
states ``s_i = (x_i, x_{i+τ}, …, x_{i+(m−1)τ})``. It is symmetric, zero on the diagonal, and
blind to the sign and offset of the signal, so it cannot tell an upward trend from a downward
one ("tendency confusion", Lu & Tong 2019). The modified plots weight each distance by an angle:

* ``state_angle_exp`` (Lu & Tong's released code): ``exp(a(b − cos∠(s_i, e₁)))·‖s_i − s_j‖``
  with ``e₁ = (1, 0, …)``, ``a = 5``, ``b = 1.1``; the weight depends on row ``i`` only.
* ``diff_angle_sign`` (their paper's description, our reading): the sign of the difference
  vector's projection on the diagonal ``b = (1, …, 1)/√m`` (uphill +, downhill −) times the
  distance: ``sign(⟨s_i − s_j, b⟩)·‖s_i − s_j‖``, antisymmetric.
* ``diff_angle_exp``: the code's exponential weight on the difference angle,
  ``exp(a(b − cos∠(s_i − s_j, b)))·‖s_i − s_j‖``.
"""

from __future__ import annotations

from typing import Any

import torch

from methodzoo.rp_har.chunks import rows_per_chunk, run_in_chunks
from methodzoo.rp_har.config import TrendWeight
from methodzoo.rp_har.series import as_batch, delay_embedding, restore
from methodzoo.shared.errors import UserError

Threshold = float | str | None


def state_distances(states: torch.Tensor) -> torch.Tensor:
    """``‖s_i − s_j‖₂`` for states ``(B, T', m)`` → ``(B, T', T')``.

    Direct differences, never the Gram-matrix shortcut ‖a‖² + ‖b‖² − 2⟨a, b⟩, so the diagonal
    is exactly zero. Float64 is the reference path: m = 1 and m = 2 agree bit for bit with a
    naive loop (and pyts), larger m to a unit in the last place. Float32 builds the plots a few
    at a time (:mod:`.chunks`), so the temporaries stay in cache and only the output touches
    main memory.
    """
    if states.dtype == torch.float32:
        return _chunked_distances(states)
    if states.shape[-1] == 1:
        values = states[..., 0]  # (B, T')
        return (values[:, :, None] - values[:, None, :]).abs_()
    return torch.cdist(states, states, p=2.0, compute_mode="donot_use_mm_for_euclid_dist")


def _chunked_distances(states: torch.Tensor) -> torch.Tensor:
    batch, count, dimension = states.shape
    coordinates = [states[..., k].contiguous() for k in range(dimension)]  # m × (B, T')
    out = states.new_empty(batch, count, count)

    def work(start: int, stop: int) -> None:
        chunk = out[start:stop]  # (b, T', T'), written in place
        first = coordinates[0][start:stop]
        torch.sub(first[:, :, None], first[:, None, :], out=chunk)
        if dimension == 1:
            chunk.abs_()
            return
        chunk.square_()
        difference = torch.empty_like(chunk)
        for k in range(1, dimension):
            values = coordinates[k][start:stop]
            torch.sub(values[:, :, None], values[:, None, :], out=difference)
            chunk.addcmul_(difference, difference)
        chunk.sqrt_()

    run_in_chunks(batch, rows_per_chunk(count * count, states.device), work)
    return out


def _percentile(flat: torch.Tensor, percentage: float) -> torch.Tensor:
    """NumPy's default (linear) percentile of each row of ``flat`` ``(B, n)``."""
    position = percentage / 100.0 * (flat.shape[1] - 1)
    low = int(position)
    high = min(low + 1, flat.shape[1] - 1)
    lower = flat.kthvalue(low + 1, dim=1).values
    upper = flat.kthvalue(high + 1, dim=1).values if high != low else lower
    return torch.lerp(lower, upper, torch.full_like(lower, position - low))


def _binarize(distances: torch.Tensor, threshold: Threshold, percentage: float) -> torch.Tensor:
    """pyts's thresholds: ``R_ij = 1[d_ij < ε]`` with ε a number, the ``percentage``-th
    percentile of each plot (``'point'``) or ``percentage`` % of its maximum (``'distance'``)."""
    if threshold is None:
        return distances
    if isinstance(threshold, str):
        if not 0 <= percentage <= 100:
            raise UserError(f"percentage must be in [0, 100], got {percentage}")
        if threshold == "point":
            epsilon = _percentile(distances.flatten(1), percentage)
        elif threshold == "distance":
            epsilon = percentage / 100.0 * distances.flatten(1).amax(dim=1)
        else:
            raise UserError(f"threshold must be None, a positive number, 'point' or 'distance', got {threshold!r}")
        return (distances < epsilon[:, None, None]).to(distances.dtype)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold <= 0:
        raise UserError(f"threshold must be None, a positive number, 'point' or 'distance', got {threshold!r}")
    return (distances < threshold).to(distances.dtype)


def recurrence_plot(x: Any, dimension: int = 1, time_delay: int = 1, *, threshold: Threshold = None,
                    percentage: float = 10.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The recurrence plot of each series: ``(T,)``, ``(N, T)`` or ``(N, C, T)`` →
    ``(…, T', T')`` with ``T' = T − (m − 1)τ``, on the input's device.

    Parameters follow ``pyts.image.RecurrencePlot``: ``dimension`` m, ``time_delay`` τ,
    ``threshold`` (None: the distances themselves), ``percentage``. With ``dtype=torch.float64``
    the output equals pyts's pixel for pixel.

    >>> recurrence_plot([0.0, 1.0, 3.0]).tolist()
    [[0.0, 1.0, 3.0], [1.0, 0.0, 2.0], [3.0, 2.0, 0.0]]
    """
    batch, lead = as_batch(x, dtype)
    distances = state_distances(delay_embedding(batch, dimension, time_delay))
    return restore(_binarize(distances, threshold, percentage), lead)


def apply_trend_weight(states: torch.Tensor, distances: torch.Tensor, trend_weight: TrendWeight,
                    weight_scale: float, weight_offset: float) -> torch.Tensor:
    """Apply a modified-RP weight to ``distances`` ``(B, T', T')`` in place and return it."""
    if trend_weight == "none":
        return distances
    dimension = states.shape[-1]
    if trend_weight == "state_angle_exp":
        norms = states.norm(dim=-1)  # (B, T')
        # A state at the origin has no angle: its cosine counts as 0 (a right angle).
        cosine = torch.where(norms > 0, states[..., 0] / norms.clamp_min(torch.finfo(states.dtype).tiny),
                             torch.zeros_like(norms))
        weight = torch.exp(weight_scale * (weight_offset - cosine))  # (B, T'): one weight per row i
        return distances.mul_(weight[:, :, None])
    # ⟨s_i − s_j, b⟩ with b = 1/√m is the difference of the state sums over √m.
    totals = states.sum(dim=-1) / dimension ** 0.5  # (B, T')
    projection = totals[:, :, None] - totals[:, None, :]  # (B, T', T')
    if trend_weight == "diff_angle_sign":
        return distances.mul_(projection.sign_())
    if trend_weight == "diff_angle_exp":
        cosine = projection.div_(distances.clamp_min(torch.finfo(states.dtype).tiny)).clamp_(-1.0, 1.0)
        weight = cosine.neg_().add_(weight_offset).mul_(weight_scale).exp_()
        return distances.mul_(weight)
    raise UserError(f"unknown trend_weight {trend_weight!r}; valid: none, state_angle_exp, "
                    "diff_angle_sign, diff_angle_exp")


def modified_recurrence_plot(x: Any, dimension: int = 2, time_delay: int = 1, *,
                             trend_weight: TrendWeight = "diff_angle_sign", weight_scale: float = 5.0,
                             weight_offset: float = 1.1, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Lu & Tong's modified recurrence plot (see the module docstring for the three readings):
    ``(T,)``, ``(N, T)`` or ``(N, C, T)`` → ``(…, T', T')``.

    >>> modified_recurrence_plot([0.0, 1.0, 2.0], dimension=1).tolist()
    [[0.0, -1.0, -2.0], [1.0, 0.0, -1.0], [2.0, 1.0, 0.0]]
    """
    batch, lead = as_batch(x, dtype)
    states = delay_embedding(batch, dimension, time_delay)
    images = apply_trend_weight(states, state_distances(states), trend_weight, weight_scale, weight_offset)
    return restore(images, lead)


__all__ = ["apply_trend_weight", "modified_recurrence_plot", "recurrence_plot", "state_distances"]
