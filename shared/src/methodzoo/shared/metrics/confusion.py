"""Confusion matrices and the scores read off them (per-class and macro-averaged F1).

Macro-F1 weighs every class equally, so on an imbalanced test set it shows a classifier that
ignores a small class where accuracy hides it.
"""

from __future__ import annotations

import torch

from methodzoo.shared.errors import UserError


def _labels(predictions: torch.Tensor) -> torch.Tensor:
    return predictions.argmax(dim=1) if predictions.ndim == 2 else predictions


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """int64 ``(num_classes, num_classes)``: entry ``[t, p]`` counts items of true class ``t``
    predicted as ``p``. ``predictions`` are logits ``(N, C)`` or labels ``(N,)``.

    >>> confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2).tolist()
    [[1, 1], [0, 1]]
    """
    predicted = _labels(predictions).reshape(-1).long().cpu()
    truth = labels.reshape(-1).long().cpu()
    if predicted.shape != truth.shape:
        raise UserError(f"predictions {tuple(predicted.shape)} and labels {tuple(truth.shape)} differ")
    if num_classes < 1:
        raise UserError(f"num_classes must be >= 1, got {num_classes}")
    for name, values in (("predictions", predicted), ("labels", truth)):
        if values.numel() and (values.min() < 0 or values.max() >= num_classes):
            raise UserError(f"{name} must lie in 0..{num_classes - 1}, got "
                            f"{int(values.min())}..{int(values.max())}")
    flat = truth * num_classes + predicted
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_f1(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """float64 ``(num_classes,)``: F1 = 2·TP / (2·TP + FP + FN) per class; a class that is
    neither present nor predicted gets NaN (it has no F1)."""
    matrix = confusion_matrix(predictions, labels, num_classes).double()
    true_positive = matrix.diag()
    denominator = matrix.sum(dim=0) + matrix.sum(dim=1)  # 2·TP + FP + FN
    f1 = 2 * true_positive / denominator
    return torch.where(denominator > 0, f1, torch.full_like(f1, float("nan")))


def macro_f1(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    """The mean of :func:`per_class_f1` over the classes that occur in ``labels`` or
    ``predictions``.

    >>> macro_f1(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 1, 0]), 2)
    0.7333333333333334
    """
    scores = per_class_f1(predictions, labels, num_classes)
    present = scores[~scores.isnan()]
    if present.numel() == 0:
        raise UserError("macro-F1 of an empty set is undefined")
    return float(present.mean())


__all__ = ["confusion_matrix", "macro_f1", "per_class_f1"]
