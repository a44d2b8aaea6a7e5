"""Same-backbone distillation baselines of the paper's comparison: consistency distillation and
progressive distillation, both starting from a trained velocity model (the teacher) in the CUD
convention (z0 data, z1 latent, x_t = t·z1 + (1 − t)·z0, sampling from t = 1 to 0).

Both draw x_t with the teacher's coupling (its encoder q_φ(z1 | x) for ``coupling="vae"``,
independent N(0, I) noise otherwise), so they see the same pairs (z0, z1) as the teacher did.
Each training iteration costs 3 network evaluations per sample (see :mod:`methodzoo.cud.nfe`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from methodzoo.cud.config import ConsistencyConfig, CUDConfig, ProgressiveConfig, TrainConfig
from methodzoo.cud.data import TrainingData
from methodzoo.cud.networks import CUDModel
from methodzoo.cud.objective import CatchUpDistillation, _broadcast
from methodzoo.shared.device import resolve_device
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import make_generator, seeded
from methodzoo.shared.train import EpochBatches, Trainer, TrainerOptions, TrainHistory


def _grid_times(batch: int, steps: int, generator: torch.Generator | None,
                device: torch.device | str) -> torch.Tensor:
    """t = n/steps with n uniform in {1, …, steps}, shape (B,)."""
    n = torch.randint(1, steps + 1, (batch,), generator=generator, device=device)
    return n.float() / steps


def _frozen(model: nn.Module) -> nn.Module:
    teacher = copy.deepcopy(model).eval()
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)
    return teacher


class _PairedDistillation:
    """What both baselines share: x_t drawn with the teacher's coupling."""

    def __init__(self, coupling: str) -> None:
        if coupling not in ("vae", "independent"):
            raise ConfigError(f"coupling must be 'vae' or 'independent', got {coupling!r}")
        self.pairs = CatchUpDistillation(CUDConfig(coupling=coupling))  # type: ignore[arg-type]

    @torch.no_grad()
    def sample_xt(self, teacher: CUDModel, z0: torch.Tensor, t: torch.Tensor,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """x_t = t·z1 + (1 − t)·z0 with z1 from the teacher's coupling."""
        z1 = self.pairs.sample_coupling(teacher, z0, generator).z1
        return self.pairs.compute_xt(z0, z1, t)


class ConsistencyDistillation(_PairedDistillation):
    """Consistency distillation with named steps: ``consistency_function``, ``teacher_step``, ``loss``.

    Loss: ``MSE(f_θ(x_{t_n}, t_n), sg[f_θ⁻(x_t_n − (1/N)·v_teacher(x_{t_n}, t_n), t_{n−1})])``.
    """

    def __init__(self, config: ConsistencyConfig | None = None, coupling: str = "vae") -> None:
        super().__init__(coupling)
        self.config = config or ConsistencyConfig()

    @staticmethod
    def consistency_function(model: nn.Module, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """f(x, t) = x − t·v(x, t): the Euler jump to t = 0 (so f(x, 0) = x)."""
        return x - _broadcast(t, x) * model(x, t, 1)

    @staticmethod
    @torch.no_grad()
    def teacher_step(teacher: nn.Module, x_t: torch.Tensor, t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """One Euler step of the teacher's ODE from t down to s."""
        return x_t - _broadcast(t - s, x_t) * teacher(x_t, t, 1)

    def loss(self, student: nn.Module, target: nn.Module, teacher: CUDModel, z0: torch.Tensor,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        steps = self.config.num_steps
        t = _grid_times(z0.shape[0], steps, generator, z0.device).to(z0.dtype)
        s = t - 1.0 / steps
        x_t = self.sample_xt(teacher, z0, t, generator)
        x_s = self.teacher_step(teacher, x_t, t, s)
        with torch.no_grad():
            goal = self.consistency_function(target, x_s, s)
        loss = F.mse_loss(self.consistency_function(student, x_t, t), goal)
        return {"loss": loss}


class ProgressiveDistillation(_PairedDistillation):
    """Progressive distillation with named steps: ``teacher_slope``, ``loss``; rounds in
    :func:`distill_progressive`."""

    def __init__(self, config: ProgressiveConfig | None = None, coupling: str = "vae") -> None:
        super().__init__(coupling)
        self.config = config or ProgressiveConfig()

    def student_steps(self, round_index: int) -> int:
        """The student's Euler step count in round ``round_index`` (0-based)."""
        return self.config.start_steps // 2 ** (round_index + 1)

    @staticmethod
    @torch.no_grad()
    def teacher_slope(teacher: nn.Module, x_t: torch.Tensor, t: torch.Tensor, h: float) -> torch.Tensor:
        """The mean slope (x_t − x_{t−2h})/(2h) of two teacher Euler steps of size h."""
        k_a = teacher(x_t, t, 1)
        k_b = teacher(x_t - h * k_a, t - h, 1)
        return (k_a + k_b) / 2

    def loss(self, student: nn.Module, teacher: CUDModel, z0: torch.Tensor, student_steps: int,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        t = _grid_times(z0.shape[0], student_steps, generator, z0.device).to(z0.dtype)
        x_t = self.sample_xt(teacher, z0, t, generator)
        target = self.teacher_slope(teacher, x_t, t, 1.0 / (2 * student_steps))
        return {"loss": F.mse_loss(student(x_t, t, 1), target)}


@dataclass
class DistillResult:
    """The distilled model used for sampling and the loss history (one entry per round for PD)."""

    sampling_model: CUDModel
    histories: list[TrainHistory]
    iterations: int


def _trainer(model: nn.Module, train: TrainConfig, ema_decay: float | None, progress: bool | None,
             description: str) -> Trainer:
    optimizer = torch.optim.Adam(model.parameters(), lr=train.lr, betas=(0.9, 0.999))
    return Trainer(model, optimizer, options=TrainerOptions(ema_decay=ema_decay, progress=progress,
                                                            description=description,
                                                            grad_clip_norm=train.grad_clip_norm))


def _batches(data: TrainingData, train: TrainConfig) -> Callable[[int, torch.Generator], torch.Tensor]:
    batches = EpochBatches(len(data.images), train.batch_size, train.seed) if data.images is not None else None
    return lambda step, generator: data.draw(train.batch_size, step, generator, batches)


def _student(teacher: CUDModel, device: torch.device) -> CUDModel:
    student = copy.deepcopy(teacher).to(device).train()
    for parameter in student.parameters():  # the teacher may be a frozen EMA copy
        parameter.requires_grad_(True)
    return student


def distill_consistency(teacher: CUDModel, data: TrainingData, config: ConsistencyConfig | None = None,
                        train: TrainConfig | None = None, *, coupling: str = "vae",
                        device: str | torch.device = "cpu", progress: bool | None = None) -> DistillResult:
    """Consistency distillation of ``teacher`` for ``train.steps`` iterations; the student starts
    from the teacher's weights and is sampled with its target network θ⁻ (EMA ``target_ema_decay``)."""
    method = ConsistencyDistillation(config, coupling)
    train = train or TrainConfig()
    device = resolve_device(device)
    with seeded(train.seed, devices=[device]):
        frozen = _frozen(teacher.to(device))
        student = _student(teacher, device)
        trainer = _trainer(student, train, method.config.target_ema_decay, progress, "consistency")
        assert trainer.ema is not None
        target = trainer.ema.model
        noise, data_generator = make_generator(train.seed * 5 + 1, device=device), make_generator(train.seed * 5 + 2)
        draw = _batches(data, train)

        def loss_fn(step: int) -> dict[str, torch.Tensor]:
            return method.loss(student, target, frozen, draw(step, data_generator).to(device), noise)  # type: ignore[arg-type]

        trainer.fit(loss_fn, train.steps)
    return DistillResult(target.eval(), [trainer.history], train.steps)  # type: ignore[arg-type]


def distill_progressive(teacher: CUDModel, data: TrainingData, config: ProgressiveConfig | None = None,
                        train: TrainConfig | None = None, *, coupling: str = "vae",
                        device: str | torch.device = "cpu", progress: bool | None = None) -> DistillResult:
    """Progressive distillation of ``teacher``: ``config.rounds`` halvings sharing ``train.steps``
    iterations equally (the remainder goes to the last round). Each round's raw student becomes the
    next teacher; the last round's EMA (``train.ema_decay``) is returned for sampling."""
    method = ProgressiveDistillation(config, coupling)
    train = train or TrainConfig()
    rounds = method.config.rounds
    if train.steps < rounds:
        raise ConfigError(f"progressive distillation needs at least one iteration per round ({rounds}), "
                          f"got {train.steps}")
    device = resolve_device(device)
    histories = []
    with seeded(train.seed, devices=[device]):
        current: CUDModel = teacher.to(device)
        noise, data_generator = make_generator(train.seed * 5 + 3, device=device), make_generator(train.seed * 5 + 4)
        draw = _batches(data, train)
        sampling: CUDModel = current
        for round_index in range(rounds):
            frozen = _frozen(current)
            student = _student(current, device)
            steps = method.student_steps(round_index)
            iterations = train.steps // rounds + (train.steps % rounds if round_index == rounds - 1 else 0)
            trainer = _trainer(student, train, train.ema_decay, progress, f"progressive {2 * steps}→{steps}")

            def loss_fn(step: int, student: CUDModel = student, frozen: nn.Module = frozen,
                        steps: int = steps) -> dict[str, torch.Tensor]:
                return method.loss(student, frozen, draw(step, data_generator).to(device), steps, noise)  # type: ignore[arg-type]

            trainer.fit(loss_fn, iterations)
            histories.append(trainer.history)
            current = student
            sampling = trainer.ema.model if trainer.ema is not None else student  # type: ignore[assignment]
    return DistillResult(sampling.eval(), histories, train.steps)
