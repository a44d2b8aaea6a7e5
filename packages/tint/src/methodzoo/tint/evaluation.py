"""Perplexity of the evaluated part before / after TinT's internal step, against dynamic evaluation."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from methodzoo.tint.config import TinTConfig
from methodzoo.tint.model import build_tint
from methodzoo.tint.reference import dynamic_eval_step, simulate_one_step, true_gradient_step


def _eval_nll(logits: Tensor, ids: Tensor, train_len: int) -> tuple[float, int]:
    """Summed next-token NLL over the evaluated part and the number of its tokens."""
    V = logits.shape[-1]
    targets = ids[:, train_len:]
    nll = F.cross_entropy(logits[:, train_len - 1:-1].reshape(-1, V).float(), targets.reshape(-1), reduction="sum")
    return float(nll), targets.numel()


def _by_layer(names: list[str]) -> dict[int, list[str]]:
    """Neutral parameter names (``layers.{l}.…``) grouped by auxiliary layer."""
    groups: dict[int, list[str]] = {}
    for name in names:
        groups.setdefault(int(name.split(".")[1]), []).append(name)
    return groups


def _cosine(simulated: dict[str, Tensor], exact: dict[str, Tensor], names: list[str], index: int) -> float:
    """Cosine between TinT's update and exact SGD's on ``names`` for sequence ``index``."""
    a = torch.cat([simulated[k][index].flatten() for k in names])
    b = torch.cat([exact[k][index].flatten() for k in names])
    return float(F.cosine_similarity(a, b, 0))


def evaluate_tint(aux_model: nn.Module, windows: Tensor, config: TinTConfig, *, batch_size: int = 8,
                  reference_sequences: int = 4, progress: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Run TinT, explicit dynamic evaluation and (on the first ``reference_sequences``) the
    ``torch.func`` reference and exact SGD on ``windows`` ``(n, T)``; return perplexities,
    the max |logit| error against the reference and the cosine between TinT's update and exact
    SGD's (the true gradient, by autograd), over all updated parameters and per auxiliary layer."""
    device = next(aux_model.parameters()).device
    tint = build_tint(aux_model, config)
    totals = {"before": 0.0, "after": 0.0, "dynamic": 0.0}
    count = 0
    max_err, cosines = 0.0, []
    layer_cosines: dict[int, list[float]] = {}
    batches = list(torch.split(windows, batch_size))
    iterator = progress(batches, desc="tint eval") if progress else batches
    seen = 0
    for batch in iterator:
        batch = batch.to(device)
        with torch.no_grad():
            out = tint.simulate(batch)
        dynamic = dynamic_eval_step(aux_model, batch, config)
        for key, logits in (("before", out.logits_before), ("after", out.logits_after),
                            ("dynamic", dynamic.logits_after)):
            nll, n = _eval_nll(logits, batch, out.train_len)
            totals[key] += nll
        count += n
        take = max(0, min(reference_sequences - seen, batch.shape[0]))
        if take:
            sub = batch[:take]
            reference = simulate_one_step(aux_model, sub, config)
            max_err = max(max_err, float((out.logits_after[:take] - reference.logits_after).abs().max()))
            exact = true_gradient_step(aux_model, sub, config)
            simulated = tint.simulated_updates(out)
            for i in range(take):
                cosines.append(_cosine(simulated, exact, list(exact), i))
                for layer, names in _by_layer(list(exact)).items():
                    layer_cosines.setdefault(layer, []).append(_cosine(simulated, exact, names, i))
        seen += batch.shape[0]
    return {
        "ppl_before": math.exp(totals["before"] / count),
        "ppl_after": math.exp(totals["after"] / count),
        "ppl_dynamic_eval": math.exp(totals["dynamic"] / count),
        "max_abs_err_vs_reference": max_err,
        "cosine_vs_sgd_mean": statistics.fmean(cosines) if cosines else float("nan"),
        "cosine_vs_sgd_min": min(cosines) if cosines else float("nan"),
        # per auxiliary layer (bottom first): mean and min over the reference windows
        "cosine_vs_sgd_per_layer_mean": [statistics.fmean(layer_cosines[k]) for k in sorted(layer_cosines)],
        "cosine_vs_sgd_per_layer_min": [min(layer_cosines[k]) for k in sorted(layer_cosines)],
        "eval_tokens": count,
        "sequences": int(windows.shape[0]),
    }

