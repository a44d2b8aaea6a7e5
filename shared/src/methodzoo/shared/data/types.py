"""Containers returned by the loaders."""

from __future__ import annotations

from typing import NamedTuple

import torch


class LabeledImages(NamedTuple):
    """Images as uint8 ``(N, H, W)`` (grey) or ``(N, C, H, W)`` and int64 labels ``(N,)``."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices: torch.Tensor) -> LabeledImages:
        return LabeledImages(self.images[indices], self.labels[indices])

    def as_float(self) -> torch.Tensor:
        """Images scaled to [0, 1] as float32, with a channel axis: ``(N, C, H, W)``."""
        images = self.images.float() / 255.0
        return images.unsqueeze(1) if images.ndim == 3 else images


class LabeledSeries(NamedTuple):
    """Multichannel time series ``values`` float32 ``(N, C, T)`` with int64 ``labels`` ``(N,)``.

    ``class_names[k]`` names label ``k``; ``channel_names[c]`` names channel ``c``. ``subjects``
    (int64 ``(N,)``) says who recorded each series when the dataset records it, so splits can
    keep a person's windows together; it is ``None`` otherwise.
    """

    values: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    channel_names: tuple[str, ...]
    subjects: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices: torch.Tensor) -> LabeledSeries:
        subjects = None if self.subjects is None else self.subjects[indices]
        return LabeledSeries(self.values[indices], self.labels[indices], self.class_names,
                             self.channel_names, subjects)


class SentencePairs(NamedTuple):
    """Sentence pairs (NLI premise and hypothesis, or two questions) with int64 ``labels`` ``(N,)``.

    ``label_names[k]`` names label ``k``; ``-1`` marks a pair without a label (GLUE test splits).
    """

    premise: list[str]
    hypothesis: list[str]
    labels: torch.Tensor
    label_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.premise)

    def subset(self, indices: torch.Tensor) -> SentencePairs:
        chosen = _positions(indices)
        return SentencePairs([self.premise[i] for i in chosen], [self.hypothesis[i] for i in chosen],
                             self.labels[indices], self.label_names)


class LabeledTexts(NamedTuple):
    """Texts with int64 ``labels`` ``(N,)`` and, where the source rates them, float32 ``scores``.

    ``label_names[k]`` names label ``k``; ``-1`` marks a text without a label (GLUE test splits).
    """

    texts: list[str]
    labels: torch.Tensor
    label_names: tuple[str, ...]
    scores: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: torch.Tensor) -> LabeledTexts:
        chosen = _positions(indices)
        scores = None if self.scores is None else self.scores[indices]
        return LabeledTexts([self.texts[i] for i in chosen], self.labels[indices], self.label_names,
                            scores)


def _positions(indices: torch.Tensor) -> list[int]:
    """Integer positions of an index tensor or a boolean mask, for indexing Python lists."""
    index = torch.as_tensor(indices)
    if index.dtype == torch.bool:
        index = index.nonzero()
    return [int(i) for i in index.reshape(-1).tolist()]
