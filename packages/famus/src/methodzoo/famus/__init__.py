"""methodzoo-famus: Meta-Weight-Net and FaMUS for learning with noisy labels.

FaMUS: Xu, Zhu, Jiang, Yang, "Faster Meta Update Strategy for Noise-Robust Deep Learning",
CVPR 2021 (arXiv 2104.15092). Meta-Weight-Net: Shu et al., NeurIPS 2019.

The method classes have the paper's steps as methods (``virtual_step``, ``meta_step``,
``actual_step``); ``fit`` trains one of them on noisy labels; ``corrupt_labels`` makes the noise.
"""

from methodzoo.famus.config import MetaConfig, TrainConfig
from methodzoo.famus.data import NoisyLabelData, prepare_noisy_data
from methodzoo.famus.decomposition import layerwise_meta_gradients
from methodzoo.famus.layers import LayerUnit, layer_units, pooled_gradient
from methodzoo.famus.methods import CrossEntropy, FaMUS, MetaWeightNet, VirtualStep, build_method
from methodzoo.famus.models import MLP, DeepCNN, MetaWeightNetwork, ResNet32, build_classifier
from methodzoo.famus.noise import NoisyLabels, corrupt_labels, transition_matrix
from methodzoo.famus.sampler import GradientSampler, LayerSamplers, gumbel_gate
from methodzoo.famus.train import FitResult, evaluate, fit

__all__ = [  # noqa: RUF022 (grouped by role, as the house style asks)
    # configuration
    "MetaConfig",
    "TrainConfig",
    # methods (paper-named steps)
    "CrossEntropy",
    "FaMUS",
    "MetaWeightNet",
    "VirtualStep",
    "build_method",
    # FaMUS pieces
    "GradientSampler",
    "LayerSamplers",
    "LayerUnit",
    "gumbel_gate",
    "layer_units",
    "layerwise_meta_gradients",
    "pooled_gradient",
    # networks
    "MLP",
    "DeepCNN",
    "MetaWeightNetwork",
    "ResNet32",
    "build_classifier",
    # noisy labels and data
    "NoisyLabelData",
    "NoisyLabels",
    "corrupt_labels",
    "prepare_noisy_data",
    "transition_matrix",
    # verbs
    "FitResult",
    "evaluate",
    "fit",
]
