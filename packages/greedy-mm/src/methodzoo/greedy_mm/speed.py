"""The conditional learning speed (Wu et al., 2022, Sec. 4), bookkept as the released callback does.

After each backward pass, for each modality i, with the gradients of that step:

    M_bypass,i += Σ_{θ ∈ fusion_i} ‖∇θ‖² / Σ_{θ ∈ fusion_i} ‖θ‖²
    M_main,i   += Σ_{θ ∈ branch_i} ‖∇θ‖² / Σ_{θ ∈ branch_i} ‖θ‖²

(each increment a ratio of sums for that step, not a ratio of accumulated sums). fusion_i holds
the MMTM parameters tagged with modality i, the shared squeeze layer counting for both;
branch_i is all of φ_i. Then BDR_i = log10(M_bypass,i / M_main,i), the paper's
s(m_{1−i} | m_i), and d_speed = BDR_0 − BDR_1: positive when branch 0 learns relatively faster
from m1 through the fusion than from m0 itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from methodzoo.shared.errors import ConfigError

if TYPE_CHECKING:
    from methodzoo.greedy_mm.mmtm import MMTM

ParameterPair = tuple[tuple[nn.Parameter, ...], tuple[nn.Parameter, ...]]


@dataclass(frozen=True)
class SpeedGroups:
    """The four parameter groups of the learning speed: ``fusion[i]`` and ``branch[i]``."""

    fusion: ParameterPair
    branch: ParameterPair

    def __post_init__(self) -> None:
        for kind, pair in (("fusion", self.fusion), ("branch", self.branch)):
            for modality, group in enumerate(pair):
                if not group:
                    raise ConfigError(f"{kind} group of modality {modality} has no parameters")

    @classmethod
    def from_modules(cls, fusions: Iterable[MMTM], branches: tuple[nn.Module, nn.Module]) -> SpeedGroups:
        """Groups of a model made of MMTM ``fusions`` and the two branch modules."""
        fusions = list(fusions)
        fusion = tuple(tuple(p for f in fusions for p in f.modality_parameters(i)) for i in (0, 1))
        branch = tuple(tuple(b.parameters()) for b in branches)
        return cls(fusion=fusion, branch=branch)  # type: ignore[arg-type]

    @classmethod
    def from_names(cls, model: nn.Module, *, fusion_key: str, modality_keys: tuple[str, str],
                   branch_keys: tuple[str, str]) -> SpeedGroups:
        """Groups by parameter name, the released code's convention: a parameter whose name
        contains ``fusion_key`` is a fusion parameter, of modality i if its name also contains
        ``modality_keys[i]`` and of both otherwise (the shared squeeze); any other parameter
        whose name contains ``branch_keys[i]`` belongs to branch i."""
        fusion: tuple[list[nn.Parameter], list[nn.Parameter]] = ([], [])
        branch: tuple[list[nn.Parameter], list[nn.Parameter]] = ([], [])
        for name, parameter in model.named_parameters():
            if fusion_key in name:
                tagged = [i for i in (0, 1) if modality_keys[i] in name]
                for i in tagged or (0, 1):
                    fusion[i].append(parameter)
            else:
                for i in (0, 1):
                    if branch_keys[i] in name:
                        branch[i].append(parameter)
        return cls(fusion=(tuple(fusion[0]), tuple(fusion[1])), branch=(tuple(branch[0]), tuple(branch[1])))

    @classmethod
    def of(cls, model: nn.Module) -> SpeedGroups:
        """The groups a model declares through a ``speed_groups()`` method."""
        method = getattr(model, "speed_groups", None)
        if method is None:
            raise ConfigError(f"{type(model).__name__} has no speed_groups(); pass SpeedGroups.from_modules(...) "
                              "or SpeedGroups.from_names(...)")
        groups = method()
        if not isinstance(groups, SpeedGroups):
            raise TypeError(f"{type(model).__name__}.speed_groups() returned {type(groups).__name__}, not SpeedGroups")
        return groups


def relative_gradient(parameters: Sequence[nn.Parameter]) -> float:
    """Σ‖∇θ‖² / Σ‖θ‖² over ``parameters`` for the gradients now stored (a missing gradient is 0)."""
    weights = torch.stack([p.detach().double().pow(2).sum() for p in parameters]).sum()
    grads = [p.grad.detach().double().pow(2).sum() for p in parameters if p.grad is not None]
    gradient = torch.stack(grads).sum() if grads else torch.zeros((), dtype=torch.float64)
    weight_norm = float(weights)
    if weight_norm == 0.0:
        raise ValueError("learning speed undefined: a parameter group has all-zero weights")
    return float(gradient) / weight_norm


class LearningSpeedTracker:
    """Accumulates M_bypass,i and M_main,i after each backward pass and gives d_speed.

    Call :meth:`after_backward` between ``loss.backward()`` and ``optimizer.step()``::

        tracker = LearningSpeedTracker(model)        # or LearningSpeedTracker(SpeedGroups(...))
        loss.backward()
        d_speed = tracker.after_backward(model)
        optimizer.step()
    """

    def __init__(self, groups: SpeedGroups | nn.Module) -> None:
        self.groups = groups if isinstance(groups, SpeedGroups) else SpeedGroups.of(groups)
        self.m_bypass = [0.0, 0.0]
        self.m_main = [0.0, 0.0]
        self.steps = 0

    def step_ratios(self) -> dict[str, tuple[float, float]]:
        """This step's increments: ``{"bypass": (r0, r1), "main": (r0, r1)}``."""
        return {"bypass": (relative_gradient(self.groups.fusion[0]), relative_gradient(self.groups.fusion[1])),
                "main": (relative_gradient(self.groups.branch[0]), relative_gradient(self.groups.branch[1]))}

    def after_backward(self, model: nn.Module | None = None) -> float:
        """Add this step's ratios to the sums and return the new d_speed. ``model`` is accepted so
        the tracker can be used as an after-backward hook; the groups fixed at construction are read."""
        ratios = self.step_ratios()
        for i in (0, 1):
            self.m_bypass[i] += ratios["bypass"][i]
            self.m_main[i] += ratios["main"][i]
        self.steps += 1
        return self.d_speed

    def trainer_hook(self) -> Callable[[Any], dict[str, float]]:
        """An after-backward hook for the core ``Trainer`` (its ``gradient_hooks``): reads
        ``trainer.model``'s gradients and logs ``d_speed``."""

        def hook(trainer: Any) -> dict[str, float]:
            return {"d_speed": self.after_backward(trainer.model)}

        return hook

    @property
    def bdr(self) -> tuple[float, float]:
        """(BDR_0, BDR_1) = log10(M_bypass,i / M_main,i); NaN before any step."""
        return (_log_ratio(self.m_bypass[0], self.m_main[0]), _log_ratio(self.m_bypass[1], self.m_main[1]))

    @property
    def d_speed(self) -> float:
        """d_speed = BDR_0 − BDR_1 (NaN before any step)."""
        bdr0, bdr1 = self.bdr
        return bdr0 - bdr1

    def state_dict(self) -> dict[str, Any]:
        return {"m_bypass": list(self.m_bypass), "m_main": list(self.m_main), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.m_bypass = [float(v) for v in state["m_bypass"]]
        self.m_main = [float(v) for v in state["m_main"]]
        self.steps = int(state["steps"])


def _log_ratio(numerator: float, denominator: float) -> float:
    if numerator <= 0.0 or denominator <= 0.0:
        return math.nan
    return math.log10(numerator / denominator)
