"""Configurations of Catch-Up Distillation (Shao et al., arXiv 2305.10769).

Four frozen dataclasses, each the single list of its defaults (the CLI flags are made from them):

* :class:`CUDConfig` — the training objective (ODE loss + catch-up alignment, Sec. 3 of the paper).
* :class:`NetworkConfig` — the velocity network v_θ (MLP for 2-D data, U-Net for images) and the
  coupling encoder q_φ(z1 | x).
* :class:`TrainConfig` — optimisation (Adam, warm-up, batch, iterations, EMA, checkpoints).
* :class:`OneStepConfig` — the additional one-step training stage.

Defaults are the official code's (the paper text was not cross-checked against it); where the
official code differs from the paper both are options and the docstring says which is default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from methodzoo.shared.config import Config, check

Order = Literal[1, 2, 3]
DtMode = Literal["uniform", "rule", "origin"]
WeightSchedule = Literal["constant", "linear"]
Teacher = Literal["online", "ema"]
Coupling = Literal["vae", "independent"]
NetworkKind = Literal["mlp", "unet"]
TrajectoryStorage = Literal["auto", "uint8", "float32"]

#: Sampler names accepted by :func:`methodzoo.cud.solvers.sample` (kept here, torch-free, for the CLI).
SOLVERS = ("euler", "heun", "midpoint", "heun2", "rk3", "rk4", "rk45")


@dataclass(frozen=True)
class CUDConfig(Config):
    """The CUD objective.

    Conventions (paper and official code): z0 = x is data, z1 the latent, x_t = t·z1 + (1−t)·z0,
    target velocity u = z1 − z0, t = ε + (1−ε)·U(0, 1); sampling integrates from t=1 to t=0.

    Loss (order K with heads g_1..g_K and catch-up targets T_1..T_K):
    ``L = ω1·Σ_j MSE(g_j, T_j) + ω2·Σ_j MSE(g_j, u) + kl_weight·KL(q_φ(z1|x) ‖ N(0,I))/D``.
    """

    order: Order = field(default=1, metadata={
        "help": "Runge–Kutta alignment order: 1 (RK-12), 2 (RK-23, extra head g2), 3 (RK-34, heads g2, g3)"})
    catch_up_T: int = field(default=16, metadata={
        "help": "T in the catch-up step Δt (uniform: U(0,1/T); rule: t/T; origin: 1/T)"})
    dt_mode: DtMode = field(default="uniform", metadata={"help": "how the catch-up step Δt is drawn"})
    epsilon: float = field(default=1e-5, metadata={"help": "smallest training time ε"})
    omega1: float = field(default=1.0, metadata={"help": "weight ω1 of the catch-up (alignment) loss"})
    omega2: float = field(default=1.0, metadata={"help": "weight ω2 of the ODE loss to u = z1 − z0"})
    weight_schedule: WeightSchedule = field(default="constant", metadata={
        "help": "constant ω1, ω2; or linear: ω1 = 2i/I, ω2 = 2(1 − i/I) over iterations i of I"})
    teacher: Teacher = field(default="online", metadata={
        "help": "network giving the targets: the online one (no grad, train mode) or its EMA"})
    coupling: Coupling = field(default="vae", metadata={
        "help": "z1 from the encoder q_φ(z1|x) (official code) or independent N(0, I) noise"})
    kl_weight: float = field(default=20.0, metadata={"help": "weight of KL(q_φ ‖ N(0,I))/D (vae coupling)"})
    mask_targets: bool = field(default=True, metadata={
        "help": "replace the catch-up targets by u where t < ε + K·Δt (K = order)"})

    def validate(self) -> None:
        check(self.catch_up_T >= 1, "catch_up_T must be at least 1, got {}", self.catch_up_T)
        check(0.0 < self.epsilon < 0.5, "epsilon must be in (0, 0.5), got {}", self.epsilon)
        check(self.omega1 >= 0 and self.omega2 >= 0, "omega1 and omega2 must be >= 0, got {} and {}",
              self.omega1, self.omega2)
        check(self.omega1 + self.omega2 > 0 or self.weight_schedule == "linear",
              "omega1 + omega2 must be positive")
        check(self.kl_weight >= 0, "kl_weight must be >= 0, got {}", self.kl_weight)

    @property
    def uses_catch_up(self) -> bool:
        """False for plain flow matching (ω1 = 0 with constant weights): no targets are computed."""
        return self.weight_schedule == "linear" or self.omega1 > 0

    @classmethod
    def flow_matching(cls) -> CUDConfig:
        """Plain flow matching / rectified flow: the ODE loss only, independent coupling, one head."""
        return cls(order=1, omega1=0.0, omega2=1.0, coupling="independent", kl_weight=0.0)


@dataclass(frozen=True)
class NetworkConfig(Config):
    """The velocity network v_θ(x, t) with K output heads, and the coupling encoder.

    ``kind="mlp"`` for vector data: ``depth`` hidden layers of ``width`` SiLU units on
    [x, Fourier features of t]. ``kind="unet"``: a DDPM/SongUNet-style U-Net (residual blocks with
    GroupNorm, time embedding, dropout, self-attention at ``attention_resolutions``), decoder skips
    concatenated and rescaled by the "prior ShakeDrop" factor (identity at φ = 0.5). Presets:
    :meth:`mnist_paper`, :meth:`cifar10_paper`, :meth:`tiny_unet`.
    """

    kind: NetworkKind = field(default="mlp", metadata={"help": "mlp (2-D data) or unet (images)"})
    width: int = field(default=256, metadata={"help": "MLP hidden width"})
    depth: int = field(default=3, metadata={"help": "MLP hidden layers"})
    fourier_features: int = field(default=16, metadata={"help": "MLP: number of Fourier time frequencies πk, k = 1..F"})
    model_channels: int = field(default=32, metadata={"help": "U-Net base channels"})
    channel_mult: tuple[int, ...] = field(default=(1, 2, 2), metadata={"help": "U-Net channel multipliers per level"})
    num_blocks: int = field(default=2, metadata={"help": "U-Net residual blocks per resolution"})
    attention_resolutions: tuple[int, ...] = field(default=(), metadata={
        "help": "U-Net resolutions with self-attention (e.g. 16)"})
    dropout: float = field(default=0.13, metadata={"help": "dropout in residual blocks / MLP layers"})
    shakedrop_phi: float = field(default=0.5, metadata={
        "help": "prior ShakeDrop φ for decoder skips (0.5 = off; paper option 0.75)"})
    encoder_channels: int = field(default=32, metadata={"help": "channels / width of the coupling encoder"})

    def validate(self) -> None:
        check(self.width >= 1 and self.depth >= 1, "width and depth must be >= 1")
        check(self.fourier_features >= 1, "fourier_features must be >= 1, got {}", self.fourier_features)
        check(self.model_channels >= 4, "model_channels must be >= 4, got {}", self.model_channels)
        check(len(self.channel_mult) >= 1 and all(m >= 1 for m in self.channel_mult),
              "channel_mult must be positive integers, got {}", self.channel_mult)
        check(self.num_blocks >= 1, "num_blocks must be >= 1, got {}", self.num_blocks)
        check(0.0 <= self.dropout < 1.0, "dropout must be in [0, 1), got {}", self.dropout)
        check(0.0 <= self.shakedrop_phi <= 1.0, "shakedrop_phi must be in [0, 1], got {}", self.shakedrop_phi)
        check(self.encoder_channels >= 4, "encoder_channels must be >= 4, got {}", self.encoder_channels)
        check(self.kind == "unet" or self.shakedrop_phi == 0.5,
              "shakedrop_phi acts on U-Net decoder skips; the MLP has none (use 0.5)")

    @classmethod
    def mlp(cls, **changes: object) -> NetworkConfig:
        """A 3×256 MLP with Fourier time features (2-D experiments)."""
        return cls(kind="mlp", **changes)  # type: ignore[arg-type]

    @classmethod
    def mnist_paper(cls) -> NetworkConfig:
        """The paper's MNIST network: 32 channels, 2 blocks per resolution."""
        return cls(kind="unet", model_channels=32, channel_mult=(1, 2, 2), num_blocks=2,
                   attention_resolutions=(), dropout=0.13)

    @classmethod
    def cifar10_paper(cls) -> NetworkConfig:
        """The paper's CIFAR-10 SongUNet configuration: 128 channels, multipliers [2,2,2],
        4 blocks per resolution, attention at 16×16, dropout 0.13 (55.7M parameters in the
        paper's SongUNet; this U-Net's count differs slightly, see the README)."""
        return cls(kind="unet", model_channels=128, channel_mult=(2, 2, 2), num_blocks=4,
                   attention_resolutions=(16,), dropout=0.13)

    @classmethod
    def tiny_unet(cls) -> NetworkConfig:
        """A CPU-sized U-Net for tests and the quick benchmark (8 channels, 3 levels, 1 block;
        about 2.3 GFLOP per flow-matching step at batch 32 on 28×28)."""
        return cls(kind="unet", model_channels=8, channel_mult=(1, 2, 2), num_blocks=1,
                   attention_resolutions=(), dropout=0.0, encoder_channels=8)


@dataclass(frozen=True)
class TrainConfig(Config):
    """Optimisation: Adam(β=(0.9, 0.999)), linear warm-up then constant lr, EMA for sampling."""

    steps: int = field(default=50_000, metadata={"help": "training iterations I"})
    batch_size: int = field(default=256, metadata={"help": "batch size"})
    lr: float = field(default=3e-4, metadata={"help": "Adam learning rate (paper: 3e-4 MNIST, 2e-4 CIFAR)"})
    warmup_steps: int = field(default=0, metadata={"help": "linear lr warm-up iterations (CIFAR: 5000)"})
    ema_decay: float = field(default=0.9999, metadata={"help": "EMA decay of the weights used for sampling"})
    grad_clip_norm: float | None = field(default=None, metadata={"help": "gradient clipping norm (none: off)"})
    seed: int = field(default=0, metadata={"help": "seed of batches, times, noise and initialisation"})
    checkpoint_every: int = field(default=0, metadata={"help": "checkpoint period in steps (0: only at the end)"})

    def validate(self) -> None:
        check(self.steps >= 1, "steps must be >= 1, got {}", self.steps)
        check(self.batch_size >= 1, "batch_size must be >= 1, got {}", self.batch_size)
        check(self.lr > 0, "lr must be positive, got {}", self.lr)
        check(self.warmup_steps >= 0, "warmup_steps must be >= 0, got {}", self.warmup_steps)
        check(0.0 <= self.ema_decay < 1.0, "ema_decay must be in [0, 1), got {}", self.ema_decay)
        check(self.grad_clip_norm is None or self.grad_clip_norm > 0,
              "grad_clip_norm must be positive, got {}", self.grad_clip_norm)
        check(self.checkpoint_every >= 0, "checkpoint_every must be >= 0, got {}", self.checkpoint_every)


@dataclass(frozen=True)
class OneStepConfig(Config):
    """The additional one-step training stage (after CUD).

    The student starts from the CUD weights and predicts ``x̂ = z − f(z, 1)``; its loss is
    ``MSE(x̂, x_traj[k]) + anchor_weight·MSE(f(z,1), f_EMA(z,1))`` with ``x_traj`` the stored
    Euler trajectories of the CUD model (``trajectory_steps`` steps from z ~ N(0, I)) and a
    curriculum over the trajectory indices ``stage_indices`` (index i = state after i steps).
    """

    trajectory_steps: int = field(default=16, metadata={"help": "Euler steps of the stored trajectories"})
    stage_indices: tuple[int, ...] = field(default=(8, 11, 14), metadata={
        "help": "curriculum of trajectory indices k (official code: 8 11 14 of 16)"})
    steps_per_stage: int = field(default=40_000, metadata={"help": "iterations per curriculum stage"})
    num_trajectories: int = field(default=50_000, metadata={"help": "number of stored trajectories"})
    anchor_weight: float = field(default=0.1, metadata={"help": "weight of MSE(f, f_EMA)"})
    trajectory_storage: TrajectoryStorage = field(default="auto", metadata={
        "help": "uint8 (official code, 8-bit PNG-like, images only), float32, or auto (uint8 for images)"})
    head: int = field(default=1, metadata={"help": "head g_k of the CUD model that makes the trajectories"})

    def validate(self) -> None:
        check(self.trajectory_steps >= 1, "trajectory_steps must be >= 1, got {}", self.trajectory_steps)
        check(len(self.stage_indices) >= 1, "stage_indices must not be empty")
        check(all(1 <= k <= self.trajectory_steps for k in self.stage_indices),
              "stage_indices must lie in [1, trajectory_steps={}], got {}", self.trajectory_steps,
              self.stage_indices)
        check(self.steps_per_stage >= 1, "steps_per_stage must be >= 1, got {}", self.steps_per_stage)
        check(self.num_trajectories >= 1, "num_trajectories must be >= 1, got {}", self.num_trajectories)
        check(self.anchor_weight >= 0, "anchor_weight must be >= 0, got {}", self.anchor_weight)
        check(self.head >= 1, "head must be >= 1, got {}", self.head)


@dataclass(frozen=True)
class ConsistencyConfig(Config):
    """Consistency distillation (Song et al., 2023) from a trained velocity model, the same-backbone
    baseline of the paper's comparison.

    The student's consistency function is ``f_θ(x, t) = x − t·v_θ(x, t)`` (one Euler step to
    t = 0, so f(x, 0) = x holds by construction). On the grid t_n = n/N it learns
    ``f_θ(x_{t_n}, t_n) ≈ sg[f_θ⁻(x̂_{t_{n−1}}, t_{n−1})]`` where ``x̂`` is one Euler step of the
    frozen teacher and θ⁻ the EMA target network.
    """

    num_steps: int = field(default=16, metadata={"help": "N: the teacher's Euler grid t_n = n/N"})
    target_ema_decay: float = field(default=0.95, metadata={
        "help": "decay μ of the target network θ⁻ (also the weights used for sampling)"})

    def validate(self) -> None:
        check(self.num_steps >= 1, "num_steps must be >= 1, got {}", self.num_steps)
        check(0.0 <= self.target_ema_decay < 1.0, "target_ema_decay must be in [0, 1), got {}",
              self.target_ema_decay)


@dataclass(frozen=True)
class ProgressiveConfig(Config):
    """Progressive distillation (Salimans & Ho, 2022) from a trained velocity model.

    Each round halves the Euler step count: the student (initialised from the teacher) learns, on
    its own grid of N/2 steps, the mean slope of two teacher Euler steps of size 1/N; then it
    becomes the teacher. Rounds run from ``start_steps`` down to ``final_steps``.
    """

    start_steps: int = field(default=16, metadata={"help": "Euler steps of the first teacher (a power of 2)"})
    final_steps: int = field(default=1, metadata={"help": "Euler steps of the last student"})

    def validate(self) -> None:
        check(self.final_steps >= 1, "final_steps must be >= 1, got {}", self.final_steps)
        check(self.start_steps > self.final_steps, "start_steps must exceed final_steps, got {} and {}",
              self.start_steps, self.final_steps)
        ratio = self.start_steps // self.final_steps
        check(self.start_steps % self.final_steps == 0 and ratio & (ratio - 1) == 0,
              "start_steps / final_steps must be a power of 2, got {} / {}", self.start_steps, self.final_steps)

    @property
    def rounds(self) -> int:
        """The number of halvings."""
        return (self.start_steps // self.final_steps).bit_length() - 1
