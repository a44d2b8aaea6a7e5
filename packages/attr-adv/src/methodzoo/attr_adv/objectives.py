"""The inner objective J(θ; x, y, a) that the attribute search maximises.

``agat``: the released code minimises, for x' = G(x, a), p = softmax, z = penultimate features,

    loss_adv = [CE(f(x'), y) + BCE(p(x'), p(x))] − λ·[MSE(σ(z), σ(z')) + MSE(a₀, a) + L1(a₀, a)]

so J = −loss_adv: keep the label and the clean prediction while pushing the features and the
attributes away from the clean ones (a₀ = 0 in normalised units). ``ce_ascent``: J = CE(f(x'), y).
Both return one value per image (``(N,)``): images do not interact, so summing them and taking
one gradient gives every image its own ascent direction, whatever the batch size.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.attr_adv.models import features_and_logits


class CleanReference(NamedTuple):
    """What J compares x' with, computed once per batch without gradients: p(x) and σ(z(x))."""

    probabilities: torch.Tensor  # (N, classes)
    squashed_features: torch.Tensor  # (N, D)


def squash(features: torch.Tensor, kind: str) -> torch.Tensor:
    """σ of the objective's feature term: a sigmoid (default) or tanh."""
    return torch.sigmoid(features) if kind == "sigmoid" else torch.tanh(features)


def clean_reference(model: nn.Module, images: torch.Tensor, squash_kind: str = "sigmoid") -> CleanReference:
    with torch.no_grad():
        features, logits = features_and_logits(model, images)
        return CleanReference(logits.softmax(dim=1), squash(features, squash_kind))


def agat_objective(logits: torch.Tensor, features: torch.Tensor, labels: torch.Tensor, u: torch.Tensor,
                   clean: CleanReference, lam: float, squash_kind: str = "sigmoid") -> torch.Tensor:
    """J = −loss_adv per image (see the module docstring); ``u`` are the normalised attributes."""
    cross_entropy = F.cross_entropy(logits, labels, reduction="none")
    prediction_change = F.binary_cross_entropy(logits.softmax(dim=1), clean.probabilities,
                                               reduction="none").mean(dim=1)
    feature_divergence = (squash(features, squash_kind) - clean.squashed_features).pow(2).mean(dim=1)
    attribute_divergence = u.pow(2).mean(dim=1) + u.abs().mean(dim=1)  # MSE(a₀, a) + L1(a₀, a), a₀ = 0
    return -(cross_entropy + prediction_change) + lam * (feature_divergence + attribute_divergence)


def ce_ascent_objective(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """J = CE(f(x'), y) per image: the classic worst case over A."""
    return F.cross_entropy(logits, labels, reduction="none")


__all__ = ["CleanReference", "agat_objective", "ce_ascent_objective", "clean_reference", "squash"]
