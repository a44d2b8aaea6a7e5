"""Knowledge distillation (survey family 4): Hinton KD, FitNets hints, attention transfer.

* Hinton, Vinyals & Dean 2015: ``L = (1 − w)·CE(y, softmax(z_s)) + w·T²·KL(softmax(z_t/T) ‖ softmax(z_s/T))``.
  The ``T²`` keeps the soft term's gradient magnitude roughly independent of ``T``.
* FitNets (Romero et al. 2015): ``½‖u_h(x) − r(v_g(x))‖²`` between a teacher hint layer
  ``u_h`` and a regressor ``r`` of a student guided layer ``v_g`` (averaged over the batch).
* Attention transfer (Zagoruyko & Komodakis 2017): ``Q = vec(Σ_c |A_c|^p)`` per feature map,
  ``Σ_j ‖Q_s^j/‖Q_s^j‖₂ − Q_t^j/‖Q_t^j‖₂‖_2`` over the chosen layer pairs ``j`` (batch mean), with p = 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.shared.config import Config, check
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.train import Trainer, TrainerOptions, TrainHistory


@dataclass(frozen=True)
class Distillation(Config):
    """Hinton KD: ``temperature`` T and ``weight`` w of the soft term (Hinton et al. used T in 1..20)."""

    temperature: float = 4.0
    weight: float = 0.9

    def validate(self) -> None:
        check(self.temperature > 0, "temperature must be positive, got {}", self.temperature)
        check(0.0 <= self.weight <= 1.0, "weight must be in [0, 1], got {}", self.weight)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                      temperature: float = 4.0, weight: float = 0.9) -> torch.Tensor:
    """Hinton's loss (batch mean); ``weight=0`` is plain cross-entropy, ``weight=1`` soft targets only."""
    Distillation(temperature, weight)  # the same checks as the config
    hard = F.cross_entropy(student_logits, labels)
    if weight == 0.0:
        return hard
    soft = F.kl_div(F.log_softmax(student_logits / temperature, -1),
                    F.log_softmax(teacher_logits.detach() / temperature, -1),
                    reduction="batchmean", log_target=True)
    return (1.0 - weight) * hard + weight * temperature**2 * soft


class HintRegressor(nn.Module):
    """FitNets' regressor ``r``: a 1×1 convolution (feature maps) or a linear map (vectors)
    from the student's guided-layer width to the teacher's hint width."""

    def __init__(self, student_channels: int, teacher_channels: int, convolutional: bool = True) -> None:
        super().__init__()
        self.map = (nn.Conv2d(student_channels, teacher_channels, 1) if convolutional
                    else nn.Linear(student_channels, teacher_channels))

    def forward(self, student_features: torch.Tensor) -> torch.Tensor:
        return self.map(student_features)


def hint_loss(student_features: torch.Tensor, teacher_features: torch.Tensor,
              regressor: nn.Module | None = None) -> torch.Tensor:
    """``½‖u_h − r(v_g)‖²`` summed over features, averaged over the batch."""
    guided = regressor(student_features) if regressor is not None else student_features
    if guided.shape != teacher_features.shape:
        raise ConfigError(f"hint shapes differ: regressed student {tuple(guided.shape)} vs teacher "
                          f"{tuple(teacher_features.shape)}; give a HintRegressor that maps one onto the other")
    return 0.5 * (teacher_features.detach() - guided).pow(2).reshape(guided.shape[0], -1).sum(1).mean()


def attention_map(features: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """``vec(Σ_c |A_c|^p)`` normalised to unit L2 norm per example: ``(B, H·W)``."""
    return F.normalize(features.abs().pow(p).sum(1).reshape(features.shape[0], -1), dim=1)


def attention_transfer_loss(student_features: Sequence[torch.Tensor], teacher_features: Sequence[torch.Tensor],
                            p: float = 2.0) -> torch.Tensor:
    """Σ over layer pairs of ``‖Q_s/‖Q_s‖ − Q_t/‖Q_t‖‖₂`` (batch mean); spatial sizes must match."""
    if len(student_features) != len(teacher_features) or not student_features:
        raise ConfigError("attention transfer needs the same, non-zero number of student and teacher maps")
    total = student_features[0].new_zeros(())
    for student, teacher in zip(student_features, teacher_features, strict=True):
        if student.shape[2:] != teacher.shape[2:]:
            raise ConfigError(f"attention maps need equal spatial sizes: {tuple(student.shape[2:])} vs "
                              f"{tuple(teacher.shape[2:])}")
        total = total + (attention_map(student, p) - attention_map(teacher.detach(), p)).norm(dim=1).mean()
    return total


class FeatureTap:
    """Records the outputs of named submodules on each forward (for hints and attention maps)::

        with FeatureTap(model, ["layer2", "layer3"]) as tap:
            logits = model(x)
        maps = tap.features  # {"layer2": tensor, "layer3": tensor}
    """

    def __init__(self, model: nn.Module, names: Sequence[str]) -> None:
        self.model = model
        self.names = list(names)
        self.features: dict[str, torch.Tensor] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def __enter__(self) -> FeatureTap:
        for name in self.names:
            self._handles.append(self.model.get_submodule(name).register_forward_hook(self._recorder(name)))
        return self

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(module: nn.Module, args: object, output: torch.Tensor) -> None:
            self.features[name] = output

        return record

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def distill(teacher: nn.Module, student: nn.Module, config: Distillation,
            batch: Callable[[int], tuple[torch.Tensor, torch.Tensor]], optimizer: torch.optim.Optimizer,
            steps: int, options: TrainerOptions | None = None) -> TrainHistory:
    """Train ``student`` on Hinton's loss against the frozen ``teacher`` for ``steps`` steps with
    the core :class:`~methodzoo.shared.train.Trainer`; ``batch(step)`` returns ``(inputs, labels)``
    (a pure function of the step, so a resumed run draws the same batches)."""
    teacher.eval()

    def loss(step: int) -> torch.Tensor:
        inputs, labels = batch(step)
        with torch.no_grad():
            teacher_logits = teacher(inputs)
        return distillation_loss(student(inputs), teacher_logits, labels, config.temperature, config.weight)

    trainer = Trainer(student, optimizer, options=options or TrainerOptions(progress=False), config=config)
    return trainer.fit(loss, steps)
