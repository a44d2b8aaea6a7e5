"""``methodzoo bench cud``: few-step sample quality of CUD against flow matching and the
distillation baselines, with the same coupling and equal training cost in network evaluations.

Every arm gets the same budget of network evaluations (NFE, counted per sample, forward passes with
or without gradient: :mod:`methodzoo.cud.nfe`), the same network, batch, learning rate and seeds.
Flow matching (1 NFE per sample and iteration) therefore runs 2K times as many iterations as CUD
of order K. Arms on the 2-D mixture, each with the VAE coupling (CUD's) and the independent one:

* ``fm_vae`` / ``fm``: flow matching (ODE loss only); ``fm_vae`` is CUD's coupling (its metrics are
  also reported as ``cud_same_coupling_fm``), ``fm`` independent noise;
* ``cud`` / ``cud_independent``: CUD with the paper's setting (order 1, Δt ~ U(0, 1/16), ω1 = ω2 = 1,
  online teacher);
* ``consistency`` / ``progressive`` (+ ``_independent``): consistency distillation and progressive
  distillation (16 → 1 steps) from a flow-matching teacher trained on half of the budget, the
  distillation taking the other half;
* the sweep, VAE coupling: ``cud_T{1,2,4}`` (catch-up step T; ``cud`` is T = 16) and
  ``cud_order{2,3}`` (RK-23, RK-34 at T = 16);
* ``cud_equal_iterations``: the paper setting at flow matching's iterations (twice its NFE), the
  comparison made before the budgets were counted in NFE;
* ``cud1step`` / ``fm1step``: CUD / flow matching then the one-step stage, with the stored
  trajectories' NFE counted; ``torchcfm``: the peer's ``ConditionalFlowMatcher(sigma=0)``.

Then Euler at N ∈ {1, 2, 4, 8, 16} steps from the same latents: sliced Wasserstein distance, exact
W2 (assignment on equal-size samples), NLL under the true density, straightness of the 16-step
paths; mean and spread over seeds. MNIST digits (28×28): classifier-feature Fréchet distance of
``fm``, ``fm_vae`` and ``cud`` at equal NFE.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from methodzoo.cud.baselines import distill_consistency, distill_progressive
from methodzoo.cud.config import (
    ConsistencyConfig,
    CUDConfig,
    NetworkConfig,
    OneStepConfig,
    ProgressiveConfig,
    TrainConfig,
)
from methodzoo.cud.data import TrainingData, load_training_data, model_to_images
from methodzoo.cud.evaluation import sample_quality, straightness
from methodzoo.cud.networks import VelocityMLP
from methodzoo.cud.nfe import (
    CONSISTENCY_NFE_PER_SAMPLE,
    ONE_STEP_NFE_PER_SAMPLE,
    PROGRESSIVE_NFE_PER_SAMPLE,
    cud_nfe_per_sample,
    iterations_for_budget,
    one_step_trajectory_nfe,
)
from methodzoo.cud.onestep import distill_one_step
from methodzoo.cud.solvers import sample
from methodzoo.cud.training import fit
from methodzoo.shared.bench import BenchContext, Benchmark, BenchResult, Profiles, Table, Verdict
from methodzoo.shared.config import Config
from methodzoo.shared.device import resolve_device
from methodzoo.shared.errors import missing_extra
from methodzoo.shared.seed import seeded
from methodzoo.shared.timing import interleaved_timing, timed_call

STEPS = (1, 2, 4, 8, 16)
DIGIT_STEPS = (1, 2, 4, 16)
# Issue 18's target: CUD's distance over flow matching's (same coupling, equal NFE) at N Euler steps.
TARGET_RATIOS = {1: 0.5, 2: 0.5, 16: 1.1}
SWEEP_T = (1, 2, 4)
SWEEP_ORDERS = (2, 3)
VAE = CUDConfig()  # the paper's setting: order 1, T = 16, vae coupling
FM_VAE = CUDConfig.flow_matching().replace(coupling="vae", kl_weight=VAE.kl_weight)
FM_INDEPENDENT = CUDConfig.flow_matching()
# The arm each CUD variant is compared with: flow matching with the same coupling.
SAME_COUPLING_FM = {"vae": "fm_vae", "independent": "fm"}
CLAIMS = {"cud": "one-session CUD, paper setting (order 1, T = 16), VAE coupling",
          "cud_independent": "one-session CUD, paper setting, independent coupling",
          "cud1step": "CUD + the one-step stage (trajectory NFE counted), VAE coupling"}


@dataclass(frozen=True)
class Settings(Config):
    """The sizes of one profile of the benchmark."""

    toy: str  # the 2-D data set
    toy_steps: int  # flow-matching iterations; the NFE budget of every arm is toy_steps × toy_batch
    toy_batch: int
    toy_width: int  # of the 3-layer velocity MLP
    toy_samples: int  # samples per step count for SWD / NLL
    toy_w2_samples: int  # of which the first ones enter the exact W2 (O(n³))
    seeds: int  # 2-D seeds: ctx.seed, ctx.seed + 1, …
    one_step_trajectories: int  # stored trajectories of the one-step stage (their NFE is counted)
    digits_steps: int  # flow-matching iterations on the digits (the NFE budget / digits_batch)
    digits_batch: int
    digits_network: NetworkConfig
    digits_samples: int
    digits_train_images: int
    ema_decay: float


PROFILES = Profiles(
    quick=Settings(toy="8gaussians", toy_steps=1200, toy_batch=256, toy_width=96, toy_samples=2000,
                   toy_w2_samples=1000, seeds=3, one_step_trajectories=2000, digits_steps=240, digits_batch=32,
                   digits_network=NetworkConfig.tiny_unet(), digits_samples=400, digits_train_images=4000,
                   ema_decay=0.98),
    full=Settings(toy="8gaussians", toy_steps=8000, toy_batch=512, toy_width=256, toy_samples=5000,
                  toy_w2_samples=2000, seeds=5, one_step_trajectories=5000, digits_steps=8000, digits_batch=128,
                  digits_network=NetworkConfig.mnist_paper().replace(dropout=0.0), digits_samples=2000,
                  digits_train_images=4500, ema_decay=0.999),
)


def _log(message: str) -> None:
    print(f"[cud bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ----- the arms ------------------------------------------------------------------------------------
@dataclass
class Arm:
    """A trained model with its training cost."""

    model: nn.Module
    nfe: int
    iterations: int
    seconds: float = 0.0


class _PeerAsCUD(nn.Module):
    """A torchcfm-convention network (noise at s = 0) seen as a CUD velocity: −v(x, 1 − t)."""

    def __init__(self, net: VelocityMLP) -> None:
        super().__init__()
        self.net = net
        self.data_shape = (net.dim,)

    def forward(self, x: torch.Tensor, t: torch.Tensor, head: int = 1) -> torch.Tensor:
        return -self.net(x, 1.0 - t)


class _Budget:
    """Trains arms of one data set and seed at a common NFE budget."""

    def __init__(self, data: TrainingData, network: NetworkConfig, train: TrainConfig, budget: int,
                 device: torch.device, show: bool | None) -> None:
        self.data, self.network, self.train, self.budget = data, network, train, budget
        self.device, self.show = device, show

    def iterations(self, nfe_per_sample: int, budget: int | None = None) -> int:
        return iterations_for_budget(self.budget if budget is None else budget, nfe_per_sample,
                                     self.train.batch_size)

    def objective(self, cud: CUDConfig, budget: int | None = None, name: str = "") -> Arm:
        per_sample = cud_nfe_per_sample(cud)
        steps = self.iterations(per_sample, budget)
        run = fit(self.data, cud, self.network, self.train.replace(steps=steps), device=self.device,
                  progress=self.show, description=f"{name} {self.data.name}")
        return Arm(run.sampling_model, steps * per_sample * self.train.batch_size, steps)

    def distilled(self, kind: str, coupling: str, teacher: Arm) -> Arm:
        """Consistency or progressive distillation on the budget left after the teacher."""
        per_sample = CONSISTENCY_NFE_PER_SAMPLE if kind == "consistency" else PROGRESSIVE_NFE_PER_SAMPLE
        steps = self.iterations(per_sample, self.budget - teacher.nfe)
        train = self.train.replace(steps=steps)
        if kind == "consistency":
            result = distill_consistency(teacher.model, self.data, ConsistencyConfig(), train,  # type: ignore[arg-type]
                                         coupling=coupling, device=self.device, progress=self.show)
        else:
            result = distill_progressive(teacher.model, self.data, ProgressiveConfig(), train,  # type: ignore[arg-type]
                                         coupling=coupling, device=self.device, progress=self.show)
        return Arm(result.sampling_model, teacher.nfe + steps * per_sample * train.batch_size,
                   teacher.iterations + steps)

    def with_one_step_stage(self, cud: CUDConfig, trajectories: int, name: str) -> Arm:
        """``cud`` on 75 % of the budget left after the stored trajectories, the one-step stage on 25 %."""
        stage = OneStepConfig(trajectory_steps=16, stage_indices=(8, 12, 16), steps_per_stage=1,
                              num_trajectories=trajectories)
        rest = self.budget - one_step_trajectory_nfe(stage)
        base = self.objective(cud, budget=3 * rest // 4, name=name)
        stage_steps = max(len(stage.stage_indices), self.iterations(ONE_STEP_NFE_PER_SAMPLE, rest // 4))
        stage = stage.replace(steps_per_stage=stage_steps // len(stage.stage_indices))
        student = distill_one_step(base.model, stage, self.train.replace(steps=1), device=self.device,  # type: ignore[arg-type]
                                   progress=self.show)
        iterations = stage.steps_per_stage * len(stage.stage_indices)
        nfe = (base.nfe + one_step_trajectory_nfe(stage)
               + iterations * ONE_STEP_NFE_PER_SAMPLE * self.train.batch_size)
        return Arm(student.ema_student or student.student, nfe, base.iterations + iterations)

    def torchcfm(self) -> Arm:
        try:
            from torchcfm.conditional_flow_matching import ConditionalFlowMatcher
        except ImportError:
            raise missing_extra("torchcfm", "methodzoo-cud", "bench") from None
        from methodzoo.shared.train import Trainer, TrainerOptions

        train, data, device = self.train, self.data, self.device
        steps = self.iterations(1)
        with seeded(train.seed, devices=[device]):
            net = VelocityMLP(data.data_shape[0], self.network).to(device)
            matcher = ConditionalFlowMatcher(sigma=0.0)
            generator = torch.Generator().manual_seed(train.seed * 3 + 2)
            optimizer = torch.optim.Adam(net.parameters(), lr=train.lr, betas=(0.9, 0.999))
            trainer = Trainer(net, optimizer, options=TrainerOptions(ema_decay=train.ema_decay, progress=self.show,
                                                                     description="torchcfm"),
                              generators={"data": generator})

            def loss_fn(step: int) -> torch.Tensor:
                x1 = data.draw(train.batch_size, step, generator).to(device)  # peer: data at s = 1
                x0 = torch.randn(x1.shape, generator=generator).to(device)
                s, xs, us = matcher.sample_location_and_conditional_flow(x0, x1)
                return ((net(xs, s) - us) ** 2).mean()

            trainer.fit(loss_fn, steps)
        assert trainer.ema is not None
        return Arm(_PeerAsCUD(trainer.ema.model), steps * train.batch_size, steps)  # type: ignore[arg-type]


def _iteration_timing(data: TrainingData, network: NetworkConfig, batch: int) -> dict[str, float]:
    """Milliseconds per training iteration (loss, backward, Adam step) of flow matching and CUD of
    orders 1–3, measured interleaved so machine load hits every arm alike; and ratios to fm_vae."""
    from methodzoo.cud.networks import build_model
    from methodzoo.cud.objective import CatchUpDistillation

    configs = {"fm_vae": FM_VAE, "cud": VAE, **{f"cud_order{k}": VAE.replace(order=k) for k in SWEEP_ORDERS}}
    generator = torch.Generator().manual_seed(0)
    calls = {}
    for name, config in configs.items():
        model = build_model(data.data_shape, network, order=config.order, coupling=config.coupling)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        method = CatchUpDistillation(config)

        def step(model: nn.Module = model, optimizer: torch.optim.Optimizer = optimizer,
                 method: CatchUpDistillation = method) -> None:
            optimizer.zero_grad()
            method.loss(model, data.draw(batch, 0, generator), generator=generator)["loss"].backward()  # type: ignore[arg-type]
            optimizer.step()

        calls[name] = step
    timing = interleaved_timing(calls, rounds=21, warmup=3)
    out = {f"iteration_ms_{name}": round(timing.median_ms(name), 3) for name in configs}
    out.update({f"iteration_time_ratio_{name}_fm": round(timing.ratio(name, "fm_vae"), 3)
                for name in configs if name != "fm_vae"})
    return out


def _timed(make: Callable[[], Arm]) -> Arm:
    arm, seconds = timed_call(make)
    arm.seconds = seconds
    return arm


def _toy_arms(budget: _Budget, trajectories: int) -> dict[str, Arm]:
    arms: dict[str, Arm] = {}
    for coupling, fm_config, cud_config in (("vae", FM_VAE, VAE),
                                            ("independent", FM_INDEPENDENT,
                                             VAE.replace(coupling="independent", kl_weight=0.0))):
        suffix = "" if coupling == "vae" else "_independent"
        fm_name = SAME_COUPLING_FM[coupling]
        arms[fm_name] = _timed(lambda c=fm_config, n=fm_name: budget.objective(c, name=n))
        arms[f"cud{suffix}"] = _timed(lambda c=cud_config, n=f"cud{suffix}": budget.objective(c, name=n))
        teacher = _timed(lambda c=fm_config: budget.objective(c, budget=budget.budget // 2, name="teacher"))
        for kind in ("consistency", "progressive"):
            arm = _timed(lambda k=kind, c=coupling, t=teacher: budget.distilled(k, c, t))
            arm.seconds += teacher.seconds  # the teacher's training is part of the baseline's cost
            arms[f"{kind}{suffix}"] = arm
    for T in SWEEP_T:
        arms[f"cud_T{T}"] = _timed(lambda T=T: budget.objective(VAE.replace(catch_up_T=T), name=f"cud_T{T}"))
    # The comparison before issue 18: CUD at flow matching's iterations, i.e. twice its NFE.
    arms["cud_equal_iterations"] = _timed(lambda: budget.objective(VAE, budget=2 * budget.budget,
                                                                   name="cud_equal_iterations"))
    for order in SWEEP_ORDERS:
        arms[f"cud_order{order}"] = _timed(lambda k=order: budget.objective(VAE.replace(order=k), name=f"order{k}"))
    arms["cud1step"] = _timed(lambda: budget.with_one_step_stage(VAE, trajectories, "cud1step"))
    arms["fm1step"] = _timed(lambda: budget.with_one_step_stage(FM_VAE, trajectories, "fm1step"))
    arms["torchcfm"] = _timed(budget.torchcfm)
    return arms


# ----- evaluation ----------------------------------------------------------------------------------
def _evaluate(model: nn.Module, data: TrainingData, n: int, seed: int, steps: tuple[int, ...],
              w2_samples: int = 0) -> tuple[dict[int, dict[str, float]], dict[int, torch.Tensor]]:
    reference = data.reference(n, torch.Generator().manual_seed(seed + 1_000))
    scores: dict[int, dict[str, float]] = {}
    samples: dict[int, torch.Tensor] = {}
    for count in steps:
        result = sample(model, n, steps=count, solver="euler", generator=torch.Generator().manual_seed(seed),
                        data_shape=data.data_shape, return_trajectory=count == max(steps) and data.toy is not None)
        samples[count] = result.samples.cpu()
        scores[count] = sample_quality(data, samples[count], reference, seed, w2_samples=w2_samples)
        if result.trajectory is not None:
            scores[count]["straightness"] = straightness([x.cpu() for x in result.trajectory])
    return scores, samples


def _mean(values: list[float]) -> float:
    return statistics.fmean(values)


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _summarise(per_seed: list[dict[str, dict[int, dict[str, float]]]], metric: str, name: str,
               count: int) -> tuple[float, float]:
    values = [scores[name][count][metric] for scores in per_seed]
    return _mean(values), _std(values)


def _ratio_range(per_seed: list[dict[str, dict[int, dict[str, float]]]], metric: str, name: str, base: str,
                 count: int) -> tuple[float, float, float]:
    """(ratio of the seed means, smallest and largest per-seed ratio)."""
    ratios = [scores[name][count][metric] / scores[base][count][metric] for scores in per_seed]
    mean_ratio = (_mean([s[name][count][metric] for s in per_seed])
                  / _mean([s[base][count][metric] for s in per_seed]))
    return mean_ratio, min(ratios), max(ratios)


def _same_coupling_base(name: str) -> str:
    return SAME_COUPLING_FM["independent" if name.endswith("_independent") else "vae"]


# ----- the run -------------------------------------------------------------------------------------
def run(ctx: BenchContext) -> BenchResult:
    profile = ctx.settings(PROFILES)
    device = resolve_device(ctx.device)
    show = ctx.show_progress
    metrics: dict[str, Any] = {}
    tables: list[Table] = []
    notes: list[str] = []

    # ----- 2-D mixture with a known density, several seeds -------------------------------------
    toy = load_training_data(profile.toy)
    toy_net = NetworkConfig.mlp(width=profile.toy_width, depth=3, dropout=0.0)
    budget_nfe = profile.toy_steps * profile.toy_batch
    per_seed: list[dict[str, dict[int, dict[str, float]]]] = []
    costs: dict[str, list[Arm]] = {}
    toy_samples: dict[str, dict[int, torch.Tensor]] = {}
    seeds = [ctx.seed + i for i in range(profile.seeds)]
    for seed in seeds:
        train = TrainConfig(steps=profile.toy_steps, batch_size=profile.toy_batch, lr=1e-3,
                            ema_decay=profile.ema_decay, seed=seed)
        arms = _toy_arms(_Budget(toy, toy_net, train, budget_nfe, device, show), profile.one_step_trajectories)
        _log(f"{toy.name} seed {seed}: trained {len(arms)} arms in {sum(a.seconds for a in arms.values()):.0f} s")
        scores = {}
        for name, arm in arms.items():
            costs.setdefault(name, []).append(arm)
            scores[name], samples = _evaluate(arm.model, toy, profile.toy_samples, seed, STEPS,
                                              profile.toy_w2_samples)
            if seed == seeds[0]:
                toy_samples[name] = samples
        per_seed.append(scores)
        _log(f"{toy.name} seed {seed}: evaluated")
    names = list(per_seed[0])
    for name in names:
        for count in STEPS:
            for metric in ("swd", "w2", "nll"):
                mean, spread = _summarise(per_seed, metric, name, count)
                metrics[f"{metric}_{name}_{count}"] = round(mean, 5)
                if metric != "nll":
                    metrics[f"{metric}_{name}_{count}_std"] = round(spread, 5)
        metrics[f"straightness_{name}"] = round(_summarise(per_seed, "straightness", name, 16)[0], 5)
        metrics[f"straightness_{name}_std"] = round(_summarise(per_seed, "straightness", name, 16)[1], 5)
        metrics[f"nfe_train_{name}"] = costs[name][0].nfe
        metrics[f"iterations_{name}"] = costs[name][0].iterations
        metrics[f"train_seconds_{profile.toy}_{name}"] = round(_mean([a.seconds for a in costs[name]]), 2)
        if name != SAME_COUPLING_FM["vae"] and name != SAME_COUPLING_FM["independent"] and name != "torchcfm":
            base = _same_coupling_base(name)
            for count in STEPS:
                for metric in ("swd", "w2"):
                    ratio, low, high = _ratio_range(per_seed, metric, name, base, count)
                    metrics[f"{metric}_ratio_{name}_fm_{count}"] = round(ratio, 4)
                    metrics[f"{metric}_ratio_{name}_fm_{count}_min"] = round(low, 4)
                    metrics[f"{metric}_ratio_{name}_fm_{count}_max"] = round(high, 4)
            metrics[f"target_met_{name}"] = _target_met(metrics, name)
    for count in STEPS:  # the names for flow matching with CUD's coupling
        for metric in ("swd", "w2"):
            metrics[f"{metric}_cud_same_coupling_fm_{count}"] = metrics[f"{metric}_fm_vae_{count}"]
    metrics["budget_nfe_2d"] = budget_nfe
    metrics.update(_iteration_timing(toy, toy_net, profile.toy_batch))
    _log("2-D done")
    tables += _toy_tables(metrics, names, profile, seeds)

    # ----- MNIST digits at 28×28 -----------------------------------------------------------------
    digits = load_training_data("mnist-digits", limit=profile.digits_train_images)
    digits_train = TrainConfig(steps=profile.digits_steps, batch_size=profile.digits_batch, lr=1e-3,
                               ema_decay=profile.ema_decay, seed=ctx.seed)
    digits_budget = _Budget(digits, profile.digits_network, digits_train,
                            profile.digits_steps * profile.digits_batch, device, show)
    digit_scores: dict[str, dict[int, dict[str, float]]] = {}
    digit_samples: dict[str, dict[int, torch.Tensor]] = {}
    for name, config in (("fm", FM_INDEPENDENT), ("fm_vae", FM_VAE), ("cud", VAE)):
        arm = _timed(lambda c=config, n=name: digits_budget.objective(c, name=n))
        metrics[f"nfe_train_digits_{name}"] = arm.nfe
        metrics[f"iterations_digits_{name}"] = arm.iterations
        metrics[f"train_seconds_mnist-digits_{name}"] = round(arm.seconds, 2)
        digit_scores[name], digit_samples[name] = _evaluate(arm.model, digits, profile.digits_samples, ctx.seed,
                                                            DIGIT_STEPS)
        for count in DIGIT_STEPS:
            metrics[f"fd_digits_{name}_{count}"] = round(digit_scores[name][count]["fd_digits"], 4)
        _log(f"digits: {name} trained in {arm.seconds:.0f} s and evaluated")
    for count in DIGIT_STEPS:
        metrics[f"fd_ratio_cud_fm_{count}"] = round(metrics[f"fd_digits_cud_{count}"]
                                                    / metrics[f"fd_digits_fm_vae_{count}"], 4)
    tables.append(Table(f"MNIST digits 28×28: classifier-feature Fréchet distance (lower is better), Euler, "
                        f"equal NFE {profile.digits_steps * profile.digits_batch} (seed {ctx.seed}, "
                        f"{profile.digits_samples} samples)",
                        ["method", "iterations", *[f"N={s}" for s in DIGIT_STEPS]],
                        [[name, metrics[f"iterations_digits_{name}"],
                          *[round(digit_scores[name][s]["fd_digits"], 1) for s in DIGIT_STEPS]]
                         for name in digit_scores]))

    notes += [
        f"Budgets: every arm costs at most {budget_nfe} network evaluations (NFE) per 2-D seed: "
        f"{profile.toy_steps} flow-matching iterations at batch {profile.toy_batch}; CUD order K costs 2K "
        "NFE per sample and iteration (so order 1 runs half the iterations), the distillation baselines 3 "
        "(after a teacher on half the budget), the one-step stage 2 plus its stored trajectories.",
        "Ratios (swd_ratio_X_fm_N, w2_ratio_…) are against flow matching with the same coupling "
        "(fm_vae for VAE-coupled arms, fm for _independent ones), as the ratio of the seed means, with "
        "the per-seed range in _min/_max. Metrics are means over seeds "
        f"{seeds}; _std keys are the standard deviation over seeds.",
        "Wall-clock: train s is the mean training time per seed on a loaded shared CPU (indicative only); "
        "iteration_time_ratio_X_fm is the median per-iteration time ratio to fm_vae measured interleaved "
        f"(core interleaved_timing): CUD order 1 {metrics['iteration_time_ratio_cud_fm']}×, order 2 "
        f"{metrics['iteration_time_ratio_cud_order2_fm']}×, order 3 {metrics['iteration_time_ratio_cud_order3_fm']}×.",
        "The sweep rows (cud_T1, cud_T2, cud_T4, cud_order2, cud_order3) were chosen before the run; "
        "choosing the best of them on these same seeds is optimistic.",
    ]
    plots = [_plot_quality(ctx, metrics, names, digit_scores),
             _plot_scatter(ctx, toy_samples, ["fm_vae", "cud", "cud_T1", "consistency", "progressive", "cud1step"]),
             _plot_digits(ctx, digit_samples)]
    details = {"profile": ctx.profile, "toy": profile.toy, "seeds": seeds, "budget_nfe_2d": budget_nfe,
               "toy_network": toy_net.to_dict(), "digits_network": profile.digits_network.to_dict(),
               "cud": VAE.to_dict(), "per_seed_scores": per_seed, "digit_scores": digit_scores}
    return BenchResult(metrics=metrics, tables=tables, plots=plots, notes=notes, details=details,
                       verdicts=verdicts(metrics))


def _target_met(metrics: dict[str, Any], name: str) -> bool:
    return all(metrics[f"{metric}_ratio_{name}_fm_{s}"] <= target
               for metric in ("swd", "w2") for s, target in TARGET_RATIOS.items())


def _toy_tables(metrics: dict[str, Any], names: list[str], profile: Settings, seeds: list[int]) -> list[Table]:
    def cell(metric: str, name: str, count: int) -> str:
        return f"{metrics[f'{metric}_{name}_{count}']:.3f} ± {metrics[f'{metric}_{name}_{count}_std']:.3f}"

    tables = []
    for metric, title in (("swd", "sliced Wasserstein distance"), ("w2", "exact W2")):
        tables.append(Table(f"2-D {profile.toy}: {title} (lower is better), Euler, mean ± sd over seeds {seeds}, "
                            f"equal NFE {metrics['budget_nfe_2d']}",
                            ["method", "train NFE", "iterations", "train s", *[f"N={s}" for s in STEPS]],
                            [[name, metrics[f"nfe_train_{name}"], metrics[f"iterations_{name}"],
                              metrics[f"train_seconds_{profile.toy}_{name}"],
                              *[cell(metric, name, s) for s in STEPS]] for name in names]))
    compared = [n for n in names if f"swd_ratio_{n}_fm_1" in metrics]
    tables.append(Table("Ratio to flow matching with the same coupling at equal NFE (mean ratio [per-seed range]); "
                        "target ≤ 0.5 at N = 1, 2 and ≤ 1.1 at N = 16",
                        ["method", *[f"{m} N={s}" for m in ("swd", "w2") for s in TARGET_RATIOS], "target met"],
                        [[name, *[f"{metrics[f'{m}_ratio_{name}_fm_{s}']:.2f} "
                                  f"[{metrics[f'{m}_ratio_{name}_fm_{s}_min']:.2f}–"
                                  f"{metrics[f'{m}_ratio_{name}_fm_{s}_max']:.2f}]"
                                  for m in ("swd", "w2") for s in TARGET_RATIOS],
                          metrics[f"target_met_{name}"]] for name in compared]))
    tables.append(Table(f"2-D {profile.toy}: NLL under the true density and straightness of the 16-step paths "
                        "(lower is better)",
                        ["method", *[f"NLL N={s}" for s in STEPS], "straightness"],
                        [[name, *[round(metrics[f"nll_{name}_{s}"], 2) for s in STEPS],
                          f"{metrics[f'straightness_{name}']:.3f} ± {metrics[f'straightness_{name}_std']:.3f}"]
                         for name in names]))
    return tables


def _best_sweep_variant(metrics: dict[str, Any]) -> str:
    """The sweep row closest to the target (largest distance-ratio-over-target smallest)."""
    candidates = ["cud", *[f"cud_T{T}" for T in SWEEP_T], *[f"cud_order{k}" for k in SWEEP_ORDERS]]
    return min(candidates, key=lambda name: _worst(metrics, name))


def _worst(metrics: dict[str, Any], name: str) -> float:
    return max(metrics[f"{m}_ratio_{name}_fm_{s}"] / t for m in ("swd", "w2") for s, t in TARGET_RATIOS.items())


def verdicts(metrics: dict[str, Any]) -> list[Verdict]:
    """The claim per CUD variant: SWD and W2 over same-coupling flow matching's at equal NFE, against
    the target at each step count (ratio of seed means)."""
    claims = dict(CLAIMS)
    best = _best_sweep_variant(metrics)
    if best != "cud":
        claims[best] = f"best sweep row {best} (selected on the same seeds), VAE coupling"
    out = []
    for variant, claim in claims.items():
        measured = "; ".join(
            f"{m.upper()} " + ", ".join(f"{metrics[f'{m}_ratio_{variant}_fm_{s}']:.2f} at N = {s}"
                                        for s in TARGET_RATIOS) for m in ("swd", "w2"))
        out.append(Verdict(f"{claim}: few-step distances ≤ ½ of same-coupling flow matching's at equal NFE, "
                           "16-step ≤ 1.1×", held=bool(metrics[f"target_met_{variant}"]), measured=measured,
                           target=", ".join(f"≤ {t:g} at N = {s}" for s, t in TARGET_RATIOS.items()),
                           ratio=_worst(metrics, variant)))
    return out


# ----- plots ---------------------------------------------------------------------------------------
def _plot_quality(ctx: BenchContext, metrics: dict[str, Any], names: list[str], digit_scores: dict) -> Any:
    from methodzoo.shared.plotting import pyplot, save_figure

    plt = pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(14, 4))
    shown = [n for n in names if not n.endswith("_independent") and n not in ("fm", "torchcfm")]
    for name in shown:
        for axis, metric in zip(axes[:2], ("swd", "w2"), strict=True):
            axis.errorbar(STEPS, [metrics[f"{metric}_{name}_{s}"] for s in STEPS],
                          yerr=[metrics[f"{metric}_{name}_{s}_std"] for s in STEPS], marker="o", label=name,
                          capsize=2)
    for name, by_steps in digit_scores.items():
        axes[2].plot(DIGIT_STEPS, [by_steps[s]["fd_digits"] for s in DIGIT_STEPS], marker="o", label=name)
    titles = ["2-D: sliced Wasserstein (VAE coupling, equal NFE)", "2-D: exact W2 (VAE coupling, equal NFE)",
              "MNIST: classifier Fréchet distance"]
    for axis, title in zip(axes, titles, strict=True):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("Euler steps (NFE)")
        axis.set_title(title, fontsize=10)
        axis.legend(fontsize=7)
    return save_figure(figure, ctx.out_dir / "quality_vs_steps.png", dpi=90)


def _plot_scatter(ctx: BenchContext, samples: dict[str, dict[int, torch.Tensor]], names: list[str]) -> Any:
    from methodzoo.cud.plots import save_scatter_grid

    panels = [(f"{name} N={s}", samples[name][s][:600]) for name in names for s in STEPS]
    return save_scatter_grid(panels, ctx.out_dir / "samples_2d.png", columns=len(STEPS))


def _plot_digits(ctx: BenchContext, samples: dict[str, dict[int, torch.Tensor]]) -> Any:
    from methodzoo.shared.plotting import save_image_grid

    rows = [model_to_images(samples[name][s][:10]) for name in samples for s in DIGIT_STEPS]
    return save_image_grid(torch.cat(rows), ctx.out_dir / "samples_digits.png", columns=10, scale=2)


benchmark = Benchmark(
    name="cud",
    run=run,
    description="CUD vs flow matching, consistency and progressive distillation with the same coupling and "
                "equal training NFE: quality against Euler steps on a 2-D Gaussian mixture (several seeds) "
                "and real MNIST digits.",
    claim="Catch-up distillation gives much better few-step (1–2 step) samples than flow matching at "
          "equal training budget, and no worse many-step samples.",
)
