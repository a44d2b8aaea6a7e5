"""Small helpers on ``nn.Module`` that every method needs: parameter counts and eval mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


def count_parameters(module: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameter elements, each shared (tied) parameter counted once.

    >>> count_parameters(nn.Linear(3, 2))
    8
    """
    seen: set[int] = set()
    total = 0
    for parameter in module.parameters():
        if id(parameter) in seen or (trainable_only and not parameter.requires_grad):
            continue
        seen.add(id(parameter))
        total += parameter.numel()
    return total


@contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` in eval mode for the block, then give every submodule back the training
    flag it had (a model partly in eval mode, e.g. frozen BatchNorm, stays so).

    >>> net = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    >>> with eval_mode(net):
    ...     net.training
    False
    >>> net.training
    True
    """
    saved = [(sub, sub.training) for module in modules for sub in module.modules()]
    if not any(training for _, training in saved):
        yield  # already in eval mode: switching walks every submodule again (ms for a codec)
        return
    for module in modules:
        module.eval()
    try:
        yield
    finally:
        for sub, training in saved:
            sub.training = training


__all__ = ["count_parameters", "eval_mode"]
