"""Class names to integer labels, in an order that does not depend on the data's row order."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from methodzoo.shared.errors import UserError


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders digit runs by value: ``"2" < "10"``, ``"f2" < "f10"``."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"(\d+)", name) if part)


def sorted_names(names: Iterable[str]) -> tuple[str, ...]:
    """The distinct names in natural order (see :func:`natural_key`)."""
    return tuple(sorted(set(names), key=natural_key))


def encode_labels(names: Sequence[str], class_names: Sequence[str] | None = None,
                  ) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Map each name to its position in ``class_names`` (default: the distinct names, sorted).

    >>> labels, classes = encode_labels(["walk", "run", "walk"])
    >>> labels.tolist(), classes
    ([1, 0, 1], ('run', 'walk'))
    """
    classes = sorted_names(names) if class_names is None else tuple(class_names)
    position = {name: index for index, name in enumerate(classes)}
    unknown = sorted({name for name in names if name not in position})
    if unknown:
        raise UserError(f"unknown class name(s) {unknown}; expected one of {list(classes)}")
    labels = np.fromiter((position[name] for name in names), dtype=np.int64, count=len(names))
    return torch.from_numpy(labels), classes
