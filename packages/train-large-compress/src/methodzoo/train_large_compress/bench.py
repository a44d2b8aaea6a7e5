"""``methodzoo bench train-large-compress``: the paper's two claims on the synthetic language.

1. Sizes of a grid train masked-language modelling under the same FLOP budget, several seeds each
   side by side. Steps, FLOPs and seconds to a validation loss every run reaches: claim 1 holds in
   steps when the largest size needs fewer steps than the smallest by more than two standard
   errors, and in compute when it also needs fewer FLOPs.
2. Every run's checkpoint at the full budget (equal compute) is compressed (magnitude pruning
   one-shot and iterative, PTQ and QAT at 2–8 bits, pruning + PTQ) through the core toolkit. At the
   storage budgets of the smaller model lightly compressed (8-bit PTQ, and uncompressed) the best
   version of each size that fits is compared: claim 2 holds when the larger model, heavily
   compressed, has the lower validation loss at every budget (headline: the two largest sizes;
   every adjacent pair is tabulated).

Also: real int8 latency per size, and topic-classification accuracy after fine-tuning each size's
checkpoint (the downstream task of the synthetic language).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from methodzoo.shared.bench import BenchContext, Benchmark, BenchResult, Profiles, Table, Verdict
from methodzoo.shared.config import Config, check
from methodzoo.train_large_compress.config import (
    CompressConfig,
    LanguageConfig,
    SweepConfig,
    TrainConfig,
)


@dataclass(frozen=True)
class Settings(Config):
    """One profile of the benchmark."""

    widths: tuple[int, ...] = (32, 64, 128)
    depths: tuple[int, ...] = (2,)
    budget: float = 1.5e11
    seeds: int = 3
    length: int = 32
    vocab_size: int = 128
    states: int = 16
    topics: int = 4
    batch_size: int = 16
    lr: float = 1e-3
    warmup_steps: int = 20
    eval_every: int = 25
    eval_batches: int = 8
    sparsities: tuple[float, ...] = (0.5, 0.7, 0.9)
    iterative_sparsities: tuple[float, ...] = (0.8,)
    bits: tuple[int, ...] = (8, 4, 3, 2)
    qat_bits: tuple[int, ...] = (2,)
    joint_sparsities: tuple[float, ...] = (0.5, 0.8)
    finetune_steps: int = 20
    prune_rounds: int = 4
    downstream_steps: int = 60
    downstream_train: int = 1024
    downstream_test: int = 512

    def validate(self) -> None:
        check(len(self.widths) * len(self.depths) >= 2, "the grid needs at least two sizes")
        check(self.seeds >= 2, "several seeds are needed for a spread, got {}", self.seeds)


PROFILES = Profiles(
    quick=Settings(),
    full=Settings(widths=(64, 128, 256), depths=(2, 4, 6), budget=2e13, seeds=3, length=64, vocab_size=512,
                  states=32, batch_size=64, warmup_steps=100, eval_every=50, eval_batches=8,
                  sparsities=(0.3, 0.5, 0.7, 0.8, 0.9), bits=(8, 6, 4, 3, 2),
                  iterative_sparsities=(0.3, 0.5, 0.7, 0.8, 0.9), qat_bits=(8, 6, 4, 3, 2),
                  joint_sparsities=(0.5, 0.8), finetune_steps=200, downstream_steps=300, downstream_train=4096,
                  downstream_test=2048),
)


def configs(settings: Settings, seed: int) -> tuple[SweepConfig, TrainConfig, LanguageConfig, CompressConfig]:
    """The package's configs for a profile (dropout off: less than one epoch, nothing to regularise)."""
    sweep = SweepConfig(widths=settings.widths, depths=settings.depths, budget=settings.budget, unit="flops",
                        marks=4, seeds=settings.seeds, seed=seed, length=settings.length,
                        vocab_size=settings.vocab_size, dropout=0.0)
    train = TrainConfig(batch_size=settings.batch_size, lr=settings.lr, warmup_steps=settings.warmup_steps,
                        eval_every=settings.eval_every, eval_batches=settings.eval_batches)
    language = LanguageConfig(vocab_size=settings.vocab_size, length=settings.length, states=settings.states,
                              topics=settings.topics)
    compress = CompressConfig(sparsities=settings.sparsities, iterative_sparsities=settings.iterative_sparsities,
                              bits=settings.bits, qat_bits=settings.qat_bits,
                              joint_sparsities=settings.joint_sparsities, finetune_steps=settings.finetune_steps,
                              prune_rounds=settings.prune_rounds, finetune_lr=settings.lr / 4)
    return sweep, train, language, compress


def _margin(a: tuple[float, float], b: tuple[float, float], n: int) -> float:
    """Two standard errors of the difference of two means over ``n`` seeds each."""
    return 2.0 * math.sqrt((a[1] ** 2 + b[1] ** 2) / n)


def _fmt(pair: tuple[float, float], digits: int = 4) -> str:
    return "—" if math.isnan(pair[0]) else f"{pair[0]:.{digits}g} ± {pair[1]:.2g}"


def run(ctx: BenchContext) -> BenchResult:
    """Tiny models on shared CPU cores: one torch thread here, one per worker process."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(ctx)
    finally:
        torch.set_num_threads(threads)


def _run(ctx: BenchContext) -> BenchResult:
    from methodzoo.train_large_compress.runner import sweep
    from methodzoo.train_large_compress.study import compress_sweep, load_compression, summarize

    settings = ctx.settings(PROFILES)
    sweep_config, train, language, compress = configs(settings, ctx.seed)
    result = sweep(sweep_config, train, ctx.out_dir / "sweep", language=language, show_progress=ctx.show_progress)
    compressed = compress_sweep(result, compress)
    _, int8 = load_compression(result.out_dir)
    summary = summarize(result, compressed, int8, plot_dir=ctx.out_dir)
    downstream = _downstream(result, settings)
    return _report(settings, result, summary, downstream)


@dataclass(frozen=True)
class _DownstreamJob:
    result: Any
    label: str
    settings: Settings


def _downstream_job(job: _DownstreamJob) -> float:
    from methodzoo.train_large_compress.downstream import FineTuneConfig, fine_tune, topic_task
    from methodzoo.train_large_compress.study import load_checkpoint_model
    from methodzoo.train_large_compress.synthetic import SyntheticLanguage

    settings = job.settings
    data = topic_task(SyntheticLanguage(job.result.language), settings.downstream_train, settings.downstream_test)
    run = job.result.runs_of(job.label)[0]
    model, _ = load_checkpoint_model(job.result, run, run.marks[-1])
    tuned = fine_tune(model, data, FineTuneConfig(steps=settings.downstream_steps, batch_size=32, lr=3e-4),
                      seed=run.seed)
    return tuned.accuracy


def _downstream(result: Any, settings: Settings) -> dict[str, float]:
    """Topic accuracy after fine-tuning each size's full-budget checkpoint (first seed), sizes side by side."""
    from methodzoo.shared.parallel import process_map

    if settings.downstream_steps == 0:
        return {}
    labels = result.labels()
    largest_first = labels[::-1]
    accuracy = dict(zip(largest_first, process_map(_downstream_job, [_DownstreamJob(result, label, settings)
                                                                     for label in largest_first]), strict=True))
    return {label: accuracy[label] for label in labels}


def _robustness(summary: Any, labels: list[str]) -> dict[tuple[str, str], dict[str, tuple[float, float]]]:
    """Loss increase of every compressed version over the same run's dense checkpoint, per size."""
    from methodzoo.train_large_compress.analysis import mean_and_spread

    points = summary.points
    dense = {(p.label, p.seed): p.loss for p in points if p.method == "dense"}
    versions = list(dict.fromkeys((p.method, p.setting) for p in points if p.method != "dense"))
    return {version: {label: mean_and_spread([p.loss - dense[p.label, p.seed] for p in points
                                              if (p.method, p.setting) == version and p.label == label])
                      for label in labels}
            for version in versions}


def _report(settings: Settings, result: Any, summary: Any, downstream: dict[str, float]) -> BenchResult:
    rows = {r.label: r for r in summary.convergence}
    labels = result.labels()
    small, large = rows[labels[0]], rows[labels[-1]]
    n = settings.seeds
    metrics: dict[str, Any] = {
        "target_loss": round(summary.target, 4),
        "small": small.label, "large": large.label,
        "steps_to_target_small": round(small.steps[0], 1), "steps_to_target_large": round(large.steps[0], 1),
        "steps_to_target_small_sd": round(small.steps[1], 1), "steps_to_target_large_sd": round(large.steps[1], 1),
        "flops_to_target_small": float(f"{small.flops[0]:.4g}"), "flops_to_target_large": float(f"{large.flops[0]:.4g}"),
        "flops_to_target_small_sd": float(f"{small.flops[1]:.3g}"), "flops_to_target_large_sd": float(f"{large.flops[1]:.3g}"),
        "seconds_to_target_small": round(small.seconds[0], 2), "seconds_to_target_large": round(large.seconds[0], 2),
        "final_loss_small": round(small.final_loss[0], 4), "final_loss_large": round(large.final_loss[0], 4),
        "budget_flops": result.sweep.budget, "seeds": n,
    }
    steps_margin = _margin(small.steps, large.steps, n)
    flops_margin = _margin(small.flops, large.flops, n)
    steps_held = small.steps[0] - large.steps[0] > steps_margin
    flops_held = small.flops[0] - large.flops[0] > flops_margin
    verdicts = [
        Verdict("claim 1 (steps): the largest size reaches the target loss in fewer steps than the smallest",
                steps_held, f"{_fmt(large.steps)} vs {_fmt(small.steps)} steps (margin needed {steps_margin:.3g})",
                "fewer steps by > 2 s.e.", large.steps[0] / small.steps[0]),
        Verdict("claim 1 (compute): … and in fewer training FLOPs",
                flops_held, f"{_fmt(large.flops)} vs {_fmt(small.flops)} FLOPs (margin needed {flops_margin:.3g})",
                "fewer FLOPs by > 2 s.e.", large.flops[0] / small.flops[0]),
    ]
    pair = (labels[-2], labels[-1])
    headline = [r for r in summary.equal_bits if (r.small, r.large) == pair]
    for row in headline:
        key = "" if "8 bit" in row.budget_from else "_fp32_budget"
        metrics[f"loss_at_equal_bits_large_compressed{key}"] = round(row.large_loss[0], 4)
        metrics[f"loss_at_equal_bits_small_light{key}"] = round(row.small_loss[0], 4)
        metrics[f"equal_bits_budget{key}"] = int(row.budget_bits)
    metrics["claim2_small"], metrics["claim2_large"] = pair
    wins = [r.large_wins for r in summary.equal_bits if r.large_wins is not None]
    metrics["claim2_wins_all_pairs"] = f"{sum(wins)}/{len(wins)}"
    decided = [r.large_wins for r in headline if r.large_wins is not None]
    verdicts.append(Verdict(
        f"claim 2: at equal compressed bits, {pair[1]} heavily compressed beats {pair[0]} lightly compressed",
        (all(decided) if len(decided) >= 2 else None),
        "; ".join(f"{r.budget_bits / 1e6:.3g} Mbit ({r.budget_from}): large {_fmt(r.large_loss)} "
                  f"[{r.large_choice}] vs small {_fmt(r.small_loss)} [{r.small_choice}]" for r in headline),
        "lower loss at every budget (≥ 2 budgets)"))
    for label in [label for label in labels if label in summary.int8]:
        item = summary.int8[label]
        biggest = max(item.speedup)
        metrics[f"int8_speedup_{label}_b1"] = round(item.speedup.get(1, math.nan), 3)
        metrics[f"int8_speedup_{label}_b{biggest}"] = round(item.speedup[biggest], 3)
    for label, accuracy in downstream.items():
        metrics[f"topic_accuracy_{label}"] = round(accuracy, 4)

    convergence = Table(
        f"Claim 1: to validation MLM loss {summary.target:.4f} (the loss every run reaches), equal FLOP budget "
        f"{result.sweep.budget:.3g}, {n} seeds (mean ± s.d.)",
        ["size", "params", "FLOPs/step", "final loss", "steps to target", "FLOPs to target", "seconds to target"],
        [[r.label, r.parameters, f"{r.flops_per_step:.3g}", _fmt(r.final_loss), _fmt(r.steps, 3), _fmt(r.flops, 3),
          _fmt(r.seconds, 3)] for r in summary.convergence])
    equal_bits = Table(
        "Claim 2: best validation loss within a storage budget (bits), each size's equal-compute checkpoint",
        ["smaller", "larger", "budget (Mbit)", "budget from", "smaller: loss", "smaller: version",
         "larger: loss", "larger: version", "larger wins"],
        [[r.small, r.large, f"{r.budget_bits / 1e6:.3g}", r.budget_from, _fmt(r.small_loss), r.small_choice,
          _fmt(r.large_loss), r.large_choice, r.large_wins] for r in summary.equal_bits])
    tables = [convergence, equal_bits]
    robustness = _robustness(summary, labels)
    for (method, setting), increases in robustness.items():
        key = f"{method}_{setting}".replace(" ", "").replace("%", "").replace("+", "_")
        metrics[f"loss_increase_{key}_small"] = round(increases[labels[0]][0], 4)
        metrics[f"loss_increase_{key}_large"] = round(increases[labels[-1]][0], 4)
    tables.append(Table(
        "Robustness: validation loss increase over each size's own uncompressed checkpoint (mean ± s.d. over seeds)",
        ["method", "setting", *labels],
        [[method, setting, *(_fmt(increases[label], 3) for label in labels)]
         for (method, setting), increases in robustness.items()]))
    if summary.int8:
        tables.append(Table("Real int8 linear layers against fp32 (first seed's checkpoint; δ = fp32 time / int8 time)",
                            ["size", "engine", "batch", "fp32 ms", "int8 ms", "δ", "loss fp32", "loss int8"],
                            [[label, item.engine, batch, f"{ms[0]:.3g}", f"{ms[1]:.3g}", f"{item.speedup[batch]:.3g}",
                              f"{item.loss_fp32:.4f}", f"{item.loss_int8:.4f}"]
                             for label in labels if label in summary.int8
                             for item in [summary.int8[label]] for batch, ms in item.latency_ms.items()]))
    if downstream:
        tables.append(Table("Downstream: topic classification after fine-tuning (first seed, full-budget checkpoint)",
                            ["size", "accuracy"], [[k, round(v, 4)] for k, v in downstream.items()]))
    notes = [
        f"synthetic language: {result.language.states} hidden states × {result.language.topics} topics, "
        f"vocabulary {result.language.vocab_size}, sequences of {result.language.length}; every batch is fresh "
        "(no sample is seen twice)",
        "FLOPs per step: the core's counter (attention included) × 3, equal to the closed form of flops.py",
        "target loss: the largest of the runs' best validation losses, so every run reaches it; a claim-1 "
        "verdict holds when the mean difference exceeds two standard errors of the difference",
        "claim 2 compares, per seed, the best version of each size that fits the budget (any method), "
        "then averages over seeds",
        "seconds are measured with runs side by side on shared CPU cores; treat them as indicative",
        "sizes in bits include fp32 biases, LayerNorms, position embeddings, per-channel scales and sparse "
        "indices (5-bit relative); the tied token matrix is compressed like every linear weight",
        "QAT and iterative pruning get extra fine-tuning steps the other versions do not (same for every size)",
    ]
    details = {"summary": summary.to_dict(), "settings": settings.to_dict(),
               "curves": {r.label + f"-seed{r.seed}": [(e.step, e.flops, e.seconds, e.val_loss) for e in r.evaluations]
                          for r in result.runs}}
    return BenchResult(metrics=metrics, tables=tables, plots=list(summary.plots), notes=notes, details=details,
                       verdicts=verdicts)


benchmark = Benchmark(
    name="train-large-compress",
    run=run,
    description="Transformer MLM sizes under equal FLOPs on a synthetic language, then pruning and quantization",
    claim="larger models reach a loss in fewer steps (and compute); heavily compressed large beats lightly "
          "compressed small at equal bits",
)
