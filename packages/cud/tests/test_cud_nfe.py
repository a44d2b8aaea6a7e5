"""NFE accounting: the per-iteration formulas against a live count of velocity evaluations."""

from __future__ import annotations

import copy

import pytest
import torch

from methodzoo.cud import CatchUpDistillation, CUDConfig, NetworkConfig, OneStepConfig, build_model
from methodzoo.cud.baselines import ConsistencyDistillation, ProgressiveDistillation
from methodzoo.cud.nfe import (
    CONSISTENCY_NFE_PER_SAMPLE,
    ONE_STEP_NFE_PER_SAMPLE,
    PROGRESSIVE_NFE_PER_SAMPLE,
    count_evaluations,
    cud_nfe_per_sample,
    iterations_for_budget,
    one_step_trajectory_nfe,
)
from methodzoo.cud.onestep import OneStepDistillation

BATCH = 6
NET = NetworkConfig.mlp(width=16, depth=1, dropout=0.0)


def _model(order: int = 1, coupling: str = "vae"):
    return build_model((2,), NET, order=order, coupling=coupling)


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("teacher", ["online", "ema"])
def test_cud_iteration_costs_2k_evaluations_online_and_one_more_with_ema(order: int, teacher: str) -> None:
    config = CUDConfig(order=order, teacher=teacher)  # type: ignore[arg-type]
    model = _model(order)
    ema = copy.deepcopy(model)
    counters = [count_evaluations(model), count_evaluations(ema)]
    CatchUpDistillation(config).loss(model, torch.randn(BATCH, 2), teacher=ema if teacher == "ema" else None,
                                     generator=torch.Generator().manual_seed(0))
    assert sum(c.evaluations for c in counters) == cud_nfe_per_sample(config) * BATCH
    assert cud_nfe_per_sample(config) == 2 * order + (teacher == "ema")


def test_flow_matching_iteration_costs_one_evaluation() -> None:
    model = _model(coupling="independent")
    counter = count_evaluations(model)
    CatchUpDistillation(CUDConfig.flow_matching()).loss(model, torch.randn(BATCH, 2))
    assert counter.evaluations == cud_nfe_per_sample(CUDConfig.flow_matching()) * BATCH == BATCH


def test_distillation_baselines_cost_three_evaluations_per_sample() -> None:
    teacher, student, target = _model(), _model(), _model()
    counters = [count_evaluations(m) for m in (teacher, student, target)]
    ConsistencyDistillation(coupling="vae").loss(student, target, teacher, torch.randn(BATCH, 2))
    assert sum(c.evaluations for c in counters) == CONSISTENCY_NFE_PER_SAMPLE * BATCH
    for counter in counters:
        counter.evaluations = 0
    ProgressiveDistillation(coupling="vae").loss(student, teacher, torch.randn(BATCH, 2), student_steps=4)
    assert sum(c.evaluations for c in counters) == PROGRESSIVE_NFE_PER_SAMPLE * BATCH


def test_one_step_stage_costs_trajectories_once_then_two_per_sample() -> None:
    config = OneStepConfig(trajectory_steps=4, stage_indices=(2, 4), num_trajectories=10)
    teacher = _model(coupling="independent")
    counter = count_evaluations(teacher)
    stage = OneStepDistillation(config)
    trajectories = stage.make_trajectories(teacher, torch.Generator().manual_seed(0), batch_size=3)
    assert counter.evaluations == one_step_trajectory_nfe(config) == 40
    student, anchor = _model(coupling="independent"), _model(coupling="independent")
    counters = [count_evaluations(student), count_evaluations(anchor)]
    index = torch.arange(BATCH)
    stage.loss(student, anchor, trajectories.z[index], trajectories.target(4, index))
    assert sum(c.evaluations for c in counters) == ONE_STEP_NFE_PER_SAMPLE * BATCH


def test_counting_leaves_outputs_unchanged_and_iterations_fit_the_budget() -> None:
    model = _model()
    x, t = torch.randn(BATCH, 2), torch.rand(BATCH)
    before = model(x, t)
    count_evaluations(model)
    assert count_evaluations(model) is model.velocity  # idempotent
    torch.testing.assert_close(model(x, t), before)
    assert iterations_for_budget(1200 * 256, 2, 256) == 600
    assert iterations_for_budget(1200 * 256, 6, 256) == 200
    assert iterations_for_budget(10, 3, 256) == 1
