"""The paper's additional one-step training stage (after CUD).

The student starts from the CUD weights and predicts ``x̂ = z − f(z, 1)`` (one Euler step from
t = 1). Its loss is ``MSE(x̂, x_traj[k]) + λ·MSE(f(z, 1), f_EMA(z, 1))`` with λ = 0.1, ``f_EMA`` the
student's EMA copy, and ``x_traj`` the CUD model's stored Euler trajectories from z ~ N(0, I)
(index i = state after i of ``trajectory_steps`` steps). The curriculum trains ``steps_per_stage``
iterations on each index of ``stage_indices`` in turn (official code: 8, 11, 14 of 16, 40k each).
The official code stores the trajectories as 8-bit PNGs (``trajectory_storage="uint8"``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from methodzoo.cud.config import OneStepConfig, TrainConfig
from methodzoo.cud.data import model_to_images
from methodzoo.cud.networks import CUDModel
from methodzoo.cud.solvers import sample
from methodzoo.shared.device import resolve_device
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import make_generator, seeded
from methodzoo.shared.train import (
    DistributedContext,
    EpochBatches,
    MicroBatch,
    Trainer,
    TrainerOptions,
    TrainHistory,
)


@dataclass
class Trajectories:
    """Stored starting latents ``z`` (N, ...) and the states ``x_traj[k]`` for each stage index."""

    z: torch.Tensor
    states: dict[int, torch.Tensor]  # k → (N, ...) float32 or uint8
    quantized: bool

    def target(self, k: int, index: torch.Tensor) -> torch.Tensor:
        state = self.states[k][index]
        return state.float() / 127.5 - 1.0 if self.quantized else state


class OneStepDistillation:
    """The one-step stage with named steps: ``make_trajectories``, ``stage_index``, ``loss``."""

    def __init__(self, config: OneStepConfig | None = None) -> None:
        self.config = config or OneStepConfig()

    def storage_is_uint8(self, data_shape: tuple[int, ...]) -> bool:
        storage = self.config.trajectory_storage
        if storage == "auto":
            return len(data_shape) == 3
        if storage == "uint8" and len(data_shape) != 3:
            raise ConfigError("trajectory_storage='uint8' quantises images in [−1, 1]; use float32 for "
                              f"vector data of shape {data_shape}")
        return storage == "uint8"

    @torch.no_grad()
    def make_trajectories(self, teacher: CUDModel, generator: torch.Generator | None = None,
                          batch_size: int = 1000) -> Trajectories:
        """Run the teacher's Euler sampler and keep z and the states at the stage indices."""
        cfg = self.config
        result = sample(teacher, cfg.num_trajectories, steps=cfg.trajectory_steps, solver="euler",
                        head=cfg.head, generator=generator, batch_size=batch_size, return_trajectory=True)
        assert result.trajectory is not None
        quantized = self.storage_is_uint8(teacher.data_shape)
        states = {}
        for k in sorted(set(cfg.stage_indices)):
            state = result.trajectory[k].cpu()
            states[k] = model_to_images(state) if quantized else state.float()
        return Trajectories(result.trajectory[0].cpu().float(), states, quantized)

    def stage_index(self, step: int) -> int:
        """The trajectory index k trained at ``step`` (curriculum)."""
        stage = min(step // self.config.steps_per_stage, len(self.config.stage_indices) - 1)
        return self.config.stage_indices[stage]

    def loss(self, student: nn.Module, anchor: nn.Module, z: torch.Tensor,
             target: torch.Tensor) -> dict[str, torch.Tensor]:
        """``MSE(z − f(z,1), x_traj[k]) + λ·MSE(f(z,1), sg[f_EMA(z,1)])``."""
        ones = torch.ones(z.shape[0], device=z.device, dtype=z.dtype)
        f = student(z, ones, 1)
        x_hat = z - f
        distill = F.mse_loss(x_hat, target)
        with torch.no_grad():
            f_ema = anchor(z, ones, 1)
        anchor_loss = F.mse_loss(f, f_ema)
        return {"loss": distill + self.config.anchor_weight * anchor_loss,
                "loss_distill": distill.detach(), "loss_anchor": anchor_loss.detach()}

    @property
    def total_steps(self) -> int:
        return self.config.steps_per_stage * len(self.config.stage_indices)


@dataclass
class OneStepResult:
    student: CUDModel
    ema_student: CUDModel | None
    history: TrainHistory
    trainer: Trainer


def distill_one_step(teacher: CUDModel, config: OneStepConfig | None = None, train: TrainConfig | None = None,
                     *, device: str | torch.device = "cpu", progress: bool | None = None,
                     checkpoint_dir: str | Path | None = None, resume: bool = False,
                     run_config: dict[str, Any] | None = None, accumulation: int = 1,
                     distributed: DistributedContext | None = None) -> OneStepResult:
    """Run the one-step stage from a trained CUD model (``train`` gives lr, batch, EMA, seed).

    ``run_config`` (the CUD run's checkpoint config) is stored with the student's checkpoints so
    :func:`~methodzoo.cud.training.load_trained` can rebuild the student. ``train.batch_size``
    is the global batch, split into ``accumulation`` micro-batches on each process of
    ``distributed`` (dropout then drawn per micro-batch, as in :func:`~methodzoo.cud.fit`).
    """
    stage = OneStepDistillation(config)
    train = train or TrainConfig()
    if train.batch_size > stage.config.num_trajectories:
        raise ConfigError(f"batch_size {train.batch_size} exceeds num_trajectories {stage.config.num_trajectories}")
    device = resolve_device(device)
    with seeded(train.seed, devices=[device]):
        trajectories = stage.make_trajectories(teacher.eval(), make_generator(train.seed + 7))
        student = copy.deepcopy(teacher).to(device).train()
        for parameter in student.parameters():  # the teacher may be a frozen EMA copy
            parameter.requires_grad_(True)
        optimizer = torch.optim.Adam(student.parameters(), lr=train.lr, betas=(0.9, 0.999))
        split = accumulation * (distributed.world_size if distributed is not None else 1) > 1
        options = TrainerOptions(grad_clip_norm=train.grad_clip_norm, ema_decay=train.ema_decay,
                                 checkpoint_every=train.checkpoint_every, progress=progress,
                                 description="one-step", accumulation=accumulation,
                                 micro_batch_seed=train.seed if split else None)
        trainer = Trainer(student, optimizer, options=options, checkpoint_dir=checkpoint_dir,
                          config={**(run_config or {}), "one_step": stage.config.to_dict(),
                                  "one_step_train": train.to_dict()}, distributed=distributed)
        if resume:
            trainer.resume()
        batches = EpochBatches(stage.config.num_trajectories, train.batch_size, train.seed)
        assert trainer.ema is not None
        anchor = trainer.ema.model

        def loss_fn(step: int, micro: MicroBatch) -> dict[str, torch.Tensor]:
            index = micro.select(batches.batch(step))
            k = stage.stage_index(step)
            z = trajectories.z[index].to(device)
            target = trajectories.target(k, index).to(device)
            return stage.loss(student, anchor, z, target)

        trainer.fit(loss_fn, stage.total_steps)
        if checkpoint_dir is not None and not train.checkpoint_every:
            trainer.save_checkpoint()
    return OneStepResult(student, trainer.ema.model, trainer.history, trainer)  # type: ignore[arg-type]
