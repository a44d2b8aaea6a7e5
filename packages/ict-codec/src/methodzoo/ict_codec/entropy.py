"""Entropy models: the factorized density of the hyper-latent z and the Gaussian conditional of y.

* :class:`FactorizedDensity` — Ballé et al. (2018)'s non-parametric per-channel density (CompressAI's
  ``EntropyBottleneck``, tensorflow-compression's ``NoisyDeepFactorized``): a monotone MLP gives the
  cumulative ``c(z)``; the likelihood of a bin is ``c(z + ½) − c(z − ½)``.
* :class:`GaussianConditional` — ``p(ŷ | μ, σ) = Φ((ŷ−μ+½)/σ) − Φ((ŷ−μ−½)/σ)``, floored at
  ``likelihood_bound``, with σ taken from the scale table (64 levels, exp-spaced in [0.11, 256]):
  ``σ = exp(log 0.11 + σ_idx·(log 256 − log 0.11)/63)`` for a continuous index σ_idx.

For coding, both models are turned into fixed probability tables (float64, one row per z channel
and one per scale-table level) that live in buffers, so they are saved with the weights and the
encoder and decoder read the very same numbers: decoding is deterministic by construction.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.ict_codec.state_cache import cached_on_state


def scale_table(scale_min: float = 0.11, scale_max: float = 256.0, levels: int = 64) -> torch.Tensor:
    """The exp-spaced scale table (equals CompressAI ``get_scale_table(0.11, 256, 64)``)."""
    return torch.exp(torch.linspace(math.log(scale_min), math.log(scale_max), levels, dtype=torch.float64))


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Rounding with an identity gradient (straight-through estimator)."""
    return x + (torch.round(x) - x).detach()


def quantize_around_mean(y: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """ŷ = round(y − μ) + μ with ∂ŷ/∂y = 1 (the paper's decoder input)."""
    return round_ste(y - mu) + mu


class _BoundTowards(torch.autograd.Function):
    """clamp(x, lo, hi) whose gradient still flows where a descent step would move x back into range."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        # A descent step moves x by -grad: below lo that helps when grad < 0, above hi when grad > 0.
        passes = ((x >= ctx.lo) | (grad < 0)) & ((x <= ctx.hi) | (grad > 0))
        return grad * passes.to(grad.dtype), None, None


def bound_towards(x: torch.Tensor, lo: float, hi: float = math.inf) -> torch.Tensor:
    """``x.clamp(lo, hi)`` with tensorflow-compression's "identity if towards" gradient.

    A plain clamp has zero gradient outside ``[lo, hi]``, so an index predicted out of range can
    never be pulled back; the reference (``LocationScaleIndexedEntropyModel``, ``lower_bound`` /
    ``upper_bound`` with ``gradient="identity_if_towards"``) passes the gradient whenever following
    it moves the value back towards the range. Forward values equal the clamp exactly.
    """
    return _BoundTowards.apply(x, lo, hi)


def _standard_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x / math.sqrt(2.0))


class FactorizedDensity(nn.Module):
    """Per-channel non-parametric density of z (Ballé et al. 2018, App. 6.1)."""

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0,
                 tail_mass: float = 1e-9, likelihood_bound: float = 1e-9, support_limit: int = 512) -> None:
        super().__init__()
        self.channels = channels
        self.tail_mass = tail_mass
        self.likelihood_bound = likelihood_bound
        self.support_limit = support_limit
        widths = (1, *filters, 1)
        scale = init_scale ** (1.0 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1.0 / scale / widths[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, widths[i + 1], widths[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, widths[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, widths[i + 1], 1)))
        # Coding tables, rebuilt by update() when the density's parameters change.
        self.register_buffer("table_pmf", torch.zeros(channels, 2, dtype=torch.float64))
        self.register_buffer("table_offset", torch.zeros(channels, dtype=torch.int64))
        self.register_buffer("table_length", torch.zeros(channels, dtype=torch.int64))
        self.register_buffer("table_fingerprint", torch.zeros(1, dtype=torch.int64))

    def logits_cumulative(self, z: torch.Tensor) -> torch.Tensor:
        """The cumulative's logits at ``z`` of shape (C, 1, n)."""
        logits = z
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases, strict=True)):
            logits = torch.matmul(F.softplus(matrix), logits) + bias
            if i < len(self.factors):
                logits = logits + torch.tanh(self.factors[i]) * torch.tanh(logits)
        return logits

    def likelihood(self, z: torch.Tensor) -> torch.Tensor:
        """Bin likelihood of ``z`` (B, C, H, W), floored at ``likelihood_bound``."""
        b, c, h, w = z.shape
        values = z.permute(1, 0, 2, 3).reshape(c, 1, -1)  # (C, 1, B·H·W)
        lower = self.logits_cumulative(values - 0.5)
        upper = self.logits_cumulative(values + 0.5)
        # Evaluate in the tail where the sigmoid is not saturated (numerical stability).
        sign = -torch.sign(lower + upper).detach()
        p = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        p = bound_towards(p, self.likelihood_bound)
        return p.reshape(c, b, h, w).permute(1, 0, 2, 3)

    def forward(self, z: torch.Tensor, training: bool,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(ẑ, likelihood)``: additive uniform noise in training, rounding otherwise."""
        if training:
            noise = torch.rand(z.shape, generator=generator, device=z.device, dtype=z.dtype) - 0.5
            z_hat = z + noise
        else:
            z_hat = torch.round(z)
        return z_hat, self.likelihood(z_hat)

    # ----- coding tables ------------------------------------------------------------------
    def parameter_fingerprint(self) -> int:
        digest = hashlib.sha256()
        for p in self.parameters():
            digest.update(p.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
        return int.from_bytes(digest.digest()[:7], "little")

    def tables_current(self) -> bool:
        """Whether the coding tables were built from the current parameters (cached per state version)."""
        return cached_on_state(self, "tables_current", self._tables_match_parameters)

    def _tables_match_parameters(self) -> bool:
        built = int(self.table_length[0]) > 0
        return built and int(self.table_fingerprint.item()) == self.parameter_fingerprint()

    @torch.no_grad()
    def update(self, force: bool = False) -> bool:
        """Build the per-channel probability tables (returns True when they were rebuilt)."""
        if not force and self.tables_current():
            return False
        limit = self.support_limit
        points = torch.arange(-limit, limit + 2, dtype=torch.float32) - 0.5  # bin edges k ± ½
        edges = points.to(self.matrices[0].device).expand(self.channels, 1, -1)
        cdf = torch.sigmoid(self.logits_cumulative(edges)).squeeze(1).double().cpu()  # (C, 2L+2)
        half_tail = self.tail_mass / 2
        lows, highs = [], []
        for c in range(self.channels):
            below = torch.nonzero(cdf[c] > half_tail)
            above = torch.nonzero(cdf[c] < 1 - half_tail)
            lo = int(below[0]) - 1 if len(below) else 0
            hi = int(above[-1]) if len(above) else 2 * limit
            lo = max(0, min(lo, 2 * limit))
            hi = max(lo, min(hi, 2 * limit))
            lows.append(lo)
            highs.append(hi)
        width = max(h - lo for lo, h in zip(lows, highs, strict=True)) + 2
        pmf = torch.zeros(self.channels, width, dtype=torch.float64)
        offsets = torch.zeros(self.channels, dtype=torch.int64)
        lengths = torch.zeros(self.channels, dtype=torch.int64)
        for c, (lo, hi) in enumerate(zip(lows, highs, strict=True)):
            probs = (cdf[c, lo + 1 : hi + 2] - cdf[c, lo : hi + 1]).clamp_min(0)  # symbols lo-L .. hi-L
            tail = (cdf[c, lo] + (1 - cdf[c, hi + 1])).clamp_min(self.tail_mass)
            n = hi - lo + 1
            pmf[c, :n] = probs
            pmf[c, n] = tail
            offsets[c] = limit - lo  # symbol = value + offset
            lengths[c] = n + 1
        self.table_pmf = pmf.to(self.table_pmf.device)
        self.table_offset = offsets.to(self.table_offset.device)
        self.table_length = lengths.to(self.table_length.device)
        self.table_fingerprint.fill_(self.parameter_fingerprint())
        return True

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The tables' widths depend on the trained density: resize the buffers before loading.
        for name in ("table_pmf",):
            key = prefix + name
            if key in state_dict:
                setattr(self, name, torch.empty_like(state_dict[key]))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class GaussianConditional(nn.Module):
    """Gaussian conditional of y with the scale table (Minnen et al. 2018; paper Sec. III)."""

    def __init__(self, scale_min: float = 0.11, scale_max: float = 256.0, levels: int = 64,
                 tail_mass: float = 1e-9, likelihood_bound: float = 1e-9) -> None:
        super().__init__()
        self.scale_min, self.scale_max, self.levels = scale_min, scale_max, levels
        self.likelihood_bound = likelihood_bound
        self.log_step = (math.log(scale_max) - math.log(scale_min)) / (levels - 1)
        table = scale_table(scale_min, scale_max, levels)
        self.register_buffer("scale_table", table)
        pmf, offsets, lengths = _gaussian_tables(table, tail_mass)
        self.register_buffer("table_pmf", pmf)
        self.register_buffer("table_offset", offsets)
        self.register_buffer("table_length", lengths)

    def scale_from_index(self, index: torch.Tensor) -> torch.Tensor:
        """σ = exp(log σ_min + clip(σ_idx, 0, L−1)·Δ) for a continuous index σ_idx."""
        index = bound_towards(index, 0.0, float(self.levels - 1))
        return torch.exp(math.log(self.scale_min) + index * self.log_step)

    def index_from_scale(self, scale: torch.Tensor) -> torch.Tensor:
        """The continuous table index of a scale (inverse of :meth:`scale_from_index`)."""
        scale = scale.clamp(self.scale_min, self.scale_max)
        return (torch.log(scale) - math.log(self.scale_min)) / self.log_step

    def coding_index(self, continuous_index: torch.Tensor) -> torch.Tensor:
        """The table row used to code each symbol: the nearest level (NaN-safe, in range)."""
        index = torch.nan_to_num(continuous_index, nan=0.0, posinf=self.levels - 1, neginf=0.0)
        return torch.round(index.clamp(0, self.levels - 1)).to(torch.int64)

    def likelihood(self, y: torch.Tensor, mu: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """Φ((y−μ+½)/σ) − Φ((y−μ−½)/σ), computed on |y−μ| for accuracy in the tails."""
        values = torch.abs(y - mu)
        scale = bound_towards(scale, self.scale_min)
        upper = _standard_normal_cdf((0.5 - values) / scale)
        lower = _standard_normal_cdf((-0.5 - values) / scale)
        return bound_towards(upper - lower, self.likelihood_bound)


def _gaussian_tables(table: torch.Tensor, tail_mass: float,
                     min_radius: int = 16) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One row per scale: probabilities of the symbols −R..R, then the escape symbol's mass.

    R covers the mass ``1 − tail_mass`` but is at least ``min_radius``: outliers of small scales
    (common early in training) then cost about 24 bits (the coder's smallest probability) rather
    than an escape plus the raw value.
    """
    from statistics import NormalDist

    z_tail = -NormalDist().inv_cdf(tail_mass / 2)
    radii = [max(min_radius, math.ceil(float(s) * z_tail)) for s in table]
    width = 2 * max(radii) + 2
    pmf = torch.zeros(len(radii), width, dtype=torch.float64)
    offsets = torch.tensor(radii, dtype=torch.int64)
    lengths = torch.tensor([2 * r + 2 for r in radii], dtype=torch.int64)
    for k, (s, r) in enumerate(zip(table.tolist(), radii, strict=True)):
        values = torch.arange(-r, r + 1, dtype=torch.float64)
        upper = _standard_normal_cdf((values + 0.5) / s)
        lower = _standard_normal_cdf((values - 0.5) / s)
        probs = upper - lower
        pmf[k, : 2 * r + 1] = probs
        pmf[k, 2 * r + 1] = max(2 * float(_standard_normal_cdf(torch.tensor(-(r + 0.5) / s, dtype=torch.float64))),
                                tail_mass)
    return pmf, offsets, lengths


def numpy_tables(pmf: torch.Tensor, offsets: torch.Tensor, lengths: torch.Tensor) -> tuple[np.ndarray, ...]:
    return (pmf.detach().cpu().numpy(), offsets.detach().cpu().numpy(), lengths.detach().cpu().numpy())
