"""Confusion matrix and macro-F1 against sklearn's, and their errors."""

from __future__ import annotations

import math

import pytest
import torch

from methodzoo.shared.errors import UserError
from methodzoo.shared.metrics.confusion import confusion_matrix, macro_f1, per_class_f1


def test_matches_sklearn_on_random_labels():
    metrics = pytest.importorskip("sklearn.metrics")
    generator = torch.Generator().manual_seed(0)
    truth = torch.randint(0, 5, (300,), generator=generator)
    predicted = torch.where(torch.rand(300, generator=generator) < 0.6, truth,
                            torch.randint(0, 5, (300,), generator=generator))
    expected = metrics.confusion_matrix(truth.numpy(), predicted.numpy(), labels=list(range(5)))
    assert confusion_matrix(predicted, truth, 5).tolist() == expected.tolist()
    assert macro_f1(predicted, truth, 5) == pytest.approx(
        metrics.f1_score(truth.numpy(), predicted.numpy(), average="macro"), abs=1e-12)


def test_logits_are_reduced_by_argmax_and_absent_classes_are_skipped():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    scores = per_class_f1(logits, torch.tensor([0, 1]), 3)
    assert scores[:2].tolist() == [1.0, 1.0] and math.isnan(scores[2])
    assert macro_f1(logits, torch.tensor([0, 1]), 3) == 1.0


@pytest.mark.parametrize("predictions, labels, message", [
    (torch.tensor([0, 1]), torch.tensor([0]), "differ"),
    (torch.tensor([0, 3]), torch.tensor([0, 1]), "0..2"),
    (torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long), "empty"),
])
def test_bad_input_is_a_user_error(predictions, labels, message):
    with pytest.raises(UserError, match=message):
        macro_f1(predictions, labels, 3)
