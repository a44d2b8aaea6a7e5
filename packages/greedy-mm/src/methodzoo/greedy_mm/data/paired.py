"""Two-modality data: samples ``(x0, x1, label)``, in memory or read lazily from a folder."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from methodzoo.shared.errors import ConfigError

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class PairedTensors(Dataset):
    """Both modalities and the labels as tensors with a common first axis ``N``."""

    def __init__(self, m0: torch.Tensor, m1: torch.Tensor, labels: torch.Tensor) -> None:
        if not len(m0) == len(m1) == len(labels):
            raise ConfigError(f"modalities and labels differ in length: {len(m0)}, {len(m1)}, {len(labels)}")
        if len(labels) == 0:
            raise ConfigError("a two-modality data set needs at least one sample")
        self.m0, self.m1, self.labels = m0, m1, labels.long()

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index: int) -> Batch:
        return self.m0[index], self.m1[index], self.labels[index]

    def batch(self, indices: torch.Tensor) -> Batch:
        return self.m0[indices], self.m1[indices], self.labels[indices]

    def subset(self, indices: torch.Tensor) -> PairedTensors:
        return PairedTensors(*self.batch(indices))


@dataclass
class TwoModalityData:
    """A training set and named evaluation sets (the first is the one reported as "test")."""

    name: str
    train: Dataset
    evaluation: dict[str, Dataset]
    class_names: tuple[str, ...]
    modality_names: tuple[str, str]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def example_inputs(self, count: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
        """A small batch of each modality (to size a network)."""
        indices = torch.arange(min(count, len(self.train)))  # type: ignore[arg-type]
        x0, x1, _ = next(iterate_batches(self.train, len(indices), [indices]))
        return x0, x1


def split_off(data: PairedTensors | Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """A random ``fraction`` of ``data`` held out (validation), the rest kept."""
    n = len(data)  # type: ignore[arg-type]
    held = round(fraction * n)
    if not 0 < held < n:
        raise ConfigError(f"cannot hold out {fraction} of {n} samples")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    if isinstance(data, PairedTensors):
        return data.subset(order[held:]), data.subset(order[:held])
    return torch.utils.data.Subset(data, order[held:].tolist()), torch.utils.data.Subset(data, order[:held].tolist())


def iterate_batches(data: Dataset, batch_size: int, index_batches: Sequence[torch.Tensor] | None = None, *,
                    workers: int = 0) -> Iterator[Batch]:
    """Batches ``(x0, x1, y)`` of ``data``: the given index batches, or all samples in order."""
    n = len(data)  # type: ignore[arg-type]
    if index_batches is None:
        index_batches = [torch.arange(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    if isinstance(data, PairedTensors):
        for indices in index_batches:
            yield data.batch(indices)
        return
    loader = DataLoader(data, batch_sampler=[idx.tolist() for idx in index_batches], num_workers=workers)
    yield from ((x0, x1, labels) for x0, x1, labels in loader)  # the default collate gives lists


class BatchLoader:
    """A re-iterable loader: each ``iter()`` goes once over ``data`` in order, in batches."""

    def __init__(self, data: Dataset, batch_size: int = 256, *, workers: int = 0) -> None:
        self.data, self.batch_size, self.workers = data, batch_size, workers

    def __iter__(self) -> Iterator[Batch]:
        return iterate_batches(self.data, self.batch_size, workers=self.workers)
