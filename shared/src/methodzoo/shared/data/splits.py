"""Hold-out splits that keep what must stay together together.

:func:`stratified_split` keeps each class's share in every part (small sets, one validation
split per class); :func:`group_split` keeps every group (a subject, a recording) inside one part,
so a model is never tested on a person it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import make_generator


def _check_fractions(fractions: Sequence[float]) -> None:
    if not fractions or any(f < 0 for f in fractions) or sum(fractions) > 1 + 1e-9:
        raise ConfigError(f"fractions must be non-negative and sum to at most 1, got {list(fractions)}")


def _parts(count: int, fractions: Sequence[float]) -> list[int]:
    """Sizes of the held-out parts (rounded, each at least 1 where its fraction is positive,
    at least one item left for the remainder when possible)."""
    sizes = [max(1, round(f * count)) if f > 0 else 0 for f in fractions]
    while sum(sizes) >= count and max(sizes) > 1 and count > 1:
        sizes[sizes.index(max(sizes))] -= 1
    return sizes


def stratified_split(labels: torch.Tensor, fractions: Sequence[float],
                     generator: torch.Generator | int | None = 0) -> list[torch.Tensor]:
    """Indices of ``len(fractions) + 1`` disjoint parts: one per fraction, then the rest.

    Each class is shuffled and cut on its own, so every part holds about ``fraction`` of each
    class (at least one item of a class that has two or more). Indices are sorted.

    >>> parts = stratified_split(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), [0.25])
    >>> [len(p) for p in parts]
    [2, 6]
    """
    _check_fractions(fractions)
    generator = make_generator(generator)
    labels = labels.reshape(-1).cpu()
    chosen: list[list[torch.Tensor]] = [[] for _ in range(len(fractions) + 1)]
    for value in torch.unique(labels):
        members = torch.nonzero(labels == value).reshape(-1)
        members = members[torch.randperm(len(members), generator=generator)]
        start = 0
        for part, size in enumerate(_parts(len(members), fractions)):
            chosen[part].append(members[start:start + size])
            start += size
        chosen[-1].append(members[start:])
    return [torch.sort(torch.cat(part)).values if part else torch.empty(0, dtype=torch.long)
            for part in chosen]


def group_split(groups: torch.Tensor, fractions: Sequence[float],
                generator: torch.Generator | int | None = 0) -> list[torch.Tensor]:
    """Indices of ``len(fractions) + 1`` disjoint parts in which no group is split: the
    distinct ``groups`` are shuffled and ``fraction`` of them (at least one) go to each part,
    the rest to the last. Indices are sorted.

    >>> parts = group_split(torch.tensor([1, 1, 2, 2, 3, 3, 4, 4]), [0.25])
    >>> [len(p) for p in parts]
    [2, 6]
    """
    _check_fractions(fractions)
    groups = groups.reshape(-1).cpu()
    distinct = torch.unique(groups)
    wanted = sum(1 for f in fractions if f > 0) + 1
    if len(distinct) < wanted:
        raise ConfigError(f"a split into {wanted} parts by group needs at least {wanted} distinct "
                          f"groups, got {len(distinct)}")
    distinct = distinct[torch.randperm(len(distinct), generator=make_generator(generator))]
    parts: list[torch.Tensor] = []
    start = 0
    for size in _parts(len(distinct), fractions):
        parts.append(distinct[start:start + size])
        start += size
    parts.append(distinct[start:])
    return [torch.sort(torch.nonzero(torch.isin(groups, part)).reshape(-1)).values for part in parts]


__all__ = ["group_split", "stratified_split"]
