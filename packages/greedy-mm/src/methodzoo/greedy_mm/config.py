"""Configurations of greedy-mm (Wu, Jastrzębski, Cho, Geras, ICML 2022), each the single list of
its defaults (the CLI flags are made from them).

* :class:`ModelConfig` — the two branches and their MMTM fusion.
* :class:`BalanceConfig` — vanilla, balanced (the paper's algorithm) or random training.
* :class:`TrainConfig` — optimisation; the defaults are the released ModelNet40 settings.
* :class:`DataConfig` — which two-modality data set, and its knobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from methodzoo.shared.config import Config, check

Architecture = Literal["auto", "cnn1d", "cnn2d", "cnn3d", "resnet18"]
Method = Literal["vanilla", "balanced", "random"]
RebalanceUpdate = Literal["all", "cared_branch_only"]
UtilizationPrediction = Literal["branch", "ensemble"]
DatasetName = Literal["colored-digits", "basic-motions", "modelnet40", "nvgesture"]
GateName = Literal["2sigmoid", "sigmoid"]

METHODS: tuple[Method, ...] = ("vanilla", "balanced", "random")


@dataclass(frozen=True)
class ModelConfig(Config):
    """Two branches of the same architecture (each with its input channels) joined by MMTM.

    ``cnn1d``/``cnn2d``/``cnn3d``: ``stages`` blocks of conv–BatchNorm–ReLU (time series, images,
    video clips), ``width·2^k`` channels in block k, max-pooling by 2 between blocks; ``auto``
    picks the one that fits the inputs' number of axes. ``resnet18``: the paper's ResNet-18
    branches (from scratch) in 4 stages (stem + layer1, layer2, layer3, layer4), fused after
    layers 2, 3 and 4: ``fusion_after = (1, 2, 3)``.
    """

    architecture: Architecture = field(default="auto", metadata={
        "help": "branch network: auto (a CNN of the inputs' dimension), cnn1d, cnn2d, cnn3d or resnet18"})
    width: int = field(default=16, metadata={"help": "channels of the first CNN block (doubling per block)"})
    stages: int = field(default=3, metadata={"help": "CNN blocks per branch (resnet18: always 4)"})
    kernel_size: int = field(default=3, metadata={"help": "CNN kernel size"})
    fusion_after: tuple[int, ...] = field(default=(1, 2), metadata={
        "help": "0-based stages after which an MMTM fuses the branches (resnet18 paper: 1 2 3)"})
    reduction_ratio: float = field(default=4.0, metadata={"help": "MMTM squeeze units = 2 (C0 + C1) / ratio"})
    gate: GateName = field(default="2sigmoid", metadata={
        "help": "MMTM gate: 2sigmoid (Joze et al.'s equation) or sigmoid (released code)"})

    def validate(self) -> None:
        check(self.width >= 1, "width must be >= 1, got {}", self.width)
        check(self.kernel_size >= 1 and self.kernel_size % 2 == 1, "kernel_size must be odd and >= 1, got {}",
              self.kernel_size)
        depth = 4 if self.architecture == "resnet18" else self.stages
        check(self.stages >= 1, "stages must be >= 1, got {}", self.stages)
        check(len(self.fusion_after) >= 1, "fusion_after must name at least one stage")
        check(all(0 <= k < depth for k in self.fusion_after) and len(set(self.fusion_after)) == len(self.fusion_after),
              "fusion_after must be distinct stage indices in [0, {}], got {}", depth - 1, self.fusion_after)
        check(self.reduction_ratio > 0, "reduction_ratio must be positive, got {}", self.reduction_ratio)

    @classmethod
    def resnet18_paper(cls) -> ModelConfig:
        """The paper's ModelNet40 network: ResNet-18 branches, MMTM after layers 2, 3, 4."""
        return cls(architecture="resnet18", fusion_after=(1, 2, 3))


@dataclass(frozen=True)
class BalanceConfig(Config):
    """How training treats the two modalities.

    ``balanced``: after ``starting_epoch`` (counted from 1), whenever |d_speed| > ``alpha`` after a
    regular step, the next ``window`` (Q) steps re-balance the cared-for modality (its MMTM gate
    := its running average). ``random``: each step uniformly regular / re-balance m0 / m1.
    ``rebalance_update``: ``all`` (released code: the full loss, every parameter steps) or
    ``cared_branch_only`` (only CE(ŷ_c) and branch c's parameters in a re-balancing step).
    """

    method: Method = field(default="balanced", metadata={"help": "vanilla, balanced or random"})
    alpha: float = field(default=0.01, metadata={"help": "threshold α on |d_speed|"})
    window: int = field(default=5, metadata={"help": "re-balancing window length Q (steps)"})
    starting_epoch: int = field(default=2, metadata={"help": "first epoch (from 1) in which balancing may act"})
    rebalance_update: RebalanceUpdate = field(default="all", metadata={
        "help": "all (released code) or cared_branch_only"})
    speed_in_windows: bool = field(default=False, metadata={
        "help": "also add re-balancing steps to the learning-speed sums (released code: no)"})

    def validate(self) -> None:
        check(self.alpha >= 0, "alpha must be >= 0, got {}", self.alpha)
        check(self.window >= 1, "window must be >= 1, got {}", self.window)
        check(self.starting_epoch >= 1, "starting_epoch counts from 1, got {}", self.starting_epoch)


@dataclass(frozen=True)
class TrainConfig(Config):
    """Optimisation. Defaults: the released ModelNet40 run (SGD lr 0.1, no momentum or weight
    decay, batch 8, up to 300 epochs, ReduceLROnPlateau on the train loss with factor 0.3,
    patience 10, min lr 1e-6, stop 5 epochs after 100 % training accuracy)."""

    epochs: int = field(default=300, metadata={"help": "maximum number of epochs"})
    batch_size: int = field(default=8, metadata={"help": "batch size"})
    lr: float = field(default=0.1, metadata={"help": "SGD learning rate"})
    momentum: float = field(default=0.0, metadata={"help": "SGD momentum"})
    weight_decay: float = field(default=0.0, metadata={"help": "SGD weight decay"})
    plateau_factor: float = field(default=0.3, metadata={"help": "ReduceLROnPlateau factor (train loss)"})
    plateau_patience: int = field(default=10, metadata={"help": "ReduceLROnPlateau patience (epochs)"})
    min_lr: float = field(default=1e-6, metadata={"help": "smallest learning rate"})
    stop_after_perfect: int = field(default=5, metadata={
        "help": "stop after this many epochs at 100%% training accuracy (0: never)"})
    utilization_every: int = field(default=1, metadata={
        "help": "compute conditional utilization rates every N epochs (0: only after the last)"})
    statistics_samples: int | None = field(default=None, metadata={
        "help": "training samples (a fixed random subset) giving the squeeze means of the per-epoch "
                "utilization; the last epoch always uses all (none: all)"})
    utilization_prediction: UtilizationPrediction = field(default="branch", metadata={
        "help": "A(m0, m1) scores ŷ0 (branch) or the ensemble ŷ (ensemble)"})
    eval_batch_size: int = field(default=256, metadata={"help": "batch size of evaluation passes"})
    workers: int = field(default=0, metadata={"help": "data-loading worker processes (folder data sets)"})
    seed: int = field(default=0, metadata={"help": "seed of initialisation, batches and the random variant"})

    def validate(self) -> None:
        check(self.epochs >= 1, "epochs must be >= 1, got {}", self.epochs)
        check(self.batch_size >= 1, "batch_size must be >= 1, got {}", self.batch_size)
        check(self.eval_batch_size >= 1, "eval_batch_size must be >= 1, got {}", self.eval_batch_size)
        check(self.lr > 0, "lr must be positive, got {}", self.lr)
        check(0 <= self.momentum < 1, "momentum must be in [0, 1), got {}", self.momentum)
        check(self.weight_decay >= 0, "weight_decay must be >= 0, got {}", self.weight_decay)
        check(0 < self.plateau_factor < 1, "plateau_factor must be in (0, 1), got {}", self.plateau_factor)
        check(self.plateau_patience >= 0, "plateau_patience must be >= 0, got {}", self.plateau_patience)
        check(0 <= self.min_lr <= self.lr, "min_lr must be in [0, lr], got {}", self.min_lr)
        check(self.stop_after_perfect >= 0, "stop_after_perfect must be >= 0, got {}", self.stop_after_perfect)
        check(self.utilization_every >= 0, "utilization_every must be >= 0, got {}", self.utilization_every)
        check(self.statistics_samples is None or self.statistics_samples >= 1,
              "statistics_samples must be >= 1, got {}", self.statistics_samples)
        check(self.workers >= 0, "workers must be >= 0, got {}", self.workers)
        check(0 <= self.seed < 2**63, "seed must be in [0, 2**63), got {}", self.seed)


@dataclass(frozen=True)
class DataConfig(Config):
    """The two-modality data set.

    ``colored-digits`` (offline, real MNIST): m0 the grey digit, m1 the digit in a colour equal to
    its class colour with probability ``rho`` in training and random at test (the "control" test
    set keeps the training correlation). ``basic-motions`` (offline, aeon): accelerometer vs
    gyroscope. ``modelnet40`` (two views of the MVCNN renders) and ``nvgesture`` (two sensor
    streams) read their standard layouts under ``root``.
    """

    dataset: DatasetName = field(default="colored-digits", metadata={"help": "two-modality data set"})
    root: str | None = field(default=None, metadata={"help": "folder of modelnet40 / nvgesture"})
    rho: float = field(default=0.99, metadata={"help": "colored-digits: P(colour = class colour) in training"})
    colour_jitter: float = field(default=0.05, metadata={"help": "colored-digits: std of per-image RGB noise"})
    image_size: int = field(default=16, metadata={"help": "colored-digits: side of the digits (28: full size)"})
    test_size: int = field(default=1000, metadata={"help": "colored-digits: held-out digits"})
    train_size: int | None = field(default=None, metadata={"help": "colored-digits: training digits (none: the rest)"})
    views: tuple[int, ...] = field(default=(0, 6), metadata={"help": "modelnet40: the two 0-based views"})
    modalities: tuple[str, ...] = field(default=("color", "depth"), metadata={
        "help": "nvgesture: the two sensor streams (color, depth, duo_left)"})
    frames: int = field(default=16, metadata={"help": "nvgesture: frames sampled per clip"})
    frame_size: int = field(default=112, metadata={"help": "nvgesture: frame side after resizing"})
    validation_fraction: float = field(default=0.0, metadata={
        "help": "fraction of the training set held out for validation (released ModelNet40 run: 0.2)"})

    def validate(self) -> None:
        check(0.0 <= self.rho <= 1.0, "rho must be in [0, 1], got {}", self.rho)
        check(self.colour_jitter >= 0, "colour_jitter must be >= 0, got {}", self.colour_jitter)
        check(4 <= self.image_size <= 28, "image_size must be in [4, 28], got {}", self.image_size)
        check(self.test_size >= 10, "test_size must be >= 10, got {}", self.test_size)
        check(self.train_size is None or self.train_size >= 10, "train_size must be >= 10, got {}", self.train_size)
        check(len(self.views) == 2 and len(set(self.views)) == 2 and min(self.views) >= 0,
              "views must be two distinct non-negative view indices, got {}", self.views)
        check(len(self.modalities) == 2 and len(set(self.modalities)) == 2,
              "modalities must name two distinct streams, got {}", self.modalities)
        check(self.frames >= 1 and self.frame_size >= 8, "frames must be >= 1 and frame_size >= 8")
        check(0.0 <= self.validation_fraction < 1.0, "validation_fraction must be in [0, 1), got {}",
              self.validation_fraction)
