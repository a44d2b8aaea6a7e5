"""``methodzoo bench famus``: CE vs MW-Net vs MW-Net + FaMUS on MNIST digits with 40% symmetric noise.

Quality: every arm trains the same ≥10-weight-layer CNN on the same split and noise per seed;
test accuracy (peak and last) with its spread over seeds. Speed: medians, after warm-up, of the
virtual step, the meta step (step 2: meta forward + meta-backward + θ/η update) and the whole
iteration, taken from those same training runs; plus a sweep with the FaMUS gates pinned
(all on / all off / top-K / bottom-K) showing where the meta-backward's work goes.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

import torch

from methodzoo.famus.config import MetaConfig, TrainConfig
from methodzoo.famus.data import prepare_noisy_data
from methodzoo.famus.methods import FaMUS, MetaWeightNet
from methodzoo.famus.models import DeepCNN
from methodzoo.famus.train import fit
from methodzoo.shared.bench import BenchContext, Benchmark, BenchResult, Table
from methodzoo.shared.device import resolve_device

ARMS = ("ce", "mwnet", "famus")
PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"seeds": 2, "steps": 300, "train_size": 2000, "width": 8, "batch": 32, "sweep_iters": 8},
    "full": {"seeds": 5, "steps": 2000, "train_size": None, "width": 16, "batch": 64, "sweep_iters": 20},
}
TARGET_META_RATIO = 0.35


def _mean_se(values: list[float]) -> tuple[float, float, float]:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std, std / math.sqrt(len(values))


def _gate_sweep(ctx: BenchContext, train: TrainConfig, meta: MetaConfig, iters: int) -> list[list[Any]]:
    """Meta-step medians with the gates pinned, on random inputs of the benchmark's shapes."""
    device = resolve_device(ctx.device)
    generator = torch.Generator().manual_seed(ctx.seed)
    x = torch.randn(train.batch_size, 1, 28, 28, generator=generator).to(device)
    y = torch.randint(0, 10, (train.batch_size,), generator=generator).to(device)
    x_meta = torch.randn(train.meta_batch_size, 1, 28, 28, generator=generator).to(device)
    y_meta = torch.randint(0, 10, (train.meta_batch_size,), generator=generator).to(device)

    def median_meta_ms(method: MetaWeightNet) -> tuple[float, float]:
        method.timing = True
        step, backward = [], []
        for i in range(iters + 2):
            method.train_step(x, y, x_meta, y_meta)
            if i >= 2:
                step.append(method.last_timings["meta_ms"])
                backward.append(method.last_timings["meta_backward_ms"])
        return statistics.median(step), statistics.median(backward)

    with torch.random.fork_rng():
        torch.manual_seed(ctx.seed)
        reference = median_meta_ms(MetaWeightNet(DeepCNN(10, 1, train.width, train.depth).to(device), meta))
        famus = FaMUS(DeepCNN(10, 1, train.width, train.depth).to(device), meta.replace(lambda_g=0.0))
    gated = len(famus.gated)
    k = min(meta.budget, gated)
    settings = {"all on": [1] * gated, f"top {k}": [0] * (gated - k) + [1] * k,
                f"bottom {k}": [1] * k + [0] * (gated - k), "all off": [0] * gated}
    rows: list[list[Any]] = [["MW-Net (reference)", "all", round(reference[0], 2), 1.0, round(reference[1], 2), 1.0]]
    for name, gates in settings.items():
        famus.forced_gates = gates
        step, backward = median_meta_ms(famus)
        rows.append([f"FaMUS gates pinned: {name}", sum(gates), round(step, 2), round(step / reference[0], 3),
                     round(backward, 2), round(backward / reference[1], 3)])
    return rows


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
    metrics: dict[str, Any] = {}
    rows = []
    for arm in ARMS:
        best = [r.best_accuracy for r in results[arm]]
        last = [r.last_accuracy for r in results[arm]]
        best_mean, best_std, best_se = _mean_se(best)
        last_mean, last_std, last_se = _mean_se(last)
        iteration = statistics.median(r.iteration_ms for r in results[arm])
        metrics[f"acc_{arm}"] = round(best_mean, 4)
        metrics[f"acc_best_{arm}"] = round(best_mean, 4)
        metrics[f"acc_best_se_{arm}"] = round(best_se, 4)
        metrics[f"acc_last_{arm}"] = round(last_mean, 4)
        metrics[f"acc_last_se_{arm}"] = round(last_se, 4)
        metrics[f"acc_best_std_{arm}"] = round(best_std, 4)
        metrics[f"acc_last_std_{arm}"] = round(last_std, 4)
        metrics[f"iter_ms_{arm}"] = round(iteration, 2)
        meta_ms = virtual_ms = None
        if arm != "ce":
            meta_ms = statistics.median(r.meta_step_ms for r in results[arm])
            virtual_ms = statistics.median(r.virtual_step_ms for r in results[arm])
            metrics[f"meta_step_ms_{arm}"] = round(meta_ms, 2)
            metrics[f"meta_backward_ms_{arm}"] = round(statistics.median(r.meta_backward_ms for r in results[arm]), 2)
            metrics[f"virtual_step_ms_{arm}"] = round(virtual_ms, 2)
        active = results[arm][0].mean_active_layers
        rows.append([arm, f"{best_mean:.4f} ± {best_se:.4f}", f"{last_mean:.4f} ± {last_se:.4f}",
                     "-" if virtual_ms is None else round(virtual_ms, 1), "-" if meta_ms is None else round(meta_ms, 1),
                     round(iteration, 1),
                     "-" if active is None else round(statistics.fmean(r.mean_active_layers for r in results[arm]), 2)])
    famus_run = results["famus"][0]
    metrics["famus_mean_active_layers"] = round(statistics.fmean(r.mean_active_layers for r in results["famus"]), 3)
    metrics["famus_gated_layers"] = len(FaMUS(DeepCNN(10, 1, base.width, base.depth), meta).gated)
    metrics["meta_step_ratio"] = round(metrics["meta_step_ms_famus"] / metrics["meta_step_ms_mwnet"], 3)
    metrics["meta_backward_ratio"] = round(metrics["meta_backward_ms_famus"] / metrics["meta_backward_ms_mwnet"], 3)
    metrics["iter_ratio"] = round(metrics["iter_ms_famus"] / metrics["iter_ms_mwnet"], 3)
    metrics["target_meta_step_ratio_met"] = metrics["meta_step_ratio"] <= TARGET_META_RATIO
    for kind in ("best", "last"):
        famus_acc, mwnet_acc = metrics[f"acc_{kind}_famus"], metrics[f"acc_{kind}_mwnet"]
        metrics[f"target_acc_within_se_{kind}_met"] = famus_acc >= mwnet_acc - metrics[f"acc_{kind}_se_mwnet"]
        metrics[f"target_above_ce_{kind}_met"] = min(famus_acc, mwnet_acc) > metrics[f"acc_{kind}_ce"]
    metrics["realised_noise_rate"] = round(famus_run.realised_noise_rate, 4)
    metrics["seeds"] = len(seeds)
    metrics["steps"] = base.steps

    sweep = _gate_sweep(ctx, base, meta, profile["sweep_iters"])
    plots = [_plot(ctx, results, metrics)]
    tables = [
        Table(f"MNIST digits, 40% symmetric noise, DeepCNN (10 conv + 1 linear), {len(seeds)} seeds × {base.steps} steps",
              ["method", "best acc (± s.e.)", "last acc (± s.e.)", "virtual ms", "meta step ms", "iteration ms",
               "active layers"], rows),
        Table("Meta-step time with the FaMUS gates pinned (random inputs, same shapes)",
              ["setting", "attached layers", "meta step ms", "ratio", "meta-backward ms", "ratio"], sweep),
    ]
    notes = [
        f"meta step FaMUS/MW-Net = {metrics['meta_step_ratio']} (target ≤ {TARGET_META_RATIO}: "
        f"{'met' if metrics['target_meta_step_ratio_met'] else 'not met'}); meta-backward alone "
        f"{metrics['meta_backward_ratio']}; whole iteration {metrics['iter_ratio']}",
        "meta step = step 2 of MW-Net (meta forward at ŵ, meta-backward to θ/η, optimiser updates); the virtual "
        "step (forward, weighted gradients with create_graph, gates) is timed separately and is not reduced by FaMUS",
        f"realised symmetric noise rate {metrics['realised_noise_rate']} (true class included: expected 0.36)",
    ]
    details = {"runs": {arm: [r.to_dict() for r in results[arm]] for arm in ARMS}, "gate_sweep": sweep,
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
