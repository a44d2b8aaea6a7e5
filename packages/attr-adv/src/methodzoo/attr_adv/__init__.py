"""methodzoo-attr-adv: attribute-guided adversarial training (AGAT) for robustness to natural perturbations.

Gokhale, Anirudh, Kailkhura, Thiagarajan, Baral, Yang, "Attribute-Guided Adversarial Training for
Robustness to Natural Perturbations", AAAI 2021 (arXiv 2012.01806).

The attribute space A (:class:`AttributeSpace`) declares what the differentiable transformation
G(x, a) (:func:`apply_attributes`) may change and how far; AGAT solves
min_θ E[ℓ(f(x), y) + ℓ(f(G(x, a*)), y)] with a* ≈ argmax_{a ∈ A} J(θ; x, y, a) found by
projected gradient ascent (:class:`AttributeAttack`). Baselines share the API
(:func:`build_method`): ERM, uniform random attributes, CE ascent over A, AugMix, ℓ∞ PGD.
"""

from methodzoo.attr_adv.attacks import AttackResult, AttributeAttack, LinfPGD
from methodzoo.attr_adv.augmix import augmix, jensen_shannon
from methodzoo.attr_adv.cifar10c import CIFAR10C_CORRUPTIONS, load_cifar10c
from methodzoo.attr_adv.config import METHODS, AugMixConfig, InnerConfig, PGDConfig, TrainConfig
from methodzoo.attr_adv.corruptions import corrupt_images, corruption_names
from methodzoo.attr_adv.data import SplitData, cifar10_split, digits_split
from methodzoo.attr_adv.evaluation import (
    GridResult,
    ShiftPoint,
    accuracy_on,
    evaluate_grid,
    shift_grid,
)
from methodzoo.attr_adv.methods import (
    AGAT,
    ERM,
    AugMix,
    CEAscent,
    Perturbed,
    PGDTraining,
    RandomAttributes,
    TrainingMethod,
    build_method,
)
from methodzoo.attr_adv.models import ResNetCifar, SmallCNN, build_classifier, features_and_logits
from methodzoo.attr_adv.objectives import agat_objective, ce_ascent_objective
from methodzoo.attr_adv.plots import plot_accuracy_vs_shift
from methodzoo.attr_adv.pool import AugmentationPool, pool_epochs
from methodzoo.attr_adv.space import AttributeRange, AttributeSpace
from methodzoo.attr_adv.train import FitResult, TrainedModel, fit, load_trained, save_trained
from methodzoo.attr_adv.transforms import ATTRIBUTE_NAMES, NEUTRAL, apply_attributes

__all__ = [  # noqa: RUF022 (grouped by role, as the house style asks)
    # configuration
    "AttributeRange",
    "AttributeSpace",
    "AugMixConfig",
    "InnerConfig",
    "METHODS",
    "PGDConfig",
    "TrainConfig",
    # the transformation G(x, a)
    "ATTRIBUTE_NAMES",
    "NEUTRAL",
    "apply_attributes",
    # inner maximisation
    "AttackResult",
    "AttributeAttack",
    "LinfPGD",
    "agat_objective",
    "ce_ascent_objective",
    # methods (paper-named steps: inner_maximization, outer_loss)
    "AGAT",
    "AugMix",
    "CEAscent",
    "ERM",
    "PGDTraining",
    "Perturbed",
    "RandomAttributes",
    "TrainingMethod",
    "augmix",
    "build_method",
    "jensen_shannon",
    # networks
    "ResNetCifar",
    "SmallCNN",
    "build_classifier",
    "features_and_logits",
    # data and corruptions
    "CIFAR10C_CORRUPTIONS",
    "SplitData",
    "cifar10_split",
    "corrupt_images",
    "corruption_names",
    "digits_split",
    "load_cifar10c",
    # verbs: train, evaluate, plot
    "AugmentationPool",
    "FitResult",
    "GridResult",
    "ShiftPoint",
    "TrainedModel",
    "accuracy_on",
    "evaluate_grid",
    "fit",
    "load_trained",
    "plot_accuracy_vs_shift",
    "pool_epochs",
    "save_trained",
    "shift_grid",
]
