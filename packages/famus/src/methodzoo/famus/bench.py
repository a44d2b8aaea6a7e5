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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from methodzoo.famus.config import MetaConfig, TrainConfig
from methodzoo.famus.data import NoisyLabelData, prepare_noisy_data
from methodzoo.famus.methods import CrossEntropy, FaMUS, MetaWeightNet
from methodzoo.famus.models import DeepCNN
from methodzoo.famus.train import WARMUP_STEPS, evaluate
from methodzoo.shared.bench import BenchContext, Benchmark, BenchResult, Profiles, Table, Verdict
from methodzoo.shared.config import Config
from methodzoo.shared.device import resolve_device
from methodzoo.shared.seed import seeded
from methodzoo.shared.timing import InterleavedTiming, timed_call
from methodzoo.shared.train import EpochBatches, StepDecay

ARMS = ("ce", "mwnet", "famus")


@dataclass(frozen=True)
class Settings(Config):
    """The sizes of one profile of the benchmark."""

    seeds: int
    steps: int
    train_size: int | None  # noisy training samples (None: all left after the meta and test sets)
    width: int  # of the DeepCNN
    batch: int  # training and meta batch
    sweep_repeats: int  # paired iterations per pinned-gate setting


PROFILES = Profiles(
    quick=Settings(seeds=2, steps=300, train_size=2000, width=8, batch=32, sweep_repeats=12),
    full=Settings(seeds=5, steps=1500, train_size=None, width=16, batch=64, sweep_repeats=40),
)
TARGET_META_RATIO = 0.35


def _mean_se(values: list[float]) -> tuple[float, float, float]:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std, std / math.sqrt(len(values))


@dataclass
class ArmRun:
    """One arm of one seed: test accuracy over training and per-step timings."""

    eval_steps: list[int] = field(default_factory=list)
    eval_accuracy: list[float] = field(default_factory=list)
    timings: dict[str, list[float]] = field(default_factory=dict)
    active_layers: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return max(self.eval_accuracy)

    @property
    def last(self) -> float:
        return self.eval_accuracy[-1]


def _build(train: TrainConfig, meta: MetaConfig, data: NoisyLabelData, seed: int,
           device: torch.device) -> dict[str, CrossEntropy]:
    """CE, MW-Net and FaMUS from one initialisation (FaMUS shares MW-Net's initial meta-net)."""
    with seeded(seed, devices=[device]):
        model = DeepCNN(data.num_classes, data.train_images.shape[1], train.width, train.depth).to(device)
        mwnet = MetaWeightNet(copy.deepcopy(model), meta)
        return {"ce": CrossEntropy(copy.deepcopy(model), meta), "mwnet": mwnet,
                "famus": FaMUS(copy.deepcopy(model), meta, meta_net=copy.deepcopy(mwnet.meta_net), generator=seed)}


def _timed_step(method: CrossEntropy, batch: tuple[torch.Tensor, ...], device: torch.device) -> dict[str, float]:
    method.timing = True
    out, seconds = timed_call(lambda: method.train_step(*batch), device=device)
    record = {**method.last_timings, "iteration_ms": 1e3 * seconds}
    if "active_layers" in out:
        record["active_layers"] = out["active_layers"]
    return record


def _train_lockstep(ctx: BenchContext, train: TrainConfig, meta: MetaConfig, data: NoisyLabelData,
                    seed: int) -> tuple[dict[str, ArmRun], dict[str, CrossEntropy], list[float]]:
    """Train CE, MW-Net and FaMUS side by side: each step, the three take turns on the same batch.

    Interleaving makes the timings robust to changes in machine load (all arms see the same
    load), and each arm's training is exactly what it would be alone. Returns the runs, the
    trained methods and FaMUS's per-layer selection frequency.
    """
    device = resolve_device(ctx.device)
    data = data.to(device)
    methods = _build(train, meta, data, seed, device)
    schedules = {name: torch.optim.lr_scheduler.LambdaLR(
        m.optimizer, StepDecay(train.steps, meta.lr_milestones, meta.lr_gamma)) for name, m in methods.items()}
    batches = EpochBatches(data.train_images.shape[0], train.batch_size, seed=seed)
    meta_batches = EpochBatches(data.meta_images.shape[0], min(train.meta_batch_size, data.meta_images.shape[0]),
                                seed=seed + 7919)
    runs = {name: ArmRun() for name in methods}
    names = list(methods)
    famus = methods["famus"]
    assert isinstance(famus, FaMUS)
    selected = torch.zeros(len(famus.gated))
    for step in ctx.progress(range(train.steps), desc=f"famus bench seed {seed}"):
        index, meta_index = batches.batch(step).to(device), meta_batches.batch(step).to(device)
        batch = (data.train_images[index], data.train_labels[index], data.meta_images[meta_index],
                 data.meta_labels[meta_index])
        for name in names[step % 3:] + names[: step % 3]:
            record = _timed_step(methods[name], batch, device)
            schedules[name].step()
            if step >= WARMUP_STEPS:
                for key, value in record.items():
                    runs[name].timings.setdefault(key, []).append(value)
        if famus.last_gates is not None:
            selected += famus.last_gates.cpu()
        if (step + 1) % train.eval_every == 0 or step + 1 == train.steps:
            for name, method in methods.items():
                runs[name].eval_steps.append(step + 1)
                runs[name].eval_accuracy.append(evaluate(method.model, data.test_images, data.test_labels))
    return runs, methods, (selected / train.steps).tolist()


def _in_turns(records: Mapping[str, Sequence[Mapping[str, float]]], key: str) -> InterleavedTiming:
    """One phase's times (``key``, in ms) of methods that took turns step by step: the steps are
    the rounds of an interleaved timing, whose ratio is the median of per-step ratios."""
    return InterleavedTiming({name: tuple(record[key] / 1e3 for record in steps) for name, steps in records.items()})


def _gate_sweep(ctx: BenchContext, famus: FaMUS, mwnet: MetaWeightNet, data: NoisyLabelData,
                train: TrainConfig, repeats: int) -> list[list[Any]]:
    """Meta-step time with the gates pinned (all on / top K / bottom K / all off), each FaMUS
    iteration paired with an interleaved MW-Net iteration on the same batch; trained models."""
    device = resolve_device(ctx.device)
    data = data.to(device)
    batches = EpochBatches(data.train_images.shape[0], train.batch_size, seed=ctx.seed + 1)
    meta_batches = EpochBatches(data.meta_images.shape[0], min(train.meta_batch_size, data.meta_images.shape[0]),
                                seed=ctx.seed + 2)
    gated = len(famus.gated)
    k = min(famus.config.budget, gated)
    settings = {"all on": [1] * gated, f"top {k}": [0] * (gated - k) + [1] * k,
                f"bottom {k}": [1] * k + [0] * (gated - k), "all off": [0] * gated}
    rows: list[list[Any]] = []
    step = 0
    for label, gates in settings.items():
        famus.forced_gates = gates
        pairs = []
        for i in range(repeats):
            index, meta_index = batches.batch(step).to(device), meta_batches.batch(step).to(device)
            batch = (data.train_images[index], data.train_labels[index], data.meta_images[meta_index],
                     data.meta_labels[meta_index])
            first, second = (mwnet, famus) if i % 2 == 0 else (famus, mwnet)
            result = {id(first): _timed_step(first, batch, device)}
            result[id(second)] = _timed_step(second, batch, device)
            pairs.append((result[id(famus)], result[id(mwnet)]))
            step += 1
        pairs = pairs[1:]  # the first pair after a change of gates is a warm-up
        records = {"famus": [f for f, _ in pairs], "mwnet": [m for _, m in pairs]}
        meta_step, meta_backward = _in_turns(records, "meta_ms"), _in_turns(records, "meta_backward_ms")
        rows.append([f"FaMUS gates pinned: {label}", sum(gates),
                     round(meta_step.median_ms("famus"), 2), round(meta_step.ratio("famus", "mwnet"), 3),
                     round(meta_backward.median_ms("famus"), 2), round(meta_backward.ratio("famus", "mwnet"), 3)])
    famus.forced_gates = None
    return rows


def run(ctx: BenchContext) -> BenchResult:
    """The registered benchmark: the paper's defaults (all layers candidates, K = 4)."""
    return run_comparison(ctx, MetaConfig(), ctx.settings(PROFILES))


def run_comparison(ctx: BenchContext, meta: MetaConfig, settings: Settings) -> BenchResult:
    """CE vs MW-Net vs FaMUS with the given hyper-parameters and settings (see :data:`PROFILES`)."""
    seeds = [ctx.seed + i for i in range(settings.seeds)]
    base = TrainConfig(dataset="mnist-digits", noise="symmetric", rate=0.4, train_size=settings.train_size,
                       meta_size=100, test_size=1000, model="cnn", width=settings.width, depth=10,
                       batch_size=settings.batch, meta_batch_size=settings.batch, steps=settings.steps,
                       eval_every=max(1, settings.steps // 10), device=ctx.device)
    results: dict[str, list[ArmRun]] = {arm: [] for arm in ARMS}
    selection: list[list[float]] = []
    noise_rates = []
    for seed in ctx.progress(seeds, desc="famus seeds"):
        data = prepare_noisy_data(base.replace(seed=seed))
        noise_rates.append(data.noise.realised_rate)
        runs, methods, seed_frequency = _train_lockstep(ctx, base, meta, data, seed)
        selection.append(seed_frequency)
        for arm in ARMS:
            results[arm].append(runs[arm])
    famus_method, mwnet_method = methods["famus"], methods["mwnet"]
    assert isinstance(famus_method, FaMUS) and isinstance(mwnet_method, MetaWeightNet)
    sweep = _gate_sweep(ctx, famus_method, mwnet_method, data, base, settings.sweep_repeats)

    def pooled(arm: str, key: str) -> list[float]:
        return [v for r in results[arm] for v in r.timings[key]]

    def phase(key: str, arms: Sequence[str] = ARMS) -> InterleavedTiming:
        return _in_turns({arm: [{key: v} for v in pooled(arm, key)] for arm in arms}, key)

    def ratio(key: str) -> float:
        return phase(key, ("famus", "mwnet")).ratio("famus", "mwnet")

    metrics: dict[str, Any] = {}
    rows = []
    for arm in ARMS:
        best_mean, best_std, best_se = _mean_se([r.best for r in results[arm]])
        last_mean, last_std, last_se = _mean_se([r.last for r in results[arm]])
        metrics[f"acc_{arm}"] = round(best_mean, 4)
        metrics[f"acc_best_{arm}"] = round(best_mean, 4)
        metrics[f"acc_best_se_{arm}"] = round(best_se, 4)
        metrics[f"acc_last_{arm}"] = round(last_mean, 4)
        metrics[f"acc_last_se_{arm}"] = round(last_se, 4)
        metrics[f"acc_best_std_{arm}"] = round(best_std, 4)
        metrics[f"acc_last_std_{arm}"] = round(last_std, 4)
        metrics[f"iter_ms_{arm}"] = round(phase("iteration_ms").median_ms(arm), 2)
        cells = ["-", "-", "-"]
        if arm != "ce":
            for key, name in (("virtual_ms", "virtual_step_ms"), ("meta_ms", "meta_step_ms"),
                              ("meta_backward_ms", "meta_backward_ms")):
                metrics[f"{name}_{arm}"] = round(phase(key, (arm,)).median_ms(arm), 2)
            cells = [f"{metrics[f'virtual_step_ms_{arm}']:.1f}", f"{metrics[f'meta_step_ms_{arm}']:.1f}",
                     f"{metrics[f'meta_backward_ms_{arm}']:.1f}"]
        active = f"{statistics.fmean(pooled(arm, 'active_layers')):.2f}" if arm == "famus" else "-"
        rows.append([arm, f"{best_mean:.4f} ± {best_se:.4f}", f"{last_mean:.4f} ± {last_se:.4f}", *cells,
                     f"{metrics[f'iter_ms_{arm}']:.1f}", active])
    metrics["famus_mean_active_layers"] = round(statistics.fmean(pooled("famus", "active_layers")), 3)
    metrics["famus_gated_layers"] = len(famus_method.gated)
    metrics["meta_step_ratio"] = round(ratio("meta_ms"), 3)
    metrics["meta_backward_ratio"] = round(ratio("meta_backward_ms"), 3)
    metrics["iter_ratio"] = round(ratio("iteration_ms"), 3)
    metrics["target_meta_step_ratio_met"] = metrics["meta_step_ratio"] <= TARGET_META_RATIO
    for kind in ("best", "last"):
        famus_acc, mwnet_acc = metrics[f"acc_{kind}_famus"], metrics[f"acc_{kind}_mwnet"]
        metrics[f"target_acc_within_se_{kind}_met"] = famus_acc >= mwnet_acc - metrics[f"acc_{kind}_se_mwnet"]
        metrics[f"target_above_ce_{kind}_met"] = min(famus_acc, mwnet_acc) > metrics[f"acc_{kind}_ce"]
    metrics["realised_noise_rate"] = round(statistics.fmean(noise_rates), 4)
    metrics["seeds"] = len(seeds)
    metrics["steps"] = base.steps

    frequency = torch.tensor(selection).mean(0)  # (gated layers,)
    thirds = [float(part.mean()) for part in frequency.tensor_split(3)]
    metrics["famus_selection_bottom_mid_top"] = " / ".join(f"{v:.2f}" for v in thirds)
    plots = [_plot(ctx, results, metrics)]
    tables = [
        Table(f"MNIST digits, 40% symmetric noise, DeepCNN (10 conv + 1 linear), {len(seeds)} seeds × {base.steps} steps",
              ["method", "best acc (± s.e.)", "last acc (± s.e.)", "virtual ms", "meta step ms", "meta-backward ms",
               "iteration ms", "active layers"], rows),
        Table("Meta-step time with the FaMUS gates pinned, each against an interleaved MW-Net iteration",
              ["setting", "attached layers", "meta step ms", "ratio to MW-Net", "meta-backward ms",
               "ratio to MW-Net"], sweep),
        Table("How often FaMUS attached each layer (fraction of steps, mean over seeds)",
              ["layer", "selected"], [[u.name, round(float(f), 3)] for u, f in zip(famus_method.gated, frequency, strict=True)]),
    ]
    notes = [
        f"meta step FaMUS/MW-Net = {metrics['meta_step_ratio']} (target ≤ {TARGET_META_RATIO}: "
        f"{'met' if metrics['target_meta_step_ratio_met'] else 'not met'}); meta-backward alone "
        f"{metrics['meta_backward_ratio']}; whole iteration {metrics['iter_ratio']}",
        "the three arms train side by side, taking turns on each batch, so timings share the machine's load; "
        f"times are medians after {WARMUP_STEPS} warm-up steps and ratios medians of per-step ratios",
        "meta step = step 2 of MW-Net (meta forward at ŵ, meta-backward to θ/η, optimiser updates); the virtual "
        "step (forward, weighted gradients with create_graph, gates) is timed separately and is not reduced by FaMUS",
        f"FaMUS selection frequency, bottom / middle / top third of the gated layers: "
        f"{metrics['famus_selection_bottom_mid_top']}",
        f"realised symmetric noise rate {metrics['realised_noise_rate']} (true class included: expected 0.36)",
    ]
    # per-step timings stay out of the JSON (medians and ratios above summarise them)
    details = {"runs": {arm: [{"eval_steps": r.eval_steps, "eval_accuracy": r.eval_accuracy} for r in results[arm]]
                        for arm in ARMS}, "gate_sweep": sweep,
               "selection_frequency": {u.name: float(f) for u, f in zip(famus_method.gated, frequency, strict=True)},
               "profile": settings.to_dict(), "train_config": base.to_dict(), "meta_config": meta.to_dict()}
    return BenchResult(metrics=metrics, tables=tables, plots=plots, notes=notes, details=details,
                       verdicts=verdicts(metrics))


def verdicts(metrics: dict[str, Any]) -> list[Verdict]:
    """The claim, part by part, on the best test accuracy (the last one is in the main table)."""
    ratio = metrics["meta_step_ratio"]
    famus, mwnet, ce = (metrics[f"acc_best_{arm}"] for arm in ("famus", "mwnet", "ce"))
    se = metrics["acc_best_se_mwnet"]
    return [
        Verdict("FaMUS cuts MW-Net's meta step", held=bool(metrics["target_meta_step_ratio_met"]),
                measured=f"meta step FaMUS / MW-Net {ratio}", target=f"≤ {TARGET_META_RATIO}",
                ratio=ratio / TARGET_META_RATIO),
        Verdict("FaMUS keeps MW-Net's accuracy", held=bool(metrics["target_acc_within_se_best_met"]),
                measured=f"best test accuracy {famus:.4f} vs MW-Net {mwnet:.4f} ± {se:.4f}",
                target="within one s.e. of MW-Net or above"),
        Verdict("FaMUS and MW-Net both beat plain cross-entropy", held=bool(metrics["target_above_ce_best_met"]),
                measured=f"FaMUS {famus:.4f}, MW-Net {mwnet:.4f}, CE {ce:.4f}", target="both > CE"),
    ]


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
    return save_figure(fig, ctx.out_dir / "famus_accuracy_timing.png")


benchmark = Benchmark(
    name="famus",
    run=run,
    description="CE vs Meta-Weight-Net vs MW-Net + FaMUS on real MNIST digits with 40% symmetric label noise",
    claim="FaMUS cuts the meta step to ≤ 0.35× MW-Net's with accuracy within one s.e. of MW-Net, both above CE",
)
