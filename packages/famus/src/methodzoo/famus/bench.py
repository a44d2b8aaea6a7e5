"""``methodzoo bench famus``: CE vs MW-Net vs MW-Net + FaMUS (and its controls) under label noise.

Quality: every arm trains the same ≥10-weight-layer CNN on the same split and noise per seed,
side by side (each step, the arms take turns on the same batch), long enough that plain CE
memorises the noisy labels; test accuracy (peak and last) with its spread over seeds, for 40 %
and 60 % symmetric noise and 40 % pair-flip noise. Arms: CE, MW-Net, FaMUS (the paper: every
weight layer a candidate, learned gates), FaMUS with the official code's candidate restriction
(last stage + classifier), and the paper's Table 4 control, K layers drawn at random each step.

Speed: the meta step (step 2: meta forward at ŵ, meta-backward, θ/η updates) of each arm against
MW-Net's on a ResNet-32 (3 stages × 5 basic blocks, CIFAR-sized input), taken in turns with the
core's :func:`~methodzoo.shared.timing.interleaved_timing`; plus the same phases, per step, from the
small-CNN training runs. What the gates learn: how often each layer is selected, and the lowest
attached layer, which sets how far the meta-backward has to run.
"""

from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
from torch import nn

from methodzoo.famus.config import Dataset, MetaConfig, NoiseKind, TrainConfig
from methodzoo.famus.data import NoisyLabelData, prepare_noisy_data
from methodzoo.famus.layers import layer_units
from methodzoo.famus.methods import CrossEntropy, FaMUS, MetaWeightNet
from methodzoo.famus.models import DeepCNN, ResNet32
from methodzoo.famus.train import WARMUP_STEPS, evaluate
from methodzoo.shared.bench import BenchContext, Benchmark, BenchResult, Profiles, Table, Verdict
from methodzoo.shared.config import Config, check
from methodzoo.shared.device import resolve_device
from methodzoo.shared.seed import make_generator, seeded
from methodzoo.shared.timing import InterleavedTiming, interleaved_timing, timed_call
from methodzoo.shared.train import EpochBatches, StepDecay

ARMS = ("ce", "mwnet", "famus")  # the original arms: their --json keys are kept
CONTROLS = ("famus_code", "random_k")
ALL_ARMS = ARMS + CONTROLS
LABELS = {"ce": "CE", "mwnet": "MW-Net", "famus": "MW-Net + FaMUS", "famus_code": "FaMUS, code's candidates",
          "random_k": "random K layers (Table 4)", "top_k": "gates pinned: top K", "all_off": "gates pinned: all off"}
NOISE_SETTINGS: dict[str, tuple[NoiseKind, float]] = {
    "sym40": ("symmetric", 0.4), "sym60": ("symmetric", 0.6), "pair40": ("pairflip", 0.4)}
TARGET_META_RATIO = 0.35


@dataclass(frozen=True)
class Settings(Config):
    """The sizes of one profile of the benchmark."""

    seeds: int
    steps: int
    train_size: int | None  # noisy training samples (None: all left after the meta and test sets)
    test_size: int
    width: int  # of the DeepCNN
    batch: int  # training and meta batch
    dataset: Dataset
    lr_milestones: tuple[float, ...]  # one early decay, so CE then has time to memorise the noise
    noise_settings: tuple[str, ...]  # keys of NOISE_SETTINGS; the first is the main one (unsuffixed keys)
    timing_width: int  # base width of the ResNet-32 of the timing
    timing_batch: int
    timing_rounds: int

    def validate(self) -> None:
        unknown = [s for s in self.noise_settings if s not in NOISE_SETTINGS]
        check(bool(self.noise_settings) and not unknown, "noise_settings must be among {}, got {}",
              list(NOISE_SETTINGS), list(self.noise_settings))
        check(self.seeds >= 1 and self.steps >= 1 and self.timing_rounds >= 1,
              "seeds, steps and timing_rounds must be >= 1, got {}, {}, {}", self.seeds, self.steps, self.timing_rounds)


PROFILES = Profiles(
    quick=Settings(seeds=5, steps=250, train_size=250, test_size=500, width=16, batch=32, dataset="sklearn-digits",
                   lr_milestones=(0.25,), noise_settings=("sym40",), timing_width=16, timing_batch=32,
                   timing_rounds=3),
    full=Settings(seeds=5, steps=3000, train_size=None, test_size=1000, width=16, batch=64, dataset="mnist-digits",
                  lr_milestones=(0.25,), noise_settings=("sym40", "sym60", "pair40"), timing_width=16,
                  timing_batch=100, timing_rounds=15),
)


def _mean_se(values: Sequence[float]) -> tuple[float, float, float]:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std, std / math.sqrt(len(values))


@dataclass
class ArmRun:
    """One arm of one seed: test accuracy over training and per-step records (timings, gates)."""

    eval_steps: list[int] = field(default_factory=list)
    eval_accuracy: list[float] = field(default_factory=list)
    timings: dict[str, list[float]] = field(default_factory=dict)

    @property
    def best(self) -> float:
        return max(self.eval_accuracy)

    @property
    def last(self) -> float:
        return self.eval_accuracy[-1]


def code_candidates(meta: MetaConfig, model: nn.Module) -> MetaConfig:
    """The official code's restriction in weight-layer units: only the last stage (the layers with
    the widest output, at the end) and the classifier are candidates, the classifier always on."""
    units = layer_units(model, meta.gate_granularity)
    params = dict(model.named_parameters())

    def out_channels(unit_index: int) -> int:
        return int(params[units[unit_index].parameters[0]].shape[0])

    widest = max(out_channels(i) for i in range(len(units) - 1))
    count = 1
    while count < len(units) and out_channels(len(units) - 1 - count) == widest:
        count += 1
    return meta.replace(candidate_layers=count, always_on_last=1)


def _build(arms: Sequence[str], train: TrainConfig, meta: MetaConfig, data: NoisyLabelData, seed: int,
           device: torch.device) -> dict[str, CrossEntropy]:
    """Every arm from one initialisation (the FaMUS arms share MW-Net's initial meta-net)."""
    with seeded(seed, devices=[device]):
        model = DeepCNN(data.num_classes, data.train_images.shape[1], train.width, train.depth).to(device)
        mwnet = MetaWeightNet(copy.deepcopy(model), meta)

        def famus(config: MetaConfig) -> FaMUS:
            return FaMUS(copy.deepcopy(model), config, meta_net=copy.deepcopy(mwnet.meta_net), generator=seed)

        builders: dict[str, Callable[[], CrossEntropy]] = {
            "ce": lambda: CrossEntropy(copy.deepcopy(model), meta), "mwnet": lambda: mwnet,
            "famus": lambda: famus(meta), "famus_code": lambda: famus(code_candidates(meta, model)),
            "random_k": lambda: famus(meta.replace(gate_policy="random"))}
        return {arm: builders[arm]() for arm in arms}


def _timed_step(method: CrossEntropy, batch: tuple[torch.Tensor, ...], device: torch.device) -> dict[str, float]:
    method.timing = True
    out, seconds = timed_call(lambda: method.train_step(*batch), device=device)
    record = {**method.last_timings, "iteration_ms": 1e3 * seconds}
    for key in ("active_layers", "lowest_attached_layer"):
        if key in out:
            record[key] = out[key]
    return record


def _train_lockstep(ctx: BenchContext, arms: Sequence[str], train: TrainConfig, meta: MetaConfig,
                    data: NoisyLabelData, seed: int) -> tuple[dict[str, ArmRun], dict[str, CrossEntropy], list[float]]:
    """Train the arms side by side: each step, they take turns (in rotating order) on the same batch.

    Interleaving makes the timings robust to changes in machine load (all arms see the same
    load), and each arm's training is exactly what it would be alone. Returns the runs, the
    trained methods and FaMUS's per-layer selection frequency.
    """
    device = resolve_device(ctx.device)
    data = data.to(device)
    methods = _build(arms, train, meta, data, seed, device)
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
        shift = step % len(names)
        for name in names[shift:] + names[:shift]:
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


def _random_subset(count: int, k: int, generator: torch.Generator) -> list[int]:
    chosen = set(torch.randperm(count, generator=generator)[:k].tolist())
    return [1 if i in chosen else 0 for i in range(count)]


def resnet32_timing(ctx: BenchContext, meta: MetaConfig, settings: Settings) -> dict[str, Any]:
    """Meta-step phases of each arm against MW-Net's on a ResNet-32, in turns (core ``interleaved_timing``).

    Arms: MW-Net; FaMUS with learned samplers but its K gates placed uniformly at random each call
    (what the trained gates amount to, see the selection frequencies), over every layer and over
    the code's candidates; the random-K control (no samplers); and two placements pinned, top K
    (the cheapest K) and all off (the floor: meta forward, head-only L_g backward, updates).
    """
    device = resolve_device(ctx.device)
    generator = make_generator(ctx.seed)
    n = settings.timing_batch
    x, xm = (torch.randn(n, 3, 32, 32, generator=generator).to(device) for _ in range(2))  # (n, 3, 32, 32)
    y, ym = (torch.randint(0, 10, (n,), generator=generator).to(device) for _ in range(2))
    with seeded(ctx.seed, devices=[device]):
        model = ResNet32(10, 3, settings.timing_width).to(device)
        mwnet = MetaWeightNet(copy.deepcopy(model), meta)

        def famus(config: MetaConfig) -> FaMUS:
            return FaMUS(copy.deepcopy(model), config, meta_net=copy.deepcopy(mwnet.meta_net), generator=ctx.seed)

        arms: dict[str, MetaWeightNet] = {"mwnet": mwnet, "famus": famus(meta),
                                          "famus_code": famus(code_candidates(meta, model)),
                                          "random_k": famus(meta.replace(gate_policy="random")),
                                          "top_k": famus(meta), "all_off": famus(meta)}
    units = len(layer_units(model, meta.gate_granularity))
    k = meta.budget
    pinned = {"top_k": [0] * (units - k) + [1] * k, "all_off": [0] * units}
    records: dict[str, list[dict[str, float]]] = {name: [] for name in arms}

    def call(name: str) -> None:
        method = arms[name]
        if isinstance(method, FaMUS) and name in ("famus", "famus_code"):
            method.forced_gates = _random_subset(len(method.gated), k, generator)
        elif isinstance(method, FaMUS) and name in pinned:
            method.forced_gates = pinned[name]
        method.timing = True
        method.iteration(x, y, xm, ym)
        records[name].append(dict(method.last_timings))

    warmup = 1
    whole = interleaved_timing({name: partial(call, name) for name in arms}, rounds=settings.timing_rounds,
                               warmup=warmup, device=device)
    timed = {name: steps[warmup:] for name, steps in records.items()}
    phases = {key: _in_turns(timed, key) for key in ("meta_ms", "meta_forward_ms", "meta_backward_ms", "virtual_ms")}
    out: dict[str, Any] = {"layers": units, "batch": n, "width": settings.timing_width, "rounds": settings.timing_rounds}
    for name in arms:
        out[name] = {"meta_step_ms": phases["meta_ms"].median_ms(name),
                     "meta_forward_ms": phases["meta_forward_ms"].median_ms(name),
                     "meta_backward_ms": phases["meta_backward_ms"].median_ms(name),
                     "virtual_step_ms": phases["virtual_ms"].median_ms(name),
                     "iteration_ms": whole.median_ms(name),
                     "meta_step_ratio": phases["meta_ms"].ratio(name, "mwnet"),
                     "meta_backward_ratio": phases["meta_backward_ms"].ratio(name, "mwnet"),
                     "iteration_ratio": whole.ratio(name, "mwnet")}
    return out


def run(ctx: BenchContext) -> BenchResult:
    """The registered benchmark: the paper's defaults (every weight layer a candidate, K = 4)."""
    return run_comparison(ctx, MetaConfig(), ctx.settings(PROFILES))


def _train_config(ctx: BenchContext, settings: Settings, setting: str) -> TrainConfig:
    noise, rate = NOISE_SETTINGS[setting]
    return TrainConfig(dataset=settings.dataset, noise=noise, rate=rate, train_size=settings.train_size,
                       meta_size=100, test_size=settings.test_size, model="cnn", width=settings.width, depth=10,
                       batch_size=settings.batch, meta_batch_size=settings.batch, steps=settings.steps,
                       eval_every=max(1, settings.steps // 20), device=ctx.device)


@dataclass
class SettingRuns:
    """All seeds of one noise setting."""

    runs: dict[str, list[ArmRun]]
    selection: list[list[float]]
    noise_rates: list[float]
    methods: dict[str, CrossEntropy]


def run_comparison(ctx: BenchContext, meta: MetaConfig, settings: Settings) -> BenchResult:
    """All arms under every noise setting of ``settings`` (see :data:`PROFILES`), then the ResNet-32 timing."""
    meta = meta.replace(lr_milestones=settings.lr_milestones)
    seeds = [ctx.seed + i for i in range(settings.seeds)]
    by_setting: dict[str, SettingRuns] = {}
    for setting in settings.noise_settings:
        base = _train_config(ctx, settings, setting)
        collected = SettingRuns({arm: [] for arm in ALL_ARMS}, [], [], {})
        for seed in ctx.progress(seeds, desc=f"famus {setting} seeds"):
            data = prepare_noisy_data(base.replace(seed=seed))
            collected.noise_rates.append(data.noise.realised_rate)
            runs, collected.methods, frequency = _train_lockstep(ctx, ALL_ARMS, base, meta, data, seed)
            collected.selection.append(frequency)
            for arm in ALL_ARMS:
                collected.runs[arm].append(runs[arm])
        by_setting[setting] = collected
    timing = resnet32_timing(ctx, meta, settings)
    metrics = _metrics(by_setting, timing, settings)
    main = by_setting[settings.noise_settings[0]]
    famus_method = main.methods["famus"]
    assert isinstance(famus_method, FaMUS)
    frequency = torch.tensor(main.selection).mean(0)  # (gated layers,)
    metrics["famus_selection_bottom_mid_top"] = " / ".join(
        f"{float(part.mean()):.2f}" for part in frequency.tensor_split(3))
    tables = _tables(by_setting, timing, metrics, settings, famus_method, frequency)
    notes = _notes(metrics, settings)
    details = {"runs": {setting: {arm: [{"eval_steps": r.eval_steps, "eval_accuracy": r.eval_accuracy}
                                        for r in collected.runs[arm]] for arm in ALL_ARMS}
                        for setting, collected in by_setting.items()},
               "selection_frequency": {u.name: float(f) for u, f in zip(famus_method.gated, frequency, strict=True)},
               "resnet32_timing": timing, "profile": settings.to_dict(),
               "train_config": _train_config(ctx, settings, settings.noise_settings[0]).to_dict(), "meta_config": meta.to_dict()}
    plots = [_plot(ctx, main.runs, timing, settings.noise_settings[0])]
    return BenchResult(metrics=metrics, tables=tables, plots=plots, notes=notes, details=details,
                       verdicts=verdicts(metrics))


def _metrics(by_setting: Mapping[str, SettingRuns], timing: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    first = settings.noise_settings[0]
    metrics: dict[str, Any] = {"main_setting": first}
    for setting, collected in by_setting.items():
        for arm in ALL_ARMS:
            runs = collected.runs[arm]
            for kind, values in (("best", [r.best for r in runs]), ("last", [r.last for r in runs])):
                mean, std, se = _mean_se(values)
                metrics[f"acc_{kind}_{arm}_{setting}"] = round(mean, 4)
                metrics[f"acc_{kind}_se_{arm}_{setting}"] = round(se, 4)
                if setting == first:  # the original, unsuffixed keys: the main (first) setting, 40 % symmetric
                    metrics[f"acc_{kind}_{arm}"] = round(mean, 4)
                    metrics[f"acc_{kind}_se_{arm}"] = round(se, 4)
                    metrics[f"acc_{kind}_std_{arm}"] = round(std, 4)
            if setting == first:
                metrics[f"acc_{arm}"] = metrics[f"acc_best_{arm}"]
        drops = [r.best - r.last for r in collected.runs["ce"]]
        drop, _, drop_se = _mean_se(drops)
        metrics[f"ce_peak_{setting}"] = metrics[f"acc_best_ce_{setting}"]
        metrics[f"ce_last_{setting}"] = metrics[f"acc_last_ce_{setting}"]
        metrics[f"ce_drop_{setting}"] = round(drop, 4)
        metrics[f"ce_drop_se_{setting}"] = round(drop_se, 4)
        metrics[f"realised_noise_rate_{setting}"] = round(statistics.fmean(collected.noise_rates), 4)
    main = by_setting[first]

    def pooled(arm: str, key: str) -> list[float]:
        return [v for r in main.runs[arm] for v in r.timings[key]]

    def phase(key: str, arms: Sequence[str]) -> InterleavedTiming:
        return _in_turns({arm: [{key: v} for v in pooled(arm, key)] for arm in arms}, key)

    for arm in ALL_ARMS:
        metrics[f"iter_ms_{arm}"] = round(phase("iteration_ms", (arm,)).median_ms(arm), 2)
        if arm == "ce":
            continue
        for key, name in (("virtual_ms", "virtual_step_ms"), ("meta_ms", "meta_step_ms"),
                          ("meta_backward_ms", "meta_backward_ms"), ("meta_forward_ms", "meta_forward_ms")):
            metrics[f"{name}_{arm}"] = round(phase(key, (arm,)).median_ms(arm), 2)
        if arm == "mwnet":
            continue
        suffix = "" if arm == "famus" else f"_{arm}"
        pair = ("famus" if arm == "famus" else arm, "mwnet")
        metrics[f"meta_step_ratio{suffix}"] = round(phase("meta_ms", pair).ratio(arm, "mwnet"), 3)
        metrics[f"meta_backward_ratio{suffix}"] = round(phase("meta_backward_ms", pair).ratio(arm, "mwnet"), 3)
        metrics[f"iter_ratio{suffix}"] = round(phase("iteration_ms", pair).ratio(arm, "mwnet"), 3)
        metrics[f"mean_active_layers_{arm}"] = round(statistics.fmean(pooled(arm, "active_layers")), 3)
        metrics[f"lowest_attached_layer_{arm}"] = round(statistics.fmean(pooled(arm, "lowest_attached_layer")), 3)
    layers = len(main.methods["famus"].units) if isinstance(main.methods["famus"], FaMUS) else 0
    metrics["famus_layers"] = layers
    metrics["famus_gated_layers"] = len(main.methods["famus"].gated) if isinstance(main.methods["famus"], FaMUS) else 0
    metrics["famus_mean_active_layers"] = metrics["mean_active_layers_famus"]
    metrics["target_meta_step_ratio_met"] = metrics["meta_step_ratio"] <= TARGET_META_RATIO
    metrics["resnet32_layers"] = timing["layers"]
    for arm in ("mwnet", "famus", "famus_code", "random_k", "top_k", "all_off"):
        for key in ("meta_step_ms", "meta_forward_ms", "meta_backward_ms", "virtual_step_ms", "iteration_ms"):
            metrics[f"{key}_resnet32_{arm}"] = round(timing[arm][key], 2)
        if arm != "mwnet":
            metrics[f"meta_step_ratio_resnet32_{arm}"] = round(timing[arm]["meta_step_ratio"], 3)
            metrics[f"meta_backward_ratio_resnet32_{arm}"] = round(timing[arm]["meta_backward_ratio"], 3)
            metrics[f"iter_ratio_resnet32_{arm}"] = round(timing[arm]["iteration_ratio"], 3)
    for kind in ("best", "last"):
        mwnet, se = metrics[f"acc_{kind}_mwnet"], metrics[f"acc_{kind}_se_mwnet"]
        metrics[f"target_acc_within_se_{kind}_met"] = metrics[f"acc_{kind}_famus"] >= mwnet - se
        metrics[f"target_acc_within_se_{kind}_met_famus_code"] = metrics[f"acc_{kind}_famus_code"] >= mwnet - se
        metrics[f"target_above_ce_{kind}_met"] = min(metrics[f"acc_{kind}_famus"], mwnet) > metrics[f"acc_{kind}_ce"]
    metrics["realised_noise_rate"] = metrics[f"realised_noise_rate_{first}"]
    metrics["seeds"] = settings.seeds
    metrics["steps"] = settings.steps
    return metrics


def _cell(metrics: Mapping[str, Any], kind: str, arm: str, setting: str) -> str:
    return f"{metrics[f'acc_{kind}_{arm}_{setting}']:.4f} ± {metrics[f'acc_{kind}_se_{arm}_{setting}']:.4f}"


def _tables(by_setting: Mapping[str, SettingRuns], timing: Mapping[str, Any], metrics: Mapping[str, Any],
            settings: Settings, famus_method: FaMUS, frequency: torch.Tensor) -> list[Table]:
    accuracy_rows = [[setting, LABELS[arm], _cell(metrics, "best", arm, setting), _cell(metrics, "last", arm, setting)]
                     for setting in by_setting for arm in ALL_ARMS]
    overfit_rows = [[setting, metrics[f"realised_noise_rate_{setting}"], f"{metrics[f'ce_peak_{setting}']:.4f}",
                     f"{metrics[f'ce_last_{setting}']:.4f}",
                     f"{metrics[f'ce_drop_{setting}']:.4f} ± {metrics[f'ce_drop_se_{setting}']:.4f}"]
                    for setting in by_setting]
    resnet_rows = [[LABELS[arm], f"{timing[arm]['meta_forward_ms']:.1f}", f"{timing[arm]['meta_backward_ms']:.1f}",
                    f"{timing[arm]['meta_step_ms']:.1f}",
                    "1" if arm == "mwnet" else f"{timing[arm]['meta_step_ratio']:.3f}",
                    "1" if arm == "mwnet" else f"{timing[arm]['meta_backward_ratio']:.3f}",
                    f"{timing[arm]['iteration_ms']:.1f}",
                    "1" if arm == "mwnet" else f"{timing[arm]['iteration_ratio']:.3f}"]
                   for arm in ("mwnet", "famus", "famus_code", "random_k", "top_k", "all_off")]
    small_rows = []
    for arm in ALL_ARMS[1:]:
        ratio = "1" if arm == "mwnet" else f"{metrics['meta_step_ratio' + ('' if arm == 'famus' else '_' + arm)]:.3f}"
        lowest = "0 (all on)" if arm == "mwnet" else f"{metrics[f'lowest_attached_layer_{arm}']:.2f}"
        active = str(metrics["famus_layers"]) if arm == "mwnet" else f"{metrics[f'mean_active_layers_{arm}']:.2f}"
        small_rows.append([LABELS[arm], f"{metrics[f'virtual_step_ms_{arm}']:.1f}",
                           f"{metrics[f'meta_forward_ms_{arm}']:.1f}", f"{metrics[f'meta_backward_ms_{arm}']:.1f}",
                           f"{metrics[f'meta_step_ms_{arm}']:.1f}", ratio, active, lowest])
    noise_title = ", ".join(by_setting)
    return [
        Table(f"{settings.dataset}, DeepCNN (10 conv+BN + 1 linear), {settings.seeds} seeds × {settings.steps} steps: "
              f"clean test accuracy, mean ± s.e. ({noise_title})", ["noise", "arm", "peak", "final"], accuracy_rows),
        Table("CE memorises the noisy labels: its peak vs its final test accuracy (drop: mean ± s.e. over seeds)",
              ["noise", "realised flip rate", "CE peak", "CE final", "drop"], overfit_rows),
        Table(f"ResNet-32 (3 stages × 5 basic blocks, width {timing['width']}, {timing['layers']} layers), batch "
              f"{timing['batch']}, 32×32×3 input: median ms in {timing['rounds']} interleaved rounds; ratios to MW-Net",
              ["arm", "meta forward ms", "meta-backward ms", "meta step ms", "meta step ratio", "meta-backward ratio",
               "iteration ms", "iteration ratio"], resnet_rows),
        Table(f"Small CNN training runs ({metrics['main_setting']}): median ms per step and the layers attached "
              f"(lowest attached: index of the first attached layer, 0 = first conv, {metrics['famus_layers']} = none)",
              ["arm", "virtual step", "meta forward", "meta-backward", "meta step", "meta step ratio", "attached layers",
               "lowest attached (mean)"], small_rows),
        Table("How often the learned FaMUS gates attached each layer (fraction of steps, mean over seeds)",
              ["layer", "selected"],
              [[u.name, round(float(f), 3)] for u, f in zip(famus_method.gated, frequency, strict=True)]),
    ]


def _notes(metrics: Mapping[str, Any], settings: Settings) -> list[str]:
    return [
        f"ResNet-32 meta step / MW-Net's: FaMUS (all layers candidates) {metrics['meta_step_ratio_resnet32_famus']}, "
        f"code's candidates {metrics['meta_step_ratio_resnet32_famus_code']}, random K "
        f"{metrics['meta_step_ratio_resnet32_random_k']}, top K pinned {metrics['meta_step_ratio_resnet32_top_k']}, "
        f"all off {metrics['meta_step_ratio_resnet32_all_off']} (target ≤ {TARGET_META_RATIO})",
        f"small-CNN training runs: meta step FaMUS / MW-Net {metrics['meta_step_ratio']}, code's candidates "
        f"{metrics['meta_step_ratio_famus_code']}, random K {metrics['meta_step_ratio_random_k']}",
        "the arms train side by side, taking turns on each batch, so timings share the machine's load; times are "
        f"medians after {WARMUP_STEPS} warm-up steps and ratios medians of per-step ratios",
        "meta step = step 2 (meta forward at ŵ, meta-backward to θ/η, optimiser updates); the virtual step (forward, "
        "weighted gradients with create_graph, gates) is timed separately and is not reduced by FaMUS",
        f"learned FaMUS selection frequency, bottom / middle / top third of the gated layers: "
        f"{metrics['famus_selection_bottom_mid_top']}; with Eq. 9's straight-through form L_c gives the gates no "
        "gradient, so they learn the count (L_r) but not which layers",
        f"schedule: SGD lr 0.1, ×0.1 at {list(settings.lr_milestones)} of the run, so CE has most of the run to "
        "memorise the noise",
    ]


def verdicts(metrics: Mapping[str, Any]) -> list[Verdict]:
    """The claim, part by part: speed at ResNet-32 width and on the small CNN, accuracy on the final
    test accuracy under the main noise setting (the peak is given alongside), and the controls."""
    out = []
    for arm, where in (("famus", "all layers candidates, gates placed as learned"),
                       ("famus_code", "the official code's candidates")):
        ratio = metrics[f"meta_step_ratio_resnet32_{arm}"]
        out.append(Verdict(f"FaMUS cuts MW-Net's meta step at ResNet-32 width ({where})",
                           held=ratio <= TARGET_META_RATIO, measured=f"meta step ratio {ratio}",
                           target=f"≤ {TARGET_META_RATIO}", ratio=ratio / TARGET_META_RATIO))
    ratio = metrics["meta_step_ratio"]
    out.append(Verdict("FaMUS cuts MW-Net's meta step (small CNN training runs, learned gates)",
                       held=bool(metrics["target_meta_step_ratio_met"]), measured=f"meta step ratio {ratio}",
                       target=f"≤ {TARGET_META_RATIO}", ratio=ratio / TARGET_META_RATIO))
    main = metrics["main_setting"]
    mwnet, se = metrics["acc_last_mwnet"], metrics["acc_last_se_mwnet"]
    for arm in ("famus", "famus_code"):
        acc, peak = metrics[f"acc_last_{arm}"], metrics[f"acc_best_{arm}"]
        out.append(Verdict(f"{LABELS[arm]} keeps MW-Net's accuracy ({main}, final)",
                           held=acc >= mwnet - se,
                           measured=f"final {acc:.4f} vs MW-Net {mwnet:.4f} ± {se:.4f} (gap {acc - mwnet:+.4f}); "
                                    f"peak {peak:.4f} vs {metrics['acc_best_mwnet']:.4f}",
                           target="within one s.e. of MW-Net or above"))
    famus, ce = metrics["acc_last_famus"], metrics["acc_last_ce"]
    out.append(Verdict(f"FaMUS and MW-Net both beat plain cross-entropy ({main}, final)",
                       held=min(famus, mwnet) > ce,
                       measured=f"FaMUS {famus:.4f}, MW-Net {mwnet:.4f}, CE {ce:.4f} (smaller gap "
                                f"{min(famus, mwnet) - ce:+.4f})", target="both > CE"))
    drop, drop_se = metrics[f"ce_drop_{main}"], metrics[f"ce_drop_se_{main}"]
    out.append(Verdict(f"the budget is long enough that CE overfits the noisy labels ({main})",
                       held=drop > 2 * drop_se and drop > 0.01,
                       measured=f"CE peak {metrics['acc_best_ce']:.4f} → final {metrics['acc_last_ce']:.4f} "
                                f"(drop {drop:.4f} ± {drop_se:.4f})", target="drop > 0.01 and > 2 s.e."))
    random_k, random_se = metrics["acc_last_random_k"], metrics["acc_last_se_random_k"]
    out.append(Verdict(f"learned gates beat K layers drawn at random (Table 4; {main}, final)",
                       held=famus >= random_k + random_se,
                       measured=f"FaMUS {famus:.4f} vs random K {random_k:.4f} ± {random_se:.4f} "
                                f"(gap {famus - random_k:+.4f})", target="above random K by one s.e."))
    return out


def _plot(ctx: BenchContext, runs: Mapping[str, list[ArmRun]], timing: Mapping[str, Any], setting: str) -> Any:
    from methodzoo.shared.plotting import pyplot, save_figure

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for arm in ALL_ARMS:
        steps = runs[arm][0].eval_steps
        curves = torch.tensor([r.eval_accuracy for r in runs[arm]])  # (seeds, evals)
        mean = curves.mean(0)
        left.plot(steps, mean.numpy(), label=LABELS[arm])
        if curves.shape[0] > 1:
            spread = curves.std(0)
            left.fill_between(steps, (mean - spread).numpy(), (mean + spread).numpy(), alpha=0.15)
    left.set_xlabel("step")
    left.set_ylabel("clean test accuracy")
    left.set_title(f"{setting} noise (mean ± std over seeds)")
    left.legend(fontsize=7)
    arms = ["mwnet", "famus", "famus_code", "random_k", "top_k", "all_off"]
    names = ["MW-Net", "FaMUS", "code cand.", "random K", "top K", "all off"]
    forward = [timing[a]["meta_forward_ms"] for a in arms]
    rest = [timing[a]["meta_step_ms"] - f for a, f in zip(arms, forward, strict=True)]
    right.bar(names, forward, label="meta forward")
    right.bar(names, rest, bottom=forward, label="meta-backward + updates")
    right.set_ylabel("median ms (ResNet-32)")
    right.set_title("meta step at ResNet-32 width")
    right.legend(fontsize=7)
    return save_figure(fig, ctx.out_dir / "famus_accuracy_timing.png")


benchmark = Benchmark(
    name="famus",
    run=run,
    description="CE vs Meta-Weight-Net vs MW-Net + FaMUS (with the code's candidates and random-K controls) "
                "under 40/60% symmetric and pair-flip label noise; meta-step timing at ResNet-32 width",
    claim="FaMUS cuts the meta step to ≤ 0.35× MW-Net's with accuracy within one s.e. of MW-Net, both above CE",
)
