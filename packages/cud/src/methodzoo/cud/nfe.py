"""Training cost in network evaluations (NFE): one NFE is one sample through the velocity network
v_θ (a forward pass on a batch of B samples is B NFE), with or without gradient. The coupling
encoder (a far smaller network) is not counted.

Per training sample and iteration:

* flow matching: 1 (the student);
* CUD of order K with the online teacher: 2K — the student (whose detached first head is k1), the
  K − 1 further Runge–Kutta slopes and the K targets; with the EMA teacher 2K + 1 (its own k1);
* consistency distillation: 3 (teacher Euler step, student, target network θ⁻);
* progressive distillation: 3 (two teacher Euler steps, student);
* the one-step stage: 2 (student, its EMA anchor), plus ``num_trajectories × trajectory_steps``
  once for the stored trajectories.

:class:`CountingVelocity` counts them on a live model; the tests check these formulas against it.
"""

from __future__ import annotations

import torch

from methodzoo.cud.config import CUDConfig, OneStepConfig
from methodzoo.cud.networks import CUDModel, VelocityNetwork

#: NFE per sample and iteration of the two distillation baselines.
CONSISTENCY_NFE_PER_SAMPLE = 3
PROGRESSIVE_NFE_PER_SAMPLE = 3
ONE_STEP_NFE_PER_SAMPLE = 2


def cud_nfe_per_sample(config: CUDConfig) -> int:
    """Network evaluations per training sample of one CUD (or flow-matching) iteration."""
    if not config.uses_catch_up:
        return 1
    return 2 * config.order + (1 if config.teacher == "ema" else 0)


def one_step_trajectory_nfe(config: OneStepConfig) -> int:
    """Network evaluations spent once on the stored Euler trajectories of the one-step stage."""
    return config.num_trajectories * config.trajectory_steps


def iterations_for_budget(budget_nfe: int, nfe_per_sample: int, batch_size: int) -> int:
    """The most iterations (at least 1) whose cost fits in ``budget_nfe``."""
    return max(1, budget_nfe // (nfe_per_sample * batch_size))


class CountingVelocity(VelocityNetwork):
    """Wraps a velocity network and adds the batch size of every evaluation to ``evaluations``."""

    def __init__(self, inner: VelocityNetwork) -> None:
        super().__init__()
        self.inner = inner
        self.num_heads = inner.num_heads
        self.evaluations = 0

    def heads(self, x: torch.Tensor, t: torch.Tensor) -> list[torch.Tensor]:
        self.evaluations += x.shape[0]
        return self.inner.heads(x, t)


def count_evaluations(model: CUDModel) -> CountingVelocity:
    """Make ``model`` count its velocity evaluations (in place); returns the counter to read."""
    if isinstance(model.velocity, CountingVelocity):
        return model.velocity
    counter = CountingVelocity(model.velocity)
    model.velocity = counter
    return counter
