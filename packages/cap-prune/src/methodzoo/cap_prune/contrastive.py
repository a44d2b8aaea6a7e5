"""CAP's contrastive terms (Xu et al. 2022, Eqs. 1–4): the pruned model's sentence representation
against a bank of representations from another model (PrC: pre-trained, FiC: fine-tuned,
SnC: snapshots), unsupervised (same example) and supervised (same label).

For a mini-batch ``I`` (size b) and a bank ``B`` with ``R`` rows per training example:

* anchors ``z_i = normalise(rep(x_i))`` carry the gradient;
* candidates ``C = {sg(z_j)} ∪ {B[idx_j, 1..R]} ∪ {B[k, 1..R] : k ∈ K}`` with ``K`` = ⌊E/R⌋
  training indices drawn with an explicit generator;
* ``p(a|i) = exp(z_i·a/τ) / Σ_{a' ∈ C∖{sg z_i}} exp(z_i·a'/τ)`` (the anchor's own copy is masked);
* positives ``P_i = {a ≠ self : idx(a) = idx_i}`` (unsupervised) and
  ``Q_i = {a ≠ self : y(a) = y_i}`` (supervised), duplicates from the random draw included.

Two normalisations of ``−Σ_i (1/|P_i|) Σ_{a∈P_i} log p(a|i)``:

* ``"cap_reference"`` (default, the official code's): divided by ``Σ_i |P_i|``. ``|Q_i|`` is about
  ``(b(R+1) + E)/classes``, so the supervised term is ~10³ smaller than SupCon's; the published
  λ_s = 10 (unstructured) assumes this.
* ``"supcon"``: divided by ``b`` (Khosla et al. 2020), the clean form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from methodzoo.shared.errors import ConfigError

Normalization = Literal["cap_reference", "supcon"]
SELF_SCORE = -1e6  # the anchor's own stop-gradient copy: excluded from every sum


@dataclass(frozen=True)
class Candidates:
    """The contrast set of one bank for one mini-batch.

    ``vectors`` (M, d), ``ids`` (M,) training-example index of each, ``labels`` (M,), and
    ``self_index`` (b,): the position of anchor ``i``'s own stop-gradient copy (−1: none).
    """

    vectors: torch.Tensor
    ids: torch.Tensor
    labels: torch.Tensor
    self_index: torch.Tensor

    def permuted(self, order: torch.Tensor) -> Candidates:
        """The same set in another order (for tests: the loss must not depend on it)."""
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(order.numel(), device=order.device)
        self_index = torch.where(self.self_index >= 0, inverse[self.self_index.clamp_min(0)], self.self_index)
        return Candidates(self.vectors[order], self.ids[order], self.labels[order], self_index)


@dataclass(frozen=True)
class ContrastiveTerms:
    """The unsupervised and supervised losses of one bank (already weighted by λ_u and λ_s)."""

    unsupervised: torch.Tensor
    supervised: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        return self.unsupervised + self.supervised


def log_probabilities(anchors: torch.Tensor, candidates: Candidates, temperature: float) -> torch.Tensor:
    """``log p(a|i)`` (b, M) with the anchor's own copy masked out of the normaliser."""
    if temperature <= 0:
        raise ConfigError(f"temperature must be positive, got {temperature}")
    scores = anchors @ candidates.vectors.to(anchors.dtype).T / temperature  # (b, M)
    rows = torch.arange(anchors.shape[0], device=anchors.device)
    has_self = candidates.self_index >= 0
    if bool(has_self.any()):
        scores = scores.index_put((rows[has_self], candidates.self_index[has_self]),
                                  torch.tensor(SELF_SCORE, dtype=scores.dtype, device=scores.device))
    return scores - scores.logsumexp(dim=1, keepdim=True)


def positive_mask(anchor_keys: torch.Tensor, candidate_keys: torch.Tensor,
                  self_index: torch.Tensor) -> torch.Tensor:
    """``(b, M)`` True where candidate ``a`` shares anchor ``i``'s key and is not its own copy."""
    mask = anchor_keys[:, None] == candidate_keys[None, :]
    rows = torch.arange(anchor_keys.shape[0], device=anchor_keys.device)
    has_self = self_index >= 0
    mask[rows[has_self], self_index[has_self]] = False
    return mask


def normalized_log_likelihood(log_p: torch.Tensor, positives: torch.Tensor,
                              normalization: Normalization) -> torch.Tensor:
    """``−Σ_i (1/|P_i|) Σ_{a∈P_i} log p(a|i)`` divided by ``Σ_i |P_i|`` (``cap_reference``) or by
    ``b`` (``supcon``). Anchors without positives contribute nothing."""
    counts = positives.sum(1)  # |P_i|
    per_anchor = (log_p * positives).sum(1) / counts.clamp_min(1)
    if normalization == "cap_reference":
        denominator = counts.sum().clamp_min(1)
    elif normalization == "supcon":
        denominator = torch.tensor(max(int(log_p.shape[0]), 1), device=log_p.device)
    else:
        raise ConfigError(f"normalization must be 'cap_reference' or 'supcon', got {normalization!r}")
    return -per_anchor.sum() / denominator


def contrastive_terms(anchors: torch.Tensor, anchor_ids: torch.Tensor, anchor_labels: torch.Tensor,
                      candidates: Candidates, *, temperature: float, lambda_unsup: float,
                      lambda_sup: float, normalization: Normalization = "cap_reference") -> ContrastiveTerms:
    """The weighted unsupervised (same example) and supervised (same label) terms of one bank.

    ``anchors`` (b, d) must already be L2-normalised (see :func:`normalize`).
    """
    log_p = log_probabilities(anchors, candidates, temperature)
    zero = anchors.new_zeros(())
    unsupervised = supervised = zero
    if lambda_unsup:
        same_example = positive_mask(anchor_ids, candidates.ids, candidates.self_index)
        unsupervised = lambda_unsup * normalized_log_likelihood(log_p, same_example, normalization)
    if lambda_sup:
        same_label = positive_mask(anchor_labels, candidates.labels, candidates.self_index)
        supervised = lambda_sup * normalized_log_likelihood(log_p, same_label, normalization)
    return ContrastiveTerms(unsupervised, supervised)


def normalize(representation: torch.Tensor) -> torch.Tensor:
    """``z = rep / ‖rep‖₂`` per row."""
    return F.normalize(representation, dim=-1)
