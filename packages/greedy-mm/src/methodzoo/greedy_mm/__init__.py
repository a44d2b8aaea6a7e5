"""methodzoo-greedy-mm: greedy learning in multi-modal networks and balanced multi-modal learning
(Wu, Jastrzębski, Cho, Geras, "Characterizing and overcoming the greedy nature of learning in
multi-modal deep neural networks", ICML 2022, arXiv 2202.05306).

Two unimodal branches with their own heads, fused by MMTM at chosen depths; the conditional
utilization rate (how much each branch's accuracy owes to the other modality), the conditional
learning speed (its cheap proxy during training), and the balancing algorithm that re-balances
the branches when their learning speeds drift apart::

    from methodzoo.greedy_mm import BalanceConfig, ModelConfig, TrainConfig, build_network, colored_digits, fit
    data = colored_digits(rho=0.99)
    model = build_network(ModelConfig(width=8), data.example_inputs(), data.num_classes)
    result = fit(model, data, balance=BalanceConfig(method="balanced"), train=TrainConfig(epochs=5, batch_size=64))
    print(result.last.utilization["d_util"], result.last.evaluation["test"]["acc"])
"""

from methodzoo.greedy_mm.architectures import build_network, conv_branch, resnet18_branch
from methodzoo.greedy_mm.balancing import Balancer, GuidedBalancer, RandomBalancer, make_balancer
from methodzoo.greedy_mm.config import BalanceConfig, DataConfig, ModelConfig, TrainConfig
from methodzoo.greedy_mm.data import BatchLoader, PairedTensors, TwoModalityData, colored_digits
from methodzoo.greedy_mm.data.basic_motions import basic_motions_pair
from methodzoo.greedy_mm.data.modelnet import ModelNetTwoViews, modelnet40_two_views
from methodzoo.greedy_mm.data.nvgesture import NVGestureClips, nvgesture_pair
from methodzoo.greedy_mm.data.registry import TWO_MODALITY_DATASETS, load_two_modality
from methodzoo.greedy_mm.mmtm import (
    MMTM,
    fusion_modules,
    rebalancing,
    set_rebalancing,
    substituted_squeeze,
)
from methodzoo.greedy_mm.network import (
    Branch,
    ClassifierHead,
    MultimodalNetwork,
    MultimodalOutput,
    two_head_loss,
)
from methodzoo.greedy_mm.runs import RunConfigs, build_run, load_run, save_run
from methodzoo.greedy_mm.speed import LearningSpeedTracker, SpeedGroups
from methodzoo.greedy_mm.training import (
    EpochFeed,
    EpochLog,
    FitResult,
    evaluate,
    fit,
    step_loss,
    train_step,
)
from methodzoo.greedy_mm.utilization import (
    SqueezeStatistics,
    UndefinedUtilizationWarning,
    UtilizationRates,
    conditional_utilization,
    squeeze_statistics,
    utilization_rates,
)

__all__ = [  # noqa: RUF022 (grouped by role, as the house style asks)
    # configuration
    "BalanceConfig",
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    # the model
    "MMTM",
    "Branch",
    "ClassifierHead",
    "MultimodalNetwork",
    "MultimodalOutput",
    "build_network",
    "conv_branch",
    "resnet18_branch",
    "two_head_loss",
    "fusion_modules",
    "rebalancing",
    "set_rebalancing",
    "substituted_squeeze",
    # diagnostics
    "LearningSpeedTracker",
    "SpeedGroups",
    "SqueezeStatistics",
    "UndefinedUtilizationWarning",
    "UtilizationRates",
    "conditional_utilization",
    "squeeze_statistics",
    "utilization_rates",
    # balancing
    "Balancer",
    "GuidedBalancer",
    "RandomBalancer",
    "make_balancer",
    # data
    "BatchLoader",
    "ModelNetTwoViews",
    "NVGestureClips",
    "PairedTensors",
    "TWO_MODALITY_DATASETS",
    "TwoModalityData",
    "basic_motions_pair",
    "colored_digits",
    "load_two_modality",
    "modelnet40_two_views",
    "nvgesture_pair",
    # verbs
    "EpochFeed",
    "EpochLog",
    "FitResult",
    "RunConfigs",
    "build_run",
    "evaluate",
    "fit",
    "load_run",
    "save_run",
    "step_loss",
    "train_step",
]
