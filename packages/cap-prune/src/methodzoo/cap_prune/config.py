"""Configurations of CAP (Xu et al., AAAI 2022) and of the runs around it.

Defaults follow the official scripts for GLUE (see the package README's paper-to-code table):
unstructured pruning τ = 0.1, E = 4096, λ_u/λ_s = 0.1/10, λ_ce/λ_kd = 0.1/0.9, T = 2; structured
pruning λ_u/λ_s = 0.3/3, T = 1. Fields left ``None`` take the value of the pruning mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from methodzoo.shared.config import Config, check

Mode = Literal["unstructured", "structured"]
Bank = Literal["pre", "fine", "snap"]
BANKS: tuple[str, ...] = ("pre", "fine", "snap")
# λ_u, λ_s and the KD temperature of the official GLUE scripts, per pruning mode.
MODE_DEFAULTS: dict[str, dict[str, float]] = {
    "unstructured": {"lambda_unsup": 0.1, "lambda_sup": 10.0, "temperature": 2.0},
    "structured": {"lambda_unsup": 0.3, "lambda_sup": 3.0, "temperature": 1.0},
}


@dataclass(frozen=True)
class DataConfig(Config):
    """Which task, how much of it, and how long a tokenized example may be."""

    task: Literal["snli", "movies", "sst2", "qqp", "mnli"] = field(
        default="snli", metadata={"help": "snli, movies (offline) or sst2/qqp/mnli (GLUE TSV under --data-root)"})
    data_root: str | None = field(default=None, metadata={"help": "folder holding the GLUE layout (SST-2/, QQP/, MNLI/)"})
    train_limit: int | None = field(default=None, metadata={"help": "use the first N training examples (None: all)"})
    test_limit: int | None = field(default=None, metadata={"help": "use the first N test examples (None: all)"})
    max_length: int = field(default=128, metadata={"help": "tokens per example after truncation (paper: 128)"})

    def validate(self) -> None:
        check(self.train_limit is None or self.train_limit >= 1, "train_limit must be >= 1, got {}", self.train_limit)
        check(self.test_limit is None or self.test_limit >= 1, "test_limit must be >= 1, got {}", self.test_limit)
        check(self.max_length >= 4, "max_length must be >= 4, got {}", self.max_length)


@dataclass(frozen=True)
class ContrastiveConfig(Config):
    """The three contrastive modules: which banks, temperature τ, bank size E, λ_u and λ_s."""

    modules: tuple[str, ...] = field(
        default=BANKS, metadata={"help": "banks to contrast with: pre (PrC), fine (FiC), snap (SnC); 'none' for CE+KD"})
    temperature: float = field(default=0.1, metadata={"help": "τ (official scripts 0.1; SQuAD structured 0.3)"})
    bank_size: int = field(default=4096, metadata={"help": "E, extra bank vectors per step (⌊E/R⌋ random examples)"})
    lambda_unsup: float | None = field(default=None, metadata={"help": "λ_u (None: 0.1 unstructured, 0.3 structured)"})
    lambda_sup: float | None = field(default=None, metadata={"help": "λ_s (None: 10 unstructured, 3 structured)"})
    normalization: Literal["cap_reference", "supcon"] = field(
        default="cap_reference", metadata={"help": "cap_reference (official: ÷Σ|P_i|) or supcon (÷b)"})
    representation: Literal["cls", "mean"] = field(
        default="cls", metadata={"help": "cls (pooler output, all official scripts) or mean (masked mean pooling)"})
    bank_dtype: Literal["float32", "float16"] = field(default="float32", metadata={"help": "storage of the banks"})
    keep_last_k: int | None = field(default=None, metadata={"help": "keep only the last K snapshots in SnC (None: all)"})
    bank_dropout: bool = field(default=False, metadata={"help": "encode banks with dropout on (the official code's defect)"})
    bank_batch_size: int = field(default=128, metadata={"help": "batch size when encoding a bank"})

    def validate(self) -> None:
        check(self.temperature > 0, "temperature must be positive, got {}", self.temperature)
        check(self.bank_size >= 0, "bank_size must be >= 0, got {}", self.bank_size)
        check(self.lambda_unsup is None or self.lambda_unsup >= 0, "lambda_unsup must be >= 0")
        check(self.lambda_sup is None or self.lambda_sup >= 0, "lambda_sup must be >= 0")
        check(self.keep_last_k is None or self.keep_last_k >= 1, "keep_last_k must be >= 1, got {}", self.keep_last_k)
        check(self.bank_batch_size >= 1, "bank_batch_size must be >= 1")
        unknown = sorted(set(self.modules) - set(BANKS) - {"none"})
        check(not unknown, "unknown contrastive module(s) {}; valid: pre, fine, snap, none", unknown)
        check("none" not in self.modules or len(self.modules) == 1, "'none' cannot be combined with other modules")
        check(len(set(self.modules)) == len(self.modules), "modules repeat: {}", self.modules)

    @property
    def banks(self) -> tuple[str, ...]:
        """The enabled banks (empty for CE+KD)."""
        return tuple(m for m in self.modules if m != "none")

    def weights(self, mode: Mode) -> tuple[float, float]:
        """(λ_u, λ_s) with the mode's defaults filled in."""
        defaults = MODE_DEFAULTS[mode]
        return (defaults["lambda_unsup"] if self.lambda_unsup is None else self.lambda_unsup,
                defaults["lambda_sup"] if self.lambda_sup is None else self.lambda_sup)


@dataclass(frozen=True)
class DistillConfig(Config):
    """``λ_ce·CE + λ_kd·T²·KL(softmax(t/T) ‖ softmax(s/T))`` against the fine-tuned teacher."""

    lambda_ce: float = field(default=0.1, metadata={"help": "weight of the cross-entropy with the labels"})
    lambda_kd: float = field(default=0.9, metadata={"help": "weight of the distillation term (0: no teacher logits)"})
    kd_temperature: float | None = field(default=None, metadata={"help": "T (None: 2 unstructured, 1 structured)"})

    def validate(self) -> None:
        check(self.lambda_ce >= 0 and self.lambda_kd >= 0, "lambda_ce and lambda_kd must be >= 0")
        check(self.lambda_ce + self.lambda_kd > 0, "lambda_ce and lambda_kd cannot both be 0")
        check(self.kd_temperature is None or self.kd_temperature > 0, "kd_temperature must be positive")

    def temperature(self, mode: Mode) -> float:
        return MODE_DEFAULTS[mode]["temperature"] if self.kd_temperature is None else self.kd_temperature


@dataclass(frozen=True)
class FinetuneConfig(Config):
    """Fine-tuning the dense teacher (AdamW, linear warm-up and decay)."""

    epochs: float = field(default=3.0, metadata={"help": "passes over the training set (fractions allowed)"})
    batch_size: int = field(default=32, metadata={"help": "examples per step"})
    lr: float = field(default=2e-5, metadata={"help": "AdamW learning rate"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay (not on biases and LayerNorm)"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "fraction of the steps with a linear warm-up"})
    max_grad_norm: float | None = field(default=1.0, metadata={"help": "gradient clipping (None: off)"})
    head_input: Literal["pooler", "mean"] = field(
        default="pooler", metadata={"help": "classifier on the pooler output (BERT) or the mean of the last hidden "
                                            "states (what sentence-transformers such as MiniLM were trained for)"})

    def validate(self) -> None:
        _check_optimisation(self.epochs, self.batch_size, self.lr, self.weight_decay, self.warmup_ratio)


@dataclass(frozen=True)
class UnstructuredConfig(Config):
    """Unstructured pruning with a cubic sparsity schedule (Zhu & Gupta; movement pruning's).

    The schedule keeps the model dense for ``initial_warmup·W`` steps, raises the sparsity
    cubically, and holds ``sparsity`` for the last ``final_warmup·W`` steps, with
    ``W = warmup_ratio·T`` (GLUE scripts: W = 11000 of ≈ 122,700 MNLI steps, 2 and 3).
    """

    pruner: Literal["movement", "soft_movement", "magnitude"] = field(
        default="movement", metadata={"help": "movement (topK, CAP-m), soft_movement (CAP-soft) or magnitude"})
    sparsity: float = field(default=0.9, metadata={"help": "final fraction of encoder weights pruned (topK/magnitude)"})
    epochs: float = field(default=10.0, metadata={"help": "passes over the training set"})
    batch_size: int = field(default=32, metadata={"help": "examples per step"})
    lr: float = field(default=3e-5, metadata={"help": "learning rate of the weights"})
    score_lr: float = field(default=1e-2, metadata={"help": "learning rate of the movement scores"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay of the weights"})
    warmup_ratio: float = field(default=0.09, metadata={"help": "W/T: learning-rate warm-up, unit of the schedule"})
    initial_warmup: float = field(default=2.0, metadata={"help": "dense for the first initial_warmup·W steps"})
    final_warmup: float = field(default=3.0, metadata={"help": "final sparsity for the last final_warmup·W steps"})
    final_lambda: float = field(default=290.0, metadata={"help": "soft movement: final λ of the score regulariser "
                                                                  "(MNLI 290 at 90 %, 680 at 97 %)"})
    soft_threshold: float = field(default=0.1, metadata={"help": "soft movement: final threshold τ on σ(S)"})
    init_from: Literal["pretrained", "finetuned"] = field(
        default="pretrained", metadata={"help": "student starts from the pre-trained model (paper) or the teacher"})
    snapshot_every: int | None = field(default=None, metadata={"help": "steps between SnC snapshots (None: each epoch)"})
    max_grad_norm: float | None = field(default=1.0, metadata={"help": "gradient clipping (None: off)"})
    mask_update_every: int = field(
        default=1, metadata={"help": "magnitude: steps between mask updates (1: every step, as movement pruning's code)"})

    def validate(self) -> None:
        _check_optimisation(self.epochs, self.batch_size, self.lr, self.weight_decay, self.warmup_ratio)
        check(self.mask_update_every >= 1, "mask_update_every must be >= 1, got {}", self.mask_update_every)
        check(0 <= self.sparsity < 1, "sparsity must be in [0, 1), got {}", self.sparsity)
        check(self.score_lr > 0, "score_lr must be positive, got {}", self.score_lr)
        check(self.initial_warmup >= 0 and self.final_warmup >= 0, "initial_warmup and final_warmup must be >= 0")
        check((self.initial_warmup + self.final_warmup) * self.warmup_ratio < 1,
              "the schedule leaves no steps to prune: (initial_warmup + final_warmup)·warmup_ratio = {} >= 1",
              (self.initial_warmup + self.final_warmup) * self.warmup_ratio)
        check(self.final_lambda >= 0, "final_lambda must be >= 0")
        check(0 < self.soft_threshold < 1, "soft_threshold must be in (0, 1), got {}", self.soft_threshold)
        check(self.snapshot_every is None or self.snapshot_every >= 1, "snapshot_every must be >= 1")


@dataclass(frozen=True)
class StructuredConfig(Config):
    """Structured pruning (CAP-f): heads and FFN neurons by first-order mask importance.

    Each ratio prunes that share of all heads and of all FFN neurons (the same ratio for both),
    then retrains for ``epochs_per_step``.
    """

    ratios: tuple[float, ...] = field(default=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
                                      metadata={"help": "increasing shares of heads and FFN neurons to prune"})
    epochs_per_step: float = field(default=2.0, metadata={"help": "retraining passes after each pruning step"})
    batch_size: int = field(default=16, metadata={"help": "examples per step"})
    lr: float = field(default=2e-5, metadata={"help": "AdamW learning rate"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "linear warm-up share of each retraining phase"})
    importance_examples: int | None = field(
        default=None, metadata={"help": "training examples summed for the importance (None: all)"})
    init_from: Literal["pretrained", "finetuned"] = field(
        default="finetuned", metadata={"help": "finetuned (default; the official code scores a random head: pretrained)"})
    max_grad_norm: float | None = field(default=1.0, metadata={"help": "gradient clipping (None: off)"})

    def validate(self) -> None:
        _check_optimisation(self.epochs_per_step, self.batch_size, self.lr, self.weight_decay, self.warmup_ratio)
        check(len(self.ratios) >= 1, "give at least one ratio")
        check(all(0 < r < 1 for r in self.ratios), "ratios must be in (0, 1), got {}", self.ratios)
        check(all(a < b for a, b in zip(self.ratios, self.ratios[1:], strict=False)), "ratios must increase")
        check(self.importance_examples is None or self.importance_examples >= 1, "importance_examples must be >= 1")


def _check_optimisation(epochs: float, batch_size: int, lr: float, weight_decay: float, warmup: float) -> None:
    check(epochs > 0, "epochs must be positive, got {}", epochs)
    check(batch_size >= 1, "batch_size must be >= 1, got {}", batch_size)
    check(lr > 0, "lr must be positive, got {}", lr)
    check(weight_decay >= 0, "weight_decay must be >= 0, got {}", weight_decay)
    check(0 <= warmup < 1, "warmup_ratio must be in [0, 1), got {}", warmup)
