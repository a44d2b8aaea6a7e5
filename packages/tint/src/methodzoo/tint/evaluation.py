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


def evaluate_tint(aux_model: nn.Module, windows: Tensor, config: TinTConfig, *, batch_size: int = 8,
                  reference_sequences: int = 4, progress: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Run TinT, explicit dynamic evaluation and (on the first ``reference_sequences``) the
    ``torch.func`` reference and exact SGD on ``windows`` ``(n, T)``; return perplexities,
    the max |logit| error against the reference and the cosine between TinT's update and SGD's."""
    device = next(aux_model.parameters()).device
    tint = build_tint(aux_model, config)
    totals = {"before": 0.0, "after": 0.0, "dynamic": 0.0}
    count = 0
    max_err, cosines = 0.0, []
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
                a = torch.cat([simulated[k][i].flatten() for k in exact])
                b = torch.cat([exact[k][i].flatten() for k in exact])
                cosines.append(float(F.cosine_similarity(a, b, 0)))
        seen += batch.shape[0]
    return {
        "ppl_before": math.exp(totals["before"] / count),
        "ppl_after": math.exp(totals["after"] / count),
        "ppl_dynamic_eval": math.exp(totals["dynamic"] / count),
        "max_abs_err_vs_reference": max_err,
        "cosine_vs_sgd_mean": statistics.fmean(cosines) if cosines else float("nan"),
        "cosine_vs_sgd_min": min(cosines) if cosines else float("nan"),
        "eval_tokens": count,
        "sequences": int(windows.shape[0]),
    }

