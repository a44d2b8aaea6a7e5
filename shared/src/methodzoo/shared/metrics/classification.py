"""Classification metrics."""

from __future__ import annotations

import torch

from methodzoo.shared.errors import UserError


def accuracy(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of correct predictions; ``predictions`` are logits ``(N, C)`` or labels ``(N,)``.

    >>> accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
    0.5
    """
    predicted = predictions.argmax(dim=1) if predictions.ndim == 2 else predictions
    if predicted.shape != labels.shape:
        raise UserError(f"predictions {tuple(predicted.shape)} and labels {tuple(labels.shape)} differ")
    if labels.numel() == 0:
        raise UserError("accuracy of an empty set is undefined")
    return float((predicted == labels).float().mean())
