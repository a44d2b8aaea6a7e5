"""Synthetic label noise: a class-transition matrix T and labels drawn from its rows.

``T[c, c']`` is the probability that a sample of true class ``c`` is given label ``c'``.

- ``symmetric`` = ``symmetric_incl_true``: with probability p the label is replaced by a class drawn
  uniformly from *all* C classes (the true one included), as in FaMUS ("randomly replaced with all
  possible labels") and MW-Net's ``unif``: the expected flip rate is p(1 − 1/C).
- ``symmetric_excl_true``: with probability p the label moves to one of the other C − 1 classes.
- ``pairflip``: with probability p class c becomes (c + 1) mod C (asymmetric pair flip).
- ``flip`` / ``flip2``: MW-Net's ``flip`` noise: each class moves with probability p to one
  (``flip``) or two (``flip2``, p/2 each) other classes chosen at random once per call.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from methodzoo.famus.config import NoiseKind
from methodzoo.shared.errors import ConfigError, UserError
from methodzoo.shared.seed import make_generator

NOISE_KINDS: tuple[str, ...] = ("symmetric", "symmetric_incl_true", "symmetric_excl_true", "pairflip", "flip", "flip2")


@dataclass(frozen=True)
class NoisyLabels:
    """What :func:`corrupt_labels` returns.

    ``labels``: the noisy labels ``(N,)``; ``flipped``: where they differ from the clean ones;
    ``realised_rate``: the fraction flipped; ``expected_rate``: the flip rate T implies for the
    clean class frequencies; ``transition``: T ``(C, C)``.
    """

    labels: torch.Tensor
    flipped: torch.Tensor
    realised_rate: float
    expected_rate: float
    transition: torch.Tensor


def transition_matrix(num_classes: int, rate: float, kind: NoiseKind = "symmetric",
                      generator: torch.Generator | int | None = None) -> torch.Tensor:
    """The noise transition matrix T ``(C, C)`` (rows sum to one).

    ``generator`` is used only by ``flip``/``flip2`` to choose the target classes.
    """
    if num_classes < 2:
        raise ConfigError(f"label noise needs at least 2 classes, got {num_classes}")
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"noise rate must be in [0, 1], got {rate}")
    C = num_classes
    eye = torch.eye(C, dtype=torch.float64)
    if kind in ("symmetric", "symmetric_incl_true"):
        return (1 - rate) * eye + rate * torch.full((C, C), 1.0 / C, dtype=torch.float64)
    if kind == "symmetric_excl_true":
        return (1 - rate) * eye + rate * (1 - eye) / (C - 1)
    if kind == "pairflip":
        return (1 - rate) * eye + rate * eye.roll(1, dims=1)
    if kind in ("flip", "flip2"):
        targets_per_class = 1 if kind == "flip" else 2
        if targets_per_class > C - 1:
            raise ConfigError(f"{kind} noise needs at least {targets_per_class + 1} classes, got {C}")
        gen = make_generator(generator)
        T = (1 - rate) * eye
        for c in range(C):
            others = torch.tensor([k for k in range(C) if k != c])
            chosen = others[torch.randperm(C - 1, generator=gen)[:targets_per_class]]
            T[c, chosen] += rate / targets_per_class
        return T
    raise ConfigError(f"unknown noise kind {kind!r}; valid kinds: {', '.join(NOISE_KINDS)}")


def corrupt_labels(labels: torch.Tensor, num_classes: int, rate: float, kind: NoiseKind = "symmetric",
                   generator: torch.Generator | int | None = None) -> NoisyLabels:
    """Draw noisy labels: sample i gets label ``c'`` with probability ``T[labels[i], c']``.

    Each label is drawn independently, so the realised flip rate scatters binomially around
    ``expected_rate``; both are reported.
    """
    if labels.ndim != 1 or labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise UserError(f"labels must be a 1-D integer tensor, got {labels.dtype} of shape {tuple(labels.shape)}")
    if labels.numel() == 0:
        raise UserError("cannot corrupt an empty label tensor")
    labels = labels.long()
    if int(labels.min()) < 0 or int(labels.max()) >= num_classes:
        raise UserError(f"labels must lie in [0, {num_classes}), got range [{int(labels.min())}, {int(labels.max())}]")
    gen = make_generator(generator)
    T = transition_matrix(num_classes, rate, kind, gen)
    rows = T[labels.cpu()]  # (N, C): the distribution of each sample's noisy label
    noisy = torch.multinomial(rows, 1, generator=gen).squeeze(1).to(labels.device)
    flipped = noisy != labels
    counts = torch.bincount(labels.cpu(), minlength=num_classes).double()
    expected = float((counts * (1 - T.diagonal())).sum() / counts.sum())
    return NoisyLabels(noisy, flipped, float(flipped.double().mean()), expected, T)
