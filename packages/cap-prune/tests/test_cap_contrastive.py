"""The contrastive terms against a hand-computed example, and the candidate sets of the banks."""

from __future__ import annotations

import math

import pytest
import torch

from methodzoo.cap_prune import Candidates, RepresentationBank, contrastive_terms, positive_mask
from methodzoo.shared.errors import ConfigError

TAU = 0.5


def _example() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Candidates]:
    """3 anchors × 4 candidates: the anchors' own copies at 0, 1, 2 and one bank vector at 3
    (example id 10, label 0: a positive of anchor 0 in both senses and of anchor 2 by label)."""
    anchors = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    vectors = torch.cat([anchors, torch.tensor([[0.8, 0.6]])])
    ids = torch.tensor([10, 11, 12])
    labels = torch.tensor([0, 1, 0])
    candidates = Candidates(vectors, torch.tensor([10, 11, 12, 10]), torch.tensor([0, 1, 0, 0]),
                            torch.tensor([0, 1, 2]))
    return anchors, ids, labels, candidates


def _log_p(numerator: float, others: list[float]) -> float:
    """log of exp(numerator/τ) / Σ exp(score/τ) over the non-self candidates (given as dots)."""
    return numerator / TAU - math.log(sum(math.exp(s / TAU) for s in others))


# Dot products z_i·c_a worked out by hand from the vectors above, self excluded:
# anchor 0 sees c1 = 0, c2 = 0.6, c3 = 0.8; anchor 1: c0 = 0, c2 = 0.8, c3 = 0.6;
# anchor 2: c0 = 0.6, c1 = 0.8, c3 = 0.96.
LOG_P_3_GIVEN_0 = _log_p(0.8, [0.0, 0.6, 0.8])
LOG_P_2_GIVEN_0 = _log_p(0.6, [0.0, 0.6, 0.8])
LOG_P_0_GIVEN_2 = _log_p(0.6, [0.6, 0.8, 0.96])
LOG_P_3_GIVEN_2 = _log_p(0.96, [0.6, 0.8, 0.96])
# P_0 = {c3}; P_1 = P_2 = ∅ (Σ|P| = 1). Q_0 = {c2, c3}, Q_1 = ∅, Q_2 = {c0, c3} (Σ|Q| = 4). b = 3.
UNSUP_SUM = LOG_P_3_GIVEN_0
SUP_SUM = (LOG_P_2_GIVEN_0 + LOG_P_3_GIVEN_0) / 2 + (LOG_P_0_GIVEN_2 + LOG_P_3_GIVEN_2) / 2


@pytest.mark.parametrize(("normalization", "unsup_divisor", "sup_divisor"),
                         [("cap_reference", 1, 4), ("supcon", 3, 3)])
def test_terms_equal_the_hand_computed_example(normalization: str, unsup_divisor: int, sup_divisor: int) -> None:
    anchors, ids, labels, candidates = _example()
    terms = contrastive_terms(anchors, ids, labels, candidates, temperature=TAU, lambda_unsup=0.7,
                              lambda_sup=2.0, normalization=normalization)  # type: ignore[arg-type]
    assert float(terms.unsupervised) == pytest.approx(-0.7 * UNSUP_SUM / unsup_divisor, rel=1e-6)
    assert float(terms.supervised) == pytest.approx(-2.0 * SUP_SUM / sup_divisor, rel=1e-6)


def test_the_anchor_copy_is_masked_out() -> None:
    anchors, ids, labels, candidates = _example()
    unmasked = Candidates(candidates.vectors, candidates.ids, candidates.labels, torch.full((3,), -1))
    masked_terms = contrastive_terms(anchors, ids, labels, candidates, temperature=TAU, lambda_unsup=1.0,
                                     lambda_sup=0.0)
    unmasked_terms = contrastive_terms(anchors, ids, labels, unmasked, temperature=TAU, lambda_unsup=1.0,
                                       lambda_sup=0.0)
    # Unmasked, each anchor's copy (dot 1) joins the denominator and counts as a positive.
    assert float(masked_terms.unsupervised) == pytest.approx(-UNSUP_SUM, rel=1e-6)
    assert float(unmasked_terms.unsupervised) != pytest.approx(float(masked_terms.unsupervised), rel=1e-3)
    positives = positive_mask(ids, candidates.ids, candidates.self_index)
    assert positives.tolist() == [[False, False, False, True], [False] * 4, [False] * 4]


def test_candidate_order_does_not_matter() -> None:
    anchors, ids, labels, candidates = _example()
    reference = contrastive_terms(anchors, ids, labels, candidates, temperature=TAU, lambda_unsup=0.3, lambda_sup=3.0)
    for seed in range(3):
        order = torch.randperm(4, generator=torch.Generator().manual_seed(seed))
        shuffled = contrastive_terms(anchors, ids, labels, candidates.permuted(order), temperature=TAU,
                                     lambda_unsup=0.3, lambda_sup=3.0)
        torch.testing.assert_close(shuffled.unsupervised, reference.unsupervised)
        torch.testing.assert_close(shuffled.supervised, reference.supervised)


def test_gradient_reaches_the_anchors_only() -> None:
    anchors, ids, labels, candidates = _example()
    anchors.requires_grad_(True)
    vectors = candidates.vectors.clone().requires_grad_(True)
    terms = contrastive_terms(anchors, ids, labels, Candidates(vectors.detach(), candidates.ids, candidates.labels,
                                                                candidates.self_index),
                              temperature=TAU, lambda_unsup=1.0, lambda_sup=1.0)
    terms.total.backward()
    assert anchors.grad is not None and float(anchors.grad.abs().sum()) > 0
    assert vectors.grad is None


def test_bank_candidates_count_duplicates_of_random_draws_as_positives() -> None:
    labels = torch.tensor([0, 1, 2, 1, 0])
    bank = RepresentationBank(labels, dim=4)
    generator = torch.Generator().manual_seed(0)
    for _ in range(2):  # R = 2 snapshot rows
        bank.append(torch.randn(5, 4, generator=generator))
    anchors = torch.nn.functional.normalize(torch.randn(2, 4, generator=generator), dim=1)
    batch = torch.tensor([1, 3])
    extra = torch.tensor([3, 0])  # example 3 is drawn again
    candidates = bank.candidates(anchors, batch, labels[batch], extra)
    assert candidates.vectors.shape == (2 + 2 * 2 + 2 * 2, 4)
    same_example = positive_mask(batch, candidates.ids, candidates.self_index)
    assert same_example.sum(1).tolist() == [2, 4]  # example 1: its 2 rows; example 3: 2 rows + 2 drawn copies
    same_label = positive_mask(labels[batch], candidates.labels, candidates.self_index)
    # labels 1 and 1: each sees the other's copy, 2 + 2 bank rows of examples 1 and 3, 2 drawn rows of 3
    assert same_label.sum(1).tolist() == [7, 7]
    assert not candidates.vectors.requires_grad


def test_bank_sizes_snapshot_rows_and_extra_draws() -> None:
    labels = torch.zeros(10, dtype=torch.long)
    bank = RepresentationBank(labels, dim=3, keep_last_k=3)
    assert bank.rows == 0
    for epoch in range(1, 6):
        bank.append(torch.randn(10, 3))
        assert bank.rows == min(epoch, 3)
    assert bank.vectors.shape == (10, 3, 3)
    assert bank.extra_count(7) == 2  # ⌊E/R⌋ = ⌊7/3⌋
    assert bank.extra_count(4096) == 10  # never more than N
    drawn = bank.sample_extra(7, torch.Generator().manual_seed(1))
    again = bank.sample_extra(7, torch.Generator().manual_seed(1))
    assert drawn.tolist() == again.tolist() and len(set(drawn.tolist())) == 2
    torch.testing.assert_close(bank.vectors.norm(dim=-1), torch.ones(10, 3))
    with pytest.raises(ConfigError, match="shape"):
        bank.append(torch.randn(9, 3))


def test_half_precision_banks_match_float32_to_1e_3() -> None:
    labels = torch.tensor([0, 1, 0, 1])
    vectors = torch.randn(4, 16, generator=torch.Generator().manual_seed(2))
    full, half = RepresentationBank(labels, 16), RepresentationBank(labels, 16, dtype=torch.float16)
    full.append(vectors)
    half.append(vectors)
    assert half.vectors.dtype == torch.float16
    torch.testing.assert_close(half.gather(torch.arange(4)), full.gather(torch.arange(4)), atol=1e-3, rtol=0)
    anchors = torch.nn.functional.normalize(torch.randn(2, 16, generator=torch.Generator().manual_seed(3)), dim=1)
    batch, extra = torch.tensor([0, 1]), torch.tensor([2, 3])
    terms = [contrastive_terms(anchors, batch, labels[batch], bank.candidates(anchors, batch, labels[batch], extra),
                               temperature=0.1, lambda_unsup=1.0, lambda_sup=1.0).total for bank in (full, half)]
    assert float(terms[0]) == pytest.approx(float(terms[1]), abs=1e-2)
