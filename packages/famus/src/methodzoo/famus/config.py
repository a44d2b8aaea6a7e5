"""Configurations: the meta-reweighting hyper-parameters and one training run.

Defaults follow the papers: Meta-Weight-Net (Shu et al., NeurIPS 2019) for the baseline and
FaMUS (Xu et al., CVPR 2021) for the layer sampler. Where the official FaMUS code differs from
the paper, the field offers both and the paper is the default (see the package README).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from methodzoo.shared.config import Config, check

Method = Literal["ce", "mwnet", "famus"]
BNPolicy = Literal["discard", "update", "running"]
NoiseKind = Literal["symmetric", "symmetric_incl_true", "symmetric_excl_true", "pairflip", "flip", "flip2"]
Dataset = Literal["mnist-digits", "sklearn-digits", "mnist", "fashion-mnist", "cifar10", "cifar100"]


@dataclass(frozen=True)
class MetaConfig(Config):
    """Hyper-parameters of plain CE, Meta-Weight-Net and MW-Net + FaMUS.

    Symbols: α is the classifier learning rate (also the virtual-step size), β the meta-net's,
    δ the samplers', K the layer budget of Eq. 10, λ₁/λ₂ the weights of L_r/L_g in Eq. 12.
    """

    # classifier (w): SGD as in MW-Net's CIFAR recipe
    lr: float = field(default=0.1, metadata={"help": "classifier learning rate α"})
    momentum: float = field(default=0.9, metadata={"help": "classifier SGD momentum"})
    weight_decay: float = field(default=5e-4, metadata={"help": "classifier weight decay"})
    lr_milestones: tuple[float, ...] = field(
        default=(80 / 120, 100 / 120),
        metadata={"help": "fractions of the run at which lr is multiplied by lr_gamma (MW-Net: epochs 80, 100 of 120)"})
    lr_gamma: float = field(default=0.1, metadata={"help": "lr decay factor at each milestone"})
    virtual_lr: float | None = field(
        default=None, metadata={"help": "step size of the virtual SGD step (None: the current α)"})
    # meta-net Ψ(·; θ)
    meta_hidden: int = field(default=100, metadata={"help": "hidden units of the 1-h-1 meta-net (MW-Net: 100)"})
    meta_optimizer: Literal["adam", "sgd"] = field(
        default="adam", metadata={"help": "meta-net optimiser: adam (MW-Net) or sgd (FaMUS code: Nesterov)"})
    meta_lr: float = field(default=1e-3, metadata={"help": "meta-net learning rate β"})
    meta_weight_decay: float = field(default=1e-4, metadata={"help": "meta-net weight decay (MW-Net 1e-4; FaMUS code 5e-4)"})
    weight_normalization: Literal["mean", "sum"] = field(
        default="mean", metadata={"help": "mean: (1/n)Σ V_i L_i (MW-Net); sum: weights normalised to sum to 1 (FaMUS code)"})
    bn_policy: BNPolicy = field(
        default="discard",
        metadata={"help": "BatchNorm running statistics in the virtual and meta forwards: discard (batch stats, "
                          "updates thrown away, as MW-Net's copied meta-model), update (kept), running (eval-mode BN)"})
    # FaMUS layer sampler (η_l)
    budget: int = field(default=4, metadata={"help": "K, the target number of active layers (Eq. 10)"})
    lambda_r: float = field(default=0.1, metadata={"help": "λ₁, weight of L_r = (Σ_l r_l − K)²"})
    lambda_g: float = field(default=0.1, metadata={"help": "λ₂, weight of L_g (Eq. 11)"})
    sampler_lr: float = field(default=0.1, metadata={"help": "δ, the samplers' SGD learning rate"})
    sampler_momentum: float = field(default=0.9, metadata={"help": "samplers' SGD momentum"})
    sampler_hidden: int = field(default=128, metadata={"help": "hidden width of each gradient sampler"})
    sampler_depth: int = field(default=2, metadata={"help": "linear layers per sampler: 2 (paper) or 3 (code)"})
    sampler_input_reduce: Literal["mean", "sum"] = field(
        default="mean", metadata={"help": "pooling of a gradient to its output dimension: mean (paper) or sum (code)"})
    sampler_standardize: bool = field(default=False, metadata={"help": "standardise the sampler input (code option)"})
    gumbel_tau: float = field(default=5.0, metadata={"help": "Gumbel-softmax temperature (code: 5; the paper gives none)"})
    gate_granularity: Literal["weight_layer", "module", "parameter"] = field(
        default="weight_layer",
        metadata={"help": "a gated layer is a weight layer with its BatchNorm (paper), every module owning "
                          "parameters (BatchNorm its own layer), or one tensor (code)"})
    gate_policy: Literal["learned", "random"] = field(
        default="learned",
        metadata={"help": "learned: the samplers Γ(·; η) choose the gates (FaMUS); random: K gated layers drawn "
                          "uniformly each step, samplers unused (the paper's Table 4 random-s baseline)"})
    candidate_layers: int | None = field(
        default=None, metadata={"help": "gate only the last N layers and detach the rest (code: 15 tensors); None = all (paper)"})
    always_on_last: int = field(
        default=0, metadata={"help": "the last N layers are never gated, always attached (code: the final linear's 2 tensors)"})
    lg_form: Literal["paper", "code"] = field(
        default="paper", metadata={"help": "L_g as ‖ḡ_L^tra − ḡ_L^val‖² (paper) or the code's mean/std matching"})
    lg_code_scale: float = field(default=1.0, metadata={"help": "the constant c of the code's L_g form"})

    def validate(self) -> None:
        check(self.lr > 0, "lr must be positive, got {}", self.lr)
        check(0 <= self.momentum < 1, "momentum must be in [0, 1), got {}", self.momentum)
        check(self.weight_decay >= 0, "weight_decay must be >= 0, got {}", self.weight_decay)
        check(all(0 < m < 1 for m in self.lr_milestones), "lr_milestones must be fractions in (0, 1), got {}",
              self.lr_milestones)
        check(0 < self.lr_gamma <= 1, "lr_gamma must be in (0, 1], got {}", self.lr_gamma)
        check(self.virtual_lr is None or self.virtual_lr > 0, "virtual_lr must be positive, got {}", self.virtual_lr)
        check(self.meta_hidden >= 1, "meta_hidden must be >= 1, got {}", self.meta_hidden)
        check(self.meta_lr > 0, "meta_lr must be positive, got {}", self.meta_lr)
        check(self.meta_weight_decay >= 0, "meta_weight_decay must be >= 0, got {}", self.meta_weight_decay)
        check(self.budget >= 0, "budget K must be >= 0, got {}", self.budget)
        check(self.lambda_r >= 0 and self.lambda_g >= 0, "lambda_r and lambda_g must be >= 0, got {} and {}",
              self.lambda_r, self.lambda_g)
        check(self.sampler_lr > 0, "sampler_lr must be positive, got {}", self.sampler_lr)
        check(0 <= self.sampler_momentum < 1, "sampler_momentum must be in [0, 1), got {}", self.sampler_momentum)
        check(self.sampler_hidden >= 1, "sampler_hidden must be >= 1, got {}", self.sampler_hidden)
        check(self.sampler_depth in (2, 3), "sampler_depth must be 2 (paper) or 3 (code), got {}", self.sampler_depth)
        check(self.gumbel_tau > 0, "gumbel_tau must be positive, got {}", self.gumbel_tau)
        check(self.gate_policy != "random" or self.budget >= 1,
              "gate_policy='random' needs budget K >= 1, got {}", self.budget)
        check(self.candidate_layers is None or self.candidate_layers >= 1,
              "candidate_layers must be None (all) or >= 1, got {}", self.candidate_layers)
        check(self.always_on_last >= 0, "always_on_last must be >= 0, got {}", self.always_on_last)
        check(self.lg_code_scale > 0, "lg_code_scale must be positive, got {}", self.lg_code_scale)


@dataclass(frozen=True)
class TrainConfig(Config):
    """One training run with noisy labels: data, noise, split, schedule and the method to use."""

    method: Method = field(default="famus", metadata={"help": "ce (plain cross-entropy), mwnet, or famus (MW-Net + FaMUS)"})
    dataset: Dataset = field(default="mnist-digits", metadata={"help": "mnist-digits (offline default) or a dataset under the data root"})
    data_root: str | None = field(default=None, metadata={"help": "folder with MNIST idx / CIFAR batches (default: $METHODZOO_DATA)"})
    noise: NoiseKind = field(default="symmetric", metadata={"help": "label noise kind (symmetric includes the true class)"})
    rate: float = field(default=0.4, metadata={"help": "noise rate p"})
    train_size: int | None = field(default=None, metadata={"help": "noisy training samples (None: all that remain)"})
    meta_size: int = field(default=100, metadata={"help": "clean meta samples, balanced over classes, disjoint from training"})
    test_size: int = field(default=1000, metadata={"help": "clean test samples (mnist-digits: held out; others: from the test split)"})
    model: Literal["cnn", "mlp", "resnet32"] = field(default="cnn", metadata={"help": "classifier: cnn (depth conv layers + linear), mlp, resnet32 (MW-Net CIFAR)"})
    width: int = field(default=16, metadata={"help": "base channel width of the CNN"})
    depth: int = field(default=10, metadata={"help": "convolution layers of the CNN (plus one linear)"})
    batch_size: int = field(default=64, metadata={"help": "noisy batch size n"})
    meta_batch_size: int = field(default=64, metadata={"help": "clean meta batch size m"})
    steps: int = field(default=600, metadata={"help": "optimisation steps"})
    eval_every: int = field(default=50, metadata={"help": "evaluate test accuracy every this many steps"})
    seed: int = field(default=0, metadata={"help": "seed of data split, noise, initialisation and batches"})
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda, cuda:N"})
    checkpoint_every: int = field(default=0, metadata={"help": "checkpoint every N steps (0: only at the end when a folder is given)"})

    def validate(self) -> None:
        check(0 <= self.rate < 1, "rate must be in [0, 1), got {}", self.rate)
        check(self.train_size is None or self.train_size >= 1, "train_size must be >= 1, got {}", self.train_size)
        check(self.meta_size >= 1, "meta_size must be >= 1, got {}", self.meta_size)
        check(self.test_size >= 1, "test_size must be >= 1, got {}", self.test_size)
        check(self.width >= 1, "width must be >= 1, got {}", self.width)
        check(self.depth >= 1, "depth must be >= 1, got {}", self.depth)
        check(self.batch_size >= 1, "batch_size must be >= 1, got {}", self.batch_size)
        check(self.meta_batch_size >= 1, "meta_batch_size must be >= 1, got {}", self.meta_batch_size)
        check(self.steps >= 1, "steps must be >= 1, got {}", self.steps)
        check(self.eval_every >= 1, "eval_every must be >= 1, got {}", self.eval_every)
        check(self.seed >= 0, "seed must be >= 0, got {}", self.seed)
        check(self.checkpoint_every >= 0, "checkpoint_every must be >= 0, got {}", self.checkpoint_every)
