"""methodzoo-cud: Catch-Up Distillation (Shao et al., "Catch-Up Distillation: You Only Need to
Train Once for Accelerating Sampling", arXiv 2305.10769).

A velocity model v_θ(x, t) trained with the ODE loss to u = z1 − z0 plus the "catch-up" alignment
of its output with its own output a step Δt earlier along its trajectory (Runge–Kutta targets of
order 1, 2 or 3), sampled with few ODE steps::

    from methodzoo.cud import CUDConfig, TrainConfig, fit, load_training_data, sample
    data = load_training_data("8gaussians")
    run = fit(data, CUDConfig(), train=TrainConfig(steps=2000, ema_decay=0.99))
    x = sample(run.sampling_model, 1000, steps=2, solver="euler").samples
"""

from methodzoo.cud.baselines import (
    ConsistencyDistillation,
    ProgressiveDistillation,
    distill_consistency,
    distill_progressive,
)
from methodzoo.cud.config import (
    ConsistencyConfig,
    CUDConfig,
    NetworkConfig,
    OneStepConfig,
    ProgressiveConfig,
    TrainConfig,
)
from methodzoo.cud.data import TrainingData, load_training_data
from methodzoo.cud.evaluation import exact_wasserstein2, straightness
from methodzoo.cud.networks import CouplingEncoder, CUDModel, UNet, VelocityMLP, build_model
from methodzoo.cud.nfe import count_evaluations, cud_nfe_per_sample
from methodzoo.cud.objective import CatchUpDistillation, gaussian_kl
from methodzoo.cud.onestep import OneStepDistillation, distill_one_step
from methodzoo.cud.solvers import SOLVERS, SampleResult, integrate, peer_to_cud, sample
from methodzoo.cud.toy import GaussianMixture, ToyDistribution, toy_distribution
from methodzoo.cud.training import FitResult, fit, load_trained

__all__ = [  # noqa: RUF022 (grouped by role, as the house style asks)
    # configuration
    "CUDConfig",
    "NetworkConfig",
    "OneStepConfig",
    "TrainConfig",
    "ConsistencyConfig",
    "ProgressiveConfig",
    # the method
    "CatchUpDistillation",
    "OneStepDistillation",
    "gaussian_kl",
    # baselines
    "ConsistencyDistillation",
    "ProgressiveDistillation",
    "distill_consistency",
    "distill_progressive",
    # evaluation and cost
    "count_evaluations",
    "cud_nfe_per_sample",
    "exact_wasserstein2",
    "straightness",
    # networks
    "CUDModel",
    "CouplingEncoder",
    "UNet",
    "VelocityMLP",
    "build_model",
    # data
    "GaussianMixture",
    "ToyDistribution",
    "TrainingData",
    "load_training_data",
    "toy_distribution",
    # verbs
    "SOLVERS",
    "FitResult",
    "SampleResult",
    "distill_one_step",
    "fit",
    "integrate",
    "load_trained",
    "peer_to_cud",
    "sample",
]
