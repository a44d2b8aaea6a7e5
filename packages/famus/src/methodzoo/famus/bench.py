"""``methodzoo bench famus``: CE vs MW-Net vs MW-Net + FaMUS on MNIST digits with 40% symmetric noise.

Quality: every arm trains the same ≥10-weight-layer CNN on the same split and noise per seed;
test accuracy (peak and last) with its spread over seeds. Speed: medians, after warm-up, of the
virtual step, the meta step (step 2: meta forward + meta-backward + θ/η update) and the whole
iteration, taken from those same training runs; plus a sweep with the FaMUS gates pinned
(all on / all off / top-K / bottom-K) showing where the meta-backward's work goes.
"""

from __future__ import annotations

import copy
import math
import statistics
import time
from typing import Any

import torch

from methodzoo.famus.config import MetaConfig, TrainConfig
from methodzoo.famus.data import NoisyLabelData, prepare_noisy_data
from methodzoo.famus.methods import CrossEntropy, FaMUS, MetaWeightNet
from methodzoo.famus.models import DeepCNN
from methodzoo.famus.train import fit
from methodzoo.shared.bench import BenchContext, Benchmark, BenchResult, Table
from methodzoo.shared.device import resolve_device
from methodzoo.shared.train import EpochBatches

ARMS = ("ce", "mwnet", "famus")
PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"seeds": 2, "steps": 300, "train_size": 2000, "width": 8, "batch": 32, "timing_warmup": 60, "timing_repeats": 30},
    "full": {"seeds": 5, "steps": 2000, "train_size": None, "width": 16, "batch": 64, "timing_warmup": 200, "timing_repeats": 100},
}
TARGET_META_RATIO = 0.35


def _mean_se(values: list[float]) -> tuple[float, float, float]:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std, std / math.sqrt(len(values))


def _paired_timing(ctx: BenchContext, train: TrainConfig, meta: MetaConfig, data: NoisyLabelData,
                   warmup: int, repeats: int) -> tuple[dict[str, dict[str, float]], list[list[Any]]]:
    """Interleaved timing of CE, MW-Net and FaMUS from one initialisation on the same batches.

    The three methods take turns (rotating order) on every batch, so a change in machine load
    hits all of them alike; ratios are medians of per-batch ratios. FaMUS's samplers first learn
    the budget for ``warmup`` steps. The sweep then pins the gates (all on / top K / bottom K /
    all off), each setting timed against an interleaved MW-Net reference.
    """
    device = resolve_device(ctx.device)
    data = data.to(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(ctx.seed)
        model = DeepCNN(data.num_classes, 1, train.width, train.depth).to(device)
        mwnet = MetaWeightNet(copy.deepcopy(model), meta)
        methods: dict[str, CrossEntropy] = {
            "ce": CrossEntropy(copy.deepcopy(model), meta),
            "mwnet": mwnet,
            "famus": FaMUS(copy.deepcopy(model), meta, meta_net=copy.deepcopy(mwnet.meta_net), generator=ctx.seed),
        }
    batches = EpochBatches(data.train_images.shape[0], train.batch_size, seed=ctx.seed)
    meta_batches = EpochBatches(data.meta_images.shape[0], min(train.meta_batch_size, data.meta_images.shape[0]),
                                seed=ctx.seed + 1)

    def timed(method: CrossEntropy, step: int) -> dict[str, float]:
        index, meta_index = batches.batch(step).to(device), meta_batches.batch(step).to(device)
        method.timing = True
        start = time.perf_counter()
        out = method.train_step(data.train_images[index], data.train_labels[index], data.meta_images[meta_index],
                                data.meta_labels[meta_index])
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        record = {**method.last_timings, "iteration_ms": 1e3 * (time.perf_counter() - start)}
        if "active_layers" in out:
            record["active_layers"] = out["active_layers"]
        return record

    step = 0
    for _ in ctx.progress(range(warmup), desc="famus timing warm-up"):
        for method in methods.values():
            timed(method, step)
        step += 1
    records: dict[str, list[dict[str, float]]] = {name: [] for name in methods}
    names = list(methods)
    for i in ctx.progress(range(repeats), desc="famus paired timing"):
        order = names[i % 3:] + names[: i % 3]
        for name in order:
            records[name].append(timed(methods[name], step))
        step += 1
    summary: dict[str, dict[str, float]] = {}
    for name, rows in records.items():
        summary[name] = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
    for key in ("meta_ms", "meta_backward_ms", "iteration_ms"):
        summary["famus"][f"{key}_ratio"] = statistics.median(
            f[key] / m[key] for f, m in zip(records["famus"], records["mwnet"], strict=True))
    famus = methods["famus"]
    assert isinstance(famus, FaMUS)
    gated = len(famus.gated)
    k = min(meta.budget, gated)
    settings = {"all on": [1] * gated, f"top {k}": [0] * (gated - k) + [1] * k,
                f"bottom {k}": [1] * k + [0] * (gated - k), "all off": [0] * gated}
    sweep: list[list[Any]] = []
    for label, gates in settings.items():
        famus.forced_gates = gates
        pairs = []
        for i in range(max(3, repeats // 2)):
            first, second = ("mwnet", "famus") if i % 2 == 0 else ("famus", "mwnet")
            result = {first: timed(methods[first], step)}
            result[second] = timed(methods[second], step)
            pairs.append(result)
            step += 1
        step_ratio = statistics.median(p["famus"]["meta_ms"] / p["mwnet"]["meta_ms"] for p in pairs)
        backward_ratio = statistics.median(p["famus"]["meta_backward_ms"] / p["mwnet"]["meta_backward_ms"] for p in pairs)
        sweep.append([f"FaMUS gates pinned: {label}", sum(gates),
                      round(statistics.median(p["famus"]["meta_ms"] for p in pairs), 2), round(step_ratio, 3),
                      round(statistics.median(p["famus"]["meta_backward_ms"] for p in pairs), 2),
                      round(backward_ratio, 3)])
    famus.forced_gates = None
    return summary, sweep


def run(ctx: BenchContext) -> BenchResult:
    profile = PROFILES[ctx.profile]
    meta = MetaConfig()
    results: dict[str, list[Any]] = {arm: [] for arm in ARMS}
    seeds = [ctx.seed + i for i in range(profile["seeds"])]
    base = TrainConfig(dataset="mnist-digits", noise="symmetric", rate=0.4, train_size=profile["train_size"],
                       meta_size=100, test_size=1000, model="cnn", width=profile["width"], depth=10,
                       batch_size=profile["batch"], meta_batch_size=profile["batch"], steps=profile["steps"],
                       eval_every=max(1, profile["steps"] // 10), device=ctx.device)
    for seed in ctx.progress(seeds, desc="famus seeds"):
        data = prepare_noisy_data(base.replace(seed=seed))
        for arm in ARMS:
            results[arm].append(fit(base.replace(seed=seed, method=arm), meta, data=data, progress=ctx.show_progress))
    timing, sweep = _paired_timing(ctx, base, meta, prepare_noisy_data(base.replace(seed=ctx.seed)),
                                   profile["timing_warmup"], profile["timing_repeats"])
    metrics: dict[str, Any] = {}
    rows = []
    for arm in ARMS:
        best = [r.best_accuracy for r in results[arm]]
        last = [r.last_accuracy for r in results[arm]]
        best_mean, best_std, best_se = _mean_se(best)
        last_mean, last_std, last_se = _mean_se(last)
        metrics[f"acc_{arm}"] = round(best_mean, 4)
        metrics[f"acc_best_{arm}"] = round(best_mean, 4)
        metrics[f"acc_best_se_{arm}"] = round(best_se, 4)
        metrics[f"acc_last_{arm}"] = round(last_mean, 4)
        metrics[f"acc_last_se_{arm}"] = round(last_se, 4)
        metrics[f"acc_best_std_{arm}"] = round(best_std, 4)
        metrics[f"acc_last_std_{arm}"] = round(last_std, 4)
        metrics[f"iter_ms_{arm}"] = round(timing[arm]["iteration_ms"], 2)
        metrics[f"iter_ms_train_{arm}"] = round(statistics.median(r.iteration_ms for r in results[arm]), 2)
        cells = ["-", "-", "-"]
        if arm != "ce":
            metrics[f"virtual_step_ms_{arm}"] = round(timing[arm]["virtual_ms"], 2)
            metrics[f"meta_step_ms_{arm}"] = round(timing[arm]["meta_ms"], 2)
            metrics[f"meta_backward_ms_{arm}"] = round(timing[arm]["meta_backward_ms"], 2)
            metrics[f"meta_step_ms_train_{arm}"] = round(statistics.median(r.meta_step_ms for r in results[arm]), 2)
            cells = [f"{timing[arm]['virtual_ms']:.1f}", f"{timing[arm]['meta_ms']:.1f}",
                     f"{timing[arm]['meta_backward_ms']:.1f}"]
        active = "-"
        if arm == "famus":
            active = f"{statistics.fmean(r.mean_active_layers for r in results[arm]):.2f}"
        rows.append([arm, f"{best_mean:.4f} ± {best_se:.4f}", f"{last_mean:.4f} ± {last_se:.4f}", *cells,
                     f"{timing[arm]['iteration_ms']:.1f}", active])
    famus_run = results["famus"][0]
    metrics["famus_mean_active_layers"] = round(statistics.fmean(r.mean_active_layers for r in results["famus"]), 3)
    metrics["famus_gated_layers"] = len(FaMUS(DeepCNN(10, 1, base.width, base.depth), meta).gated)
    metrics["meta_step_ratio"] = round(timing["famus"]["meta_ms_ratio"], 3)
    metrics["meta_backward_ratio"] = round(timing["famus"]["meta_backward_ms_ratio"], 3)
    metrics["iter_ratio"] = round(timing["famus"]["iteration_ms_ratio"], 3)
    metrics["meta_step_ratio_train"] = round(metrics["meta_step_ms_train_famus"] / metrics["meta_step_ms_train_mwnet"], 3)
    metrics["target_meta_step_ratio_met"] = metrics["meta_step_ratio"] <= TARGET_META_RATIO
    for kind in ("best", "last"):
        famus_acc, mwnet_acc = metrics[f"acc_{kind}_famus"], metrics[f"acc_{kind}_mwnet"]
        metrics[f"target_acc_within_se_{kind}_met"] = famus_acc >= mwnet_acc - metrics[f"acc_{kind}_se_mwnet"]
        metrics[f"target_above_ce_{kind}_met"] = min(famus_acc, mwnet_acc) > metrics[f"acc_{kind}_ce"]
    metrics["realised_noise_rate"] = round(famus_run.realised_noise_rate, 4)
    metrics["seeds"] = len(seeds)
    metrics["steps"] = base.steps

    plots = [_plot(ctx, results, metrics)]
    tables = [
        Table(f"MNIST digits, 40% symmetric noise, DeepCNN (10 conv + 1 linear), {len(seeds)} seeds × {base.steps} steps",
              ["method", "best acc (± s.e.)", "last acc (± s.e.)", "virtual ms", "meta step ms", "meta-backward ms",
               "iteration ms", "active layers"], rows),
        Table("Meta-step time with the FaMUS gates pinned, each against an interleaved MW-Net iteration",
              ["setting", "attached layers", "meta step ms", "ratio to MW-Net", "meta-backward ms",
               "ratio to MW-Net"], sweep),
    ]
    notes = [
        f"meta step FaMUS/MW-Net = {metrics['meta_step_ratio']} (target ≤ {TARGET_META_RATIO}: "
        f"{'met' if metrics['target_meta_step_ratio_met'] else 'not met'}); meta-backward alone "
        f"{metrics['meta_backward_ratio']}; whole iteration {metrics['iter_ratio']}",
        "times: medians over interleaved CE/MW-Net/FaMUS iterations on the same batches after warm-up "
        "(ratios: medians of per-batch ratios); accuracies: separate training runs",
        "meta step = step 2 of MW-Net (meta forward at ŵ, meta-backward to θ/η, optimiser updates); the virtual "
        "step (forward, weighted gradients with create_graph, gates) is timed separately and is not reduced by FaMUS",
        f"realised symmetric noise rate {metrics['realised_noise_rate']} (true class included: expected 0.36)",
    ]
    details = {"runs": {arm: [r.to_dict() for r in results[arm]] for arm in ARMS}, "gate_sweep": sweep,
               "paired_timing": timing,
               "profile": profile}
    return BenchResult(metrics=metrics, tables=tables, plots=plots, notes=notes, details=details)


def _plot(ctx: BenchContext, results: dict[str, list[Any]], metrics: dict[str, Any]) -> Any:
    from methodzoo.shared.plotting import pyplot, save_figure

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    labels = {"ce": "CE", "mwnet": "MW-Net", "famus": "MW-Net + FaMUS"}
    for arm in ARMS:
        steps = results[arm][0].eval_steps
        curves = torch.tensor([r.eval_accuracy for r in results[arm]])  # (seeds, evals)
        mean = curves.mean(0)
        left.plot(steps, mean.numpy(), label=labels[arm])
        if curves.shape[0] > 1:
            spread = curves.std(0)
            left.fill_between(steps, (mean - spread).numpy(), (mean + spread).numpy(), alpha=0.2)
    left.set_xlabel("step")
    left.set_ylabel("clean test accuracy")
    left.set_title("MNIST digits, 40% symmetric noise")
    left.legend()
    names = ["MW-Net", "FaMUS"]
    virtual = [metrics["virtual_step_ms_mwnet"], metrics["virtual_step_ms_famus"]]
    meta = [metrics["meta_step_ms_mwnet"], metrics["meta_step_ms_famus"]]
    rest = [metrics[f"iter_ms_{a}"] - v - m for a, v, m in zip(("mwnet", "famus"), virtual, meta, strict=True)]
    right.bar(names, virtual, label="virtual step")
    right.bar(names, meta, bottom=virtual, label="meta step")
    right.bar(names, rest, bottom=[v + m for v, m in zip(virtual, meta, strict=True)], label="actual step + rest")
    right.set_ylabel("median ms per iteration")
    right.set_title(f"meta step ratio {metrics['meta_step_ratio']}")
    right.legend()
    fig.tight_layout()
    path = ctx.out_dir / "famus_accuracy_timing.png"
    save_figure(fig, path)
    return path


benchmark = Benchmark(
    name="famus",
    run=run,
    description="CE vs Meta-Weight-Net vs MW-Net + FaMUS on real MNIST digits with 40% symmetric label noise",
    claim="FaMUS cuts the meta step to ≤ 0.35× MW-Net's with accuracy within one s.e. of MW-Net, both above CE",
)
