"""The conditional utilization rate (Wu et al., 2022, Sec. 3).

    u(m1 | m0) = (A(m0, m1) − A(m0)) / A(m0, m1),    u(m0 | m1) likewise,
    d_util = u(m1 | m0) − u(m0 | m1).

A(m0) is measured on the *same trained model*: every MMTM's m1 squeeze vector is replaced by its
training-set mean (:func:`squeeze_statistics`), so branch 0 sees nothing sample-specific of m1.
By default ("branch") A(m0, m1) and A(m0) score branch 0's head ŷ0 (and ŷ1 for m1), the
consistent reading of the paper; "ensemble" scores the full prediction ŷ = (ŷ0 + ŷ1)/2 for the
joint accuracy. u may be negative (removing m1 can help), so d_util is not confined to [−1, 1];
a joint accuracy of 0 leaves u undefined: NaN, with a warning.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

import torch
from torch import nn

from methodzoo.greedy_mm.mmtm import fusion_modules, rebalancing, squeeze, substituted_squeeze
from methodzoo.greedy_mm.network import branch_logits
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.modules import eval_mode

Batches = Iterable[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


class UndefinedUtilizationWarning(RuntimeWarning):
    """A conditional utilization rate was asked of a model whose joint accuracy is 0."""


@dataclass(frozen=True)
class SqueezeStatistics:
    """Training-set mean squeeze vectors (S̄0, S̄1) entering each MMTM, in module order."""

    means: list[tuple[torch.Tensor, torch.Tensor]]
    count: int

    def to(self, device: torch.device | str) -> SqueezeStatistics:
        return SqueezeStatistics([(a.to(device), b.to(device)) for a, b in self.means], self.count)


@dataclass(frozen=True)
class UtilizationRates:
    """Accuracies and conditional utilization rates of a two-branch model on one data set."""

    acc_joint0: float  # A(m0, m1)
    acc_joint1: float  # A(m1, m0)
    acc_alone0: float  # A(m0): ŷ0 with m1's squeeze at its training mean
    acc_alone1: float  # A(m1)
    acc_ensemble: float  # accuracy of ŷ = (ŷ0 + ŷ1)/2
    u_m1_given_m0: float
    u_m0_given_m1: float
    d_util: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def conditional_utilization(joint: float, alone: float) -> float:
    """(A(joint) − A(alone)) / A(joint); NaN with a warning when A(joint) = 0.

    >>> conditional_utilization(0.5, 0.25)
    0.5
    >>> conditional_utilization(0.5, 0.75)  # the model does better without the modality
    -0.5
    """
    if joint == 0:
        warnings.warn("conditional utilization rate undefined: the joint accuracy is 0",
                      UndefinedUtilizationWarning, stacklevel=2)
        return math.nan
    return (joint - alone) / joint


def _device_of(model: nn.Module) -> torch.device:
    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")


@torch.no_grad()
def squeeze_statistics(model: nn.Module, loader: Batches) -> SqueezeStatistics:
    """Mean squeeze vectors of each MMTM's two inputs over ``loader`` (the training set), with the
    model in eval mode and regular (unsubstituted, un-re-balanced) fusion."""
    modules = fusion_modules(model)
    if not modules:
        raise ConfigError(f"{type(model).__name__} has no MMTM fusion layer")
    sums: list[list[torch.Tensor | None]] = [[None, None] for _ in modules]
    count = 0
    device = _device_of(model)

    def recorder(index: int):  # type: ignore[no-untyped-def]
        def hook(module: nn.Module, args: tuple[torch.Tensor, ...], kwargs: dict[str, torch.Tensor]) -> None:
            features = (*args, *kwargs.values())  # MMTM.forward(f0, f1), positional or by name
            for i in (0, 1):
                total = squeeze(features[i]).double().sum(0)
                previous = sums[index][i]
                sums[index][i] = total if previous is None else previous + total
        return hook

    handles = [module.register_forward_pre_hook(recorder(k), with_kwargs=True) for k, module in enumerate(modules)]
    try:
        with eval_mode(model), rebalancing(model, None):
            for x0, x1, _ in loader:
                model(x0.to(device), x1.to(device))
                count += int(x0.shape[0])
    finally:
        for handle in handles:
            handle.remove()
    if count == 0:
        raise ConfigError("squeeze statistics need at least one training sample")
    means = [(s[0] / count, s[1] / count) for s in sums]  # type: ignore[operator]
    return SqueezeStatistics([(a.float(), b.float()) for a, b in means], count)


@torch.no_grad()
def _correct_counts(model: nn.Module, loader: Batches,
                    statistics: SqueezeStatistics | None) -> tuple[dict[str, int], int]:
    device = _device_of(model)
    counts = {"branch0": 0, "branch1": 0, "ensemble": 0}
    total = 0
    with eval_mode(model), rebalancing(model, None):
        for x0, x1, labels in loader:
            labels = labels.to(device)
            if statistics is None:
                output = model(x0.to(device), x1.to(device))
            else:
                with substituted_squeeze(model, statistics.to(device).means):
                    output = model(x0.to(device), x1.to(device))
            y0, y1 = branch_logits(output)
            counts["branch0"] += int((y0.argmax(1) == labels).sum())
            counts["branch1"] += int((y1.argmax(1) == labels).sum())
            counts["ensemble"] += int((((y0 + y1) / 2).argmax(1) == labels).sum())
            total += int(labels.shape[0])
    if total == 0:
        raise ConfigError("cannot measure accuracy on an empty data set")
    return counts, total


def utilization_rates(model: nn.Module, loader: Batches, train_stats: SqueezeStatistics, *,
                      prediction: Literal["branch", "ensemble"] = "branch") -> UtilizationRates:
    """Conditional utilization rates of ``model`` on ``loader`` (an iterable of ``(x0, x1, y)``
    batches; iterated twice, so not a one-shot generator), with the squeeze statistics
    ``train_stats`` of the training set (:func:`squeeze_statistics`).

    The model is any module holding :class:`~methodzoo.greedy_mm.mmtm.MMTM` fusion layers whose
    forward takes ``(x0, x1)`` and returns a
    :class:`~methodzoo.greedy_mm.network.MultimodalOutput` or the pair (ŷ0, ŷ1).
    """
    if prediction not in ("branch", "ensemble"):
        raise ConfigError(f"prediction must be 'branch' or 'ensemble', got {prediction!r}")
    joint, total = _correct_counts(model, loader, None)
    alone, total_alone = _correct_counts(model, loader, train_stats)
    if total != total_alone:
        raise ConfigError("the loader gave different samples on its two passes; pass a re-iterable loader")
    acc = {k: v / total for k, v in joint.items()}
    acc_alone = {k: v / total for k, v in alone.items()}
    joint0 = acc["ensemble"] if prediction == "ensemble" else acc["branch0"]
    joint1 = acc["ensemble"] if prediction == "ensemble" else acc["branch1"]
    u10 = conditional_utilization(joint0, acc_alone["branch0"])
    u01 = conditional_utilization(joint1, acc_alone["branch1"])
    return UtilizationRates(acc_joint0=joint0, acc_joint1=joint1, acc_alone0=acc_alone["branch0"],
                            acc_alone1=acc_alone["branch1"], acc_ensemble=acc["ensemble"],
                            u_m1_given_m0=u10, u_m0_given_m1=u01, d_util=u10 - u01)
