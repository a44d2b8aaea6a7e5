"""The frequency-domain angular-difference image (rp-har's addition; a reconstruction).

The paper only says it computes "the Fourier transform of two temporal phases within their time
window", the phase of each frequency component, and "the angle between a base vector and the
phase difference vector". Our reading, every choice a parameter:

1. a window ``w_i`` per state: the ``span`` samples centred on state ``s_i`` (edges repeated),
   or the state itself (``span = 0``, the literal reading);
2. its phases ``Φ_i = angle(FFT(w_i))`` over the chosen bins (K of them);
3. ``Δφ_ij = wrap(Φ_i − Φ_j)`` into (−π, π];
4. ``θ_ij = arccos(⟨b, Δφ_ij⟩ / (‖b‖·‖Δφ_ij‖))`` with ``b = (1, …, 1)/√K``, and θ = 0 where
   Δφ = 0.

Pitfalls the defaults avoid: for real input the full FFT's bins come in conjugate pairs whose
phases are opposite, so their contributions to ``⟨b, Δφ⟩`` cancel and only DC and Nyquist
remain (``bins="positive"`` keeps bins 1 … ⌈L/2⌉ − 1); and a window of length 2 (m = 2, span 0)
has only real bins, whose phases are 0 or π.

Properties (tested): θ ∈ [0, π]; θ_ji = π − θ_ij, so cos θ is antisymmetric; negating the
signal shifts every phase by π, which cancels in Δφ, so the image is invariant to negation and
(without DC) to adding a constant.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from methodzoo.rp_har.chunks import rows_per_chunk, run_in_chunks
from methodzoo.rp_har.config import FrequencyBins
from methodzoo.rp_har.series import as_batch, delay_embedding, restore, state_count
from methodzoo.shared.errors import UserError


def wrap_phase(phase: torch.Tensor) -> torch.Tensor:
    """Angles wrapped into (−π, π].

    >>> [round(v / math.pi, 6) for v in wrap_phase(torch.tensor([1.0, -1.0, 1.5, 0.25]) * math.pi).tolist()]
    [1.0, 1.0, -0.5, 0.25]
    """
    return math.pi - torch.remainder(math.pi - phase, 2 * math.pi)


def fft_windows(x: torch.Tensor, dimension: int, time_delay: int, span: int) -> torch.Tensor:
    """One window per state: ``(B, T)`` → ``(B, T', L)``.

    ``span = 0``: the states themselves (L = m). Otherwise ``span`` samples centred on the
    middle of each state, the series' first and last values repeated beyond its ends.
    """
    if span == 0:
        return delay_embedding(x, dimension, time_delay)
    states = state_count(x.shape[-1], dimension, time_delay)
    left, right = span // 2, span - span // 2
    # Replicate padding works on (batch, channel, length).
    padded = F.pad(x[:, None, :], (left, right), mode="replicate")[:, 0]  # (B, T + span)
    offset = ((dimension - 1) * time_delay) // 2
    return padded.unfold(-1, span, 1)[:, offset:offset + states]  # (B, T', span)


def window_phases(windows: torch.Tensor, bins: FrequencyBins) -> torch.Tensor:
    """Phases of the FFT of each window: ``(B, T', L)`` → ``(B, T', K)``."""
    length = windows.shape[-1]
    if bins == "full":
        return torch.angle(torch.fft.fft(windows, dim=-1))
    if bins != "positive":
        raise UserError(f"unknown fft_bins {bins!r}; valid: positive, full")
    count = (length - 1) // 2  # bins 1 .. ⌈L/2⌉ − 1: neither DC nor Nyquist is complex
    if count < 1:
        raise UserError(f"a window of length {length} has no complex FFT bin; use a span of at least 3")
    return torch.angle(torch.fft.rfft(windows, dim=-1)[..., 1:count + 1])


def phase_difference_angle(phases: torch.Tensor) -> torch.Tensor:
    """θ_ij between ``wrap(Φ_i − Φ_j)`` and ``(1, …, 1)``: phases ``(B, T', K)`` → ``(B, T', T')``
    in [0, π] (0 where the phases agree).

    Bins are visited one at a time with in-place arithmetic on a few plots at a time
    (:mod:`.chunks`), so the working buffers stay small whatever K and B.
    """
    batch, states, count = phases.shape
    theta = phases.new_empty(batch, states, states)

    def work(start: int, stop: int) -> None:
        chunk = phases[start:stop]  # (b, T', K)
        projection = theta[start:stop].zero_()  # Σ_k Δφ_k, written into the output
        squared_norm = torch.zeros_like(projection)  # Σ_k Δφ_k²
        difference = torch.empty_like(projection)
        for k in range(count):
            column = chunk[..., k]
            torch.sub(column[:, :, None], column[:, None, :], out=difference)
            # wrap into (−π, π]: π − ((π − Δ) mod 2π)
            difference.neg_().add_(math.pi).remainder_(2 * math.pi).neg_().add_(math.pi)
            projection.add_(difference)
            squared_norm.addcmul_(difference, difference)
        # cos θ = ⟨Δφ, 1⟩ / (√K·‖Δφ‖); θ = 0 where Δφ = 0 (the projection is 0 there too).
        norm = squared_norm.sqrt_().mul_(math.sqrt(count))
        zero = norm == 0
        projection.div_(norm.masked_fill_(zero, 1.0)).masked_fill_(zero, 1.0).clamp_(-1.0, 1.0).arccos_()

    run_in_chunks(batch, rows_per_chunk(states * states, phases.device), work)
    return theta


def fft_angle(x: Any, dimension: int = 2, time_delay: int = 1, *, span: int = 16,
              bins: FrequencyBins = "positive", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The angular-difference image θ ∈ [0, π]: ``(T,)``, ``(N, T)`` or ``(N, C, T)`` →
    ``(…, T', T')``, aligned with the recurrence plot of the same ``dimension`` and ``time_delay``.
    """
    if span != 0 and span < 3:
        raise UserError(f"span must be 0 (the states) or >= 3, got {span}")
    batch, lead = as_batch(x, dtype)
    phases = window_phases(fft_windows(batch, dimension, time_delay, span), bins)
    return restore(phase_difference_angle(phases), lead)


__all__ = ["fft_angle", "fft_windows", "phase_difference_angle", "window_phases", "wrap_phase"]
