"""Configurations: the inner maximisation, the baselines' perturbations and one training run.

Defaults follow the released AGAT code (Gokhale et al., AAAI 2021, ``tejas-gokhale/AGAT``) where
it is consistent: λ = 5, 10 inner steps, a new pool slice every 5 epochs from 30% of the data in
batches of 32, SGD 0.1 / momentum 0.9 / weight decay 5e-4 with decays at epochs 50 and 65 of 75,
batch 128. Where it is not (its step size 1e-4 on raw attributes moves nothing, its pre-training
length is inconsistent) the choice is ours and listed in the package README.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from methodzoo.shared.config import Config, check

Method = Literal["erm", "random", "agat", "ce_ascent", "augmix", "pgd"]
Dataset = Literal["digits-rts", "digits-c", "cifar10"]
METHODS: tuple[str, ...] = ("erm", "random", "agat", "ce_ascent", "augmix", "pgd")


@dataclass(frozen=True)
class InnerConfig(Config):
    """The inner maximisation a* ≈ argmax_{a ∈ A} J(θ; x, y, a) by projected gradient ascent.

    ``objective="agat"`` is the released code's J = −loss_adv,
    loss_adv = CE(f(x'), y) + BCE(p(x'), p(x)) − λ·[MSE(σ(z), σ(z')) + MSE(a₀, a) + L1(a₀, a)]:
    keep the label and prediction, push features and attributes away from the clean ones.
    ``"ce_ascent"`` is the classic J = CE(f(x'), y).
    """

    objective: Literal["agat", "ce_ascent"] = field(
        default="agat", metadata={"help": "inner objective: agat (released code's J) or ce_ascent (maximise CE)"})
    inner_steps: int = field(default=10, metadata={"help": "N_adv, gradient-ascent steps on a (paper: 10)"})
    step_size: float = field(
        default=0.1, metadata={"help": "ascent step in normalised attribute units per unit gradient "
                                       "(the code's 1e-4 on raw values barely moves a)"})
    lam: float = field(default=5.0, metadata={"help": "λ, weight of the feature and attribute divergence (paper: 5)"})
    start: Literal["uniform", "neutral"] = field(
        default="uniform", metadata={"help": "start of the search: uniform over A (code) or a₀"})
    feature_squash: Literal["sigmoid", "tanh"] = field(
        default="sigmoid", metadata={"help": "σ applied to the features before their MSE (unverified in the paper)"})

    def validate(self) -> None:
        check(self.inner_steps >= 0, "inner_steps must be >= 0, got {}", self.inner_steps)
        check(self.step_size > 0, "step_size must be positive, got {}", self.step_size)
        check(self.lam >= 0, "lam must be >= 0, got {}", self.lam)


@dataclass(frozen=True)
class PGDConfig(Config):
    """ℓ∞ PGD adversarial examples (Madry et al.), torchattacks' defaults."""

    pgd_eps: float = field(default=8 / 255, metadata={"help": "ℓ∞ radius ε"})
    pgd_alpha: float = field(default=2 / 255, metadata={"help": "step size α"})
    pgd_steps: int = field(default=10, metadata={"help": "PGD steps"})
    pgd_random_start: bool = field(default=True, metadata={"help": "start from a uniform point of the ε-ball"})

    def validate(self) -> None:
        check(self.pgd_eps > 0, "pgd_eps must be positive, got {}", self.pgd_eps)
        check(self.pgd_alpha > 0, "pgd_alpha must be positive, got {}", self.pgd_alpha)
        check(self.pgd_steps >= 1, "pgd_steps must be >= 1, got {}", self.pgd_steps)


@dataclass(frozen=True)
class AugMixConfig(Config):
    """AugMix (Hendrycks et al., ICLR 2020) with the attribute space's transforms as its operations."""

    augmix_width: int = field(default=3, metadata={"help": "k, augmentation chains mixed (AugMix: 3)"})
    augmix_depth: int = field(default=-1, metadata={"help": "operations per chain; -1: uniform in 1..3 (AugMix)"})
    augmix_alpha: float = field(default=1.0, metadata={"help": "Dirichlet / Beta concentration (AugMix: 1)"})
    jsd_weight: float = field(default=12.0, metadata={"help": "weight of the Jensen–Shannon consistency loss (AugMix: 12)"})

    def validate(self) -> None:
        check(self.augmix_width >= 1, "augmix_width must be >= 1, got {}", self.augmix_width)
        check(self.augmix_depth == -1 or self.augmix_depth >= 1, "augmix_depth must be -1 or >= 1, got {}",
              self.augmix_depth)
        check(self.augmix_alpha > 0, "augmix_alpha must be positive, got {}", self.augmix_alpha)
        check(self.jsd_weight >= 0, "jsd_weight must be >= 0, got {}", self.jsd_weight)


@dataclass(frozen=True)
class TrainConfig(Config):
    """One training run: data, attribute space, method, pool schedule and optimiser."""

    method: Method = field(default="agat", metadata={"help": "erm, random (uniform attributes), agat, ce_ascent, "
                                                             "augmix, pgd"})
    dataset: Dataset = field(default="digits-rts", metadata={"help": "digits-rts, digits-c (real MNIST digits, "
                                                                     "offline) or cifar10 (local folder)"})
    space: str | None = field(default=None, metadata={"help": "attribute space preset: digits-rts, digits-c, cifar-c "
                                                              "(default: the dataset's)"})
    space_file: str | None = field(default=None, metadata={"help": "JSON file of an AttributeSpace (overrides --space)"})
    data_root: str | None = field(default=None, metadata={"help": "folder with cifar-10-batches-py/ (default: $METHODZOO_DATA)"})
    train_size: int | None = field(default=None, metadata={"help": "training images (None: all but the test set)"})
    test_size: int = field(default=1000, metadata={"help": "test images (digits: held out of the 5,000)"})
    model: Literal["small-cnn", "resnet26"] | None = field(
        default=None, metadata={"help": "small-cnn or resnet26 (default: small-cnn for digits, resnet26 for CIFAR)"})
    width: int | None = field(default=None, metadata={"help": "small-cnn channels (16) / ResNet multiplier (1)"})
    epochs: int = field(default=75, metadata={"help": "training epochs (code: 75)"})
    epochs_pre: int = field(default=15, metadata={"help": "clean pre-training epochs before the first pool slice"})
    aug_freq: int = field(default=5, metadata={"help": "a new pool slice every this many epochs (code: 5)"})
    aug_percentage: float = field(default=0.3, metadata={"help": "fraction of the training set perturbed per slice (code: 0.3)"})
    aug_batch_size: int = field(default=32, metadata={"help": "batch size of the inner maximisation (code: 32)"})
    schedule: Literal["pool", "online"] = field(
        default="pool", metadata={"help": "pool: the code's growing pool; online: perturb every batch"})
    batch_size: int = field(default=128, metadata={"help": "training batch size (code: 128)"})
    lr: float = field(default=0.1, metadata={"help": "SGD learning rate (code: 0.1)"})
    momentum: float = field(default=0.9, metadata={"help": "SGD momentum"})
    weight_decay: float = field(default=5e-4, metadata={"help": "weight decay"})
    lr_milestones: tuple[float, ...] = field(
        default=(50 / 75, 65 / 75), metadata={"help": "fractions of the epochs at which lr is multiplied by lr_gamma "
                                                      "(code: epochs 50 and 65 of 75)"})
    lr_gamma: float = field(default=0.1, metadata={"help": "lr decay factor"})
    seed: int = field(default=0, metadata={"help": "seed of split, initialisation, batches and perturbations"})
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda, cuda:N"})

    def validate(self) -> None:
        check(self.train_size is None or self.train_size >= 1, "train_size must be >= 1, got {}", self.train_size)
        check(self.test_size >= 1, "test_size must be >= 1, got {}", self.test_size)
        check(self.width is None or self.width >= 1, "width must be >= 1, got {}", self.width)
        check(self.epochs >= 1, "epochs must be >= 1, got {}", self.epochs)
        check(self.epochs_pre >= 0, "epochs_pre must be >= 0, got {}", self.epochs_pre)
        check(self.aug_freq >= 1, "aug_freq must be >= 1, got {}", self.aug_freq)
        check(0 < self.aug_percentage <= 1, "aug_percentage must be in (0, 1], got {}", self.aug_percentage)
        check(self.aug_batch_size >= 1, "aug_batch_size must be >= 1, got {}", self.aug_batch_size)
        check(self.batch_size >= 1, "batch_size must be >= 1, got {}", self.batch_size)
        check(self.lr > 0, "lr must be positive, got {}", self.lr)
        check(0 <= self.momentum < 1, "momentum must be in [0, 1), got {}", self.momentum)
        check(self.weight_decay >= 0, "weight_decay must be >= 0, got {}", self.weight_decay)
        check(all(0 < m < 1 for m in self.lr_milestones), "lr_milestones must be fractions in (0, 1), got {}",
              self.lr_milestones)
        check(0 < self.lr_gamma <= 1, "lr_gamma must be in (0, 1], got {}", self.lr_gamma)
        check(self.seed >= 0, "seed must be >= 0, got {}", self.seed)

    @property
    def default_space(self) -> str:
        return {"digits-rts": "digits-rts", "digits-c": "digits-c", "cifar10": "cifar-c"}[self.dataset]


__all__ = ["METHODS", "AugMixConfig", "InnerConfig", "PGDConfig", "TrainConfig"]
