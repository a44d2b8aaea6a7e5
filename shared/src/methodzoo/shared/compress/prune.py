"""``prune_(model, config)``: one verb for every pruning method, chosen by the config's type.

Magnitude pruning (Han et al. 2015) lives here; the other methods have their own modules
(:mod:`.structured`, :mod:`.movement`, :mod:`.oneshot`) and register with :func:`prune_`.
Every method leaves masks as parametrizations (:mod:`.masks`); nothing is removed until
:func:`~methodzoo.shared.compress.compact` builds the smaller model.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from methodzoo.shared.compress.masks import as_matrix, keep_largest, keep_n_of_m, set_mask_
from methodzoo.shared.compress.targets import LayerSelection, Target, find_targets
from methodzoo.shared.config import Config, check
from methodzoo.shared.errors import ConfigError, UserError

Calibration = Iterable[Any]


def feed_batch(model: nn.Module, batch: Any) -> Any:
    """Call ``model`` on one calibration batch: a dict as keyword inputs, a tuple or list as
    positional inputs, anything else as the single input."""
    if isinstance(batch, dict):
        return model(**batch)
    if isinstance(batch, (tuple, list)):
        return model(*batch)
    return model(batch)


Pruner = Callable[[nn.Module, Any, Calibration | None], None]
_PRUNERS: dict[type[Config], Pruner] = {}


def check_pattern(pattern: tuple[int, int] | None) -> None:
    """An N:M pattern keeps ``n`` of every ``m`` consecutive inputs: ``0 < n < m``."""
    if pattern is not None:
        n, m = pattern
        check(0 < n < m, "pattern (n, m) needs 0 < n < m (e.g. (2, 4)), got {}", pattern)


@dataclass(frozen=True)
class MagnitudePruning(LayerSelection):
    """Mask the weights of smallest magnitude (Han et al. 2015, "Learning both weights and
    connections"): ``M = 1[|w| > t]``.

    ``scope="global"`` ranks all selected weights together (one threshold ``t``, as
    ``torch.nn.utils.prune.global_unstructured``); ``"layer"`` prunes each tensor to
    ``sparsity``. ``pattern=(n, m)`` keeps the ``n`` largest of every ``m`` consecutive inputs
    of each output instead (N:M semi-structured; ``sparsity`` is then ``1 - n/m``).
    Pruning an already pruned model ranks the masked weights, so earlier zeros stay pruned:
    iterative pruning is repeated calls with a rising ``sparsity`` (see :mod:`.schedules`).
    """

    sparsity: float = 0.5
    scope: Literal["global", "layer"] = "global"
    pattern: tuple[int, int] | None = None

    def validate(self) -> None:
        super().validate()
        check(0.0 <= self.sparsity < 1.0, "sparsity must be in [0, 1), got {}", self.sparsity)
        check_pattern(self.pattern)


def register_pruner(config_type: type[Config]) -> Callable[[Pruner], Pruner]:
    """Register ``function(model, config, calibration)`` as the pruner for ``config_type``."""

    def decorator(function: Pruner) -> Pruner:
        _PRUNERS[config_type] = function
        return function

    return decorator


def prune_(model: nn.Module, config: Config, *, calibration: Calibration | None = None) -> nn.Module:
    """Prune ``model`` in place as ``config`` says and return it.

    ``calibration`` (an iterable of input batches, each a tensor or a tuple of positional inputs)
    is needed by the methods that look at activations (:class:`~.oneshot.Wanda`,
    :class:`~.oneshot.SparseGPT`).
    """
    _load_pruners()
    pruner = _PRUNERS.get(type(config))
    if pruner is None:
        valid = ", ".join(sorted(t.__name__ for t in _PRUNERS))
        raise ConfigError(f"prune_ does not know {type(config).__name__}; use one of {valid}")
    pruner(model, config, calibration)
    return model


def _load_pruners() -> None:
    # The other pruners register themselves on import.
    from methodzoo.shared.compress import movement, oneshot, structured  # noqa: F401


def selected_targets(model: nn.Module, config: LayerSelection) -> list[Target]:
    """The targets of ``config``; an empty selection is the user's mistake, said clearly."""
    targets = find_targets(model, config)
    if not targets:
        raise UserError(f"{type(config).__name__}: no linear, convolution or attention weights match "
                        f"include={list(config.include)} skip={list(config.skip)} kinds={list(config.kinds)}")
    return targets


def n_of_m_targets(targets: list[Target], m: int, method: str) -> list[Target]:
    """The targets whose input dimension splits into runs of ``m``; the others stay dense (warned)."""
    usable = [t for t in targets if as_matrix(t.value()).shape[1] % m == 0]
    left = [t.qualified_name for t in targets if t not in usable]
    if left:
        warnings.warn(f"{method}: left dense (inputs not a multiple of {m}): {', '.join(left)}", stacklevel=3)
    return usable


@register_pruner(MagnitudePruning)
@torch.no_grad()
def _magnitude(model: nn.Module, config: MagnitudePruning, calibration: Calibration | None) -> None:
    targets = selected_targets(model, config)
    if config.pattern is not None:
        n, m = config.pattern
        for target in n_of_m_targets(targets, m, "MagnitudePruning"):
            weight = target.value()
            keep = keep_n_of_m(as_matrix(weight).abs(), n, m)
            set_mask_(target.module, target.tensor, keep.view_as(weight))
        return
    if config.scope == "layer":
        for target in targets:
            set_mask_(target.module, target.tensor, keep_largest(target.value().abs(), config.sparsity))
        return
    scores = torch.cat([t.value().detach().abs().reshape(-1) for t in targets])
    keep = keep_largest(scores, config.sparsity)
    start = 0
    for target in targets:
        weight = target.value()
        set_mask_(target.module, target.tensor, keep[start:start + weight.numel()].view_as(weight))
        start += weight.numel()
