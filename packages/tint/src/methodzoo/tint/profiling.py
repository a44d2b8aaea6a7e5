"""Where a TinT forward pass spends its time: wall time per simulation-module type (forward hooks)
and the heaviest operators (``torch.profiler``)."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import torch
from torch import Tensor, nn

from methodzoo.tint.modules import (
    ActivationForward,
    ElementwiseProduct,
    FiniteDifferenceBackward,
    LinearBackwardDescent,
    LinearForward,
    PredictionLossGradient,
    RotaryForward,
    SoftmaxAttention,
)

PROFILED = (LinearForward, LinearBackwardDescent, SoftmaxAttention, ActivationForward, FiniteDifferenceBackward,
            PredictionLossGradient, ElementwiseProduct, RotaryForward)


def seconds_by_module(tint: nn.Module, input_ids: Tensor) -> dict[str, float]:
    """Wall seconds of one ``tint.simulate(input_ids)`` per simulation-module class (outermost
    calls only), plus ``"total"`` and ``"other"`` (embedding, norms, the Python schedule)."""
    totals: dict[str, float] = defaultdict(float)
    starts: list[float] = []
    handles = []

    def enter(module: nn.Module, _args: Any) -> None:
        starts.append(time.perf_counter())

    def leave(module: nn.Module, _args: Any, _out: Any) -> None:
        elapsed = time.perf_counter() - starts.pop()
        if not starts:  # nested modules (products inside rotary) count in their parent only
            totals[type(module).__name__] += elapsed

    for module in tint.modules():
        if isinstance(module, PROFILED):
            handles += [module.register_forward_pre_hook(enter), module.register_forward_hook(leave)]
    try:
        start = time.perf_counter()
        with torch.no_grad():
            tint.simulate(input_ids)  # type: ignore[operator]
        total = time.perf_counter() - start
    finally:
        for handle in handles:
            handle.remove()
    out = dict(sorted(totals.items(), key=lambda item: -item[1]))
    out["other"] = total - sum(totals.values())
    out["total"] = total
    return out


def top_operators(tint: nn.Module, input_ids: Tensor, count: int = 8) -> list[tuple[str, float]]:
    """The ``count`` operators with the largest self CPU time in one forward: ``(name, seconds)``."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof, torch.no_grad():
        tint.simulate(input_ids)  # type: ignore[operator]
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:count]
    return [(e.key, e.self_cpu_time_total / 1e6) for e in events]
