"""The multi-modal network of Wu et al. (2022, Fig. 1): two unimodal branches φ0, φ1, each with
its own head, joined by MMTM fusion after chosen stages.

Any pair of branches works: a :class:`Branch` is a list of stages (``nn.Module``s applied in
turn) and a head. Fusion after stage ``k`` rescales both branches' stage-``k`` outputs. The
prediction is ŷ = (ŷ0 + ŷ1)/2 and training minimises CE(ŷ0, y) + CE(ŷ1, y)
(:func:`two_head_loss`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.greedy_mm.mmtm import MMTM, Gate
from methodzoo.greedy_mm.speed import SpeedGroups
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.modules import eval_mode


class MultimodalOutput(NamedTuple):
    """``logits`` = (ŷ0 + ŷ1)/2, the model's prediction; ``branch_logits`` = (ŷ0, ŷ1), each
    ``(B, classes)``."""

    logits: torch.Tensor
    branch_logits: tuple[torch.Tensor, torch.Tensor]


class Branch(nn.Module):
    """One unimodal branch φ_i: ``stages`` applied in order, then ``head`` (features → logits)."""

    def __init__(self, stages: Sequence[nn.Module], head: nn.Module) -> None:
        super().__init__()
        if len(stages) < 1:
            raise ConfigError("a branch needs at least one stage")
        self.stages = nn.ModuleList(stages)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The branch alone, without fusion."""
        for stage in self.stages:
            x = stage(x)
        return self.head(x)


class ClassifierHead(nn.Module):
    """Global average pooling over every axis after the channels, then a linear layer."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        pooled = features.flatten(2).mean(-1) if features.ndim > 2 else features  # (B, C)
        return self.fc(pooled)


class MultimodalNetwork(nn.Module):
    """Two branches with MMTM fusion after the stages listed in ``fusion_after`` (0-based).

    The fused stages' channel counts come from ``channels`` (one ``(C0, C1)`` pair per fusion
    point) or, when not given, from one dry run of the stages on ``example_inputs`` (a batch of
    each modality; run in eval mode without gradients).
    """

    def __init__(self, branch0: Branch, branch1: Branch, fusion_after: Sequence[int], *,
                 channels: Sequence[tuple[int, int]] | None = None,
                 example_inputs: tuple[torch.Tensor, torch.Tensor] | None = None,
                 reduction_ratio: float = 4.0, gate: Gate = "2sigmoid") -> None:
        super().__init__()
        depth = len(branch0.stages)
        if len(branch1.stages) != depth:
            raise ConfigError(f"both branches need the same number of stages (got {depth} and "
                              f"{len(branch1.stages)}); pad the shorter one with nn.Identity()")
        points = sorted(set(fusion_after))
        if len(points) != len(fusion_after) or any(not 0 <= k < depth for k in points):
            raise ConfigError(f"fusion_after must list distinct stage indices in [0, {depth - 1}], got {tuple(fusion_after)}")
        self.branches = nn.ModuleList([branch0, branch1])
        self.fusion_after = tuple(points)
        if channels is None:
            if example_inputs is None:
                raise ConfigError("give the fused stages' channels or example_inputs to measure them")
            channels = self._measure_channels(example_inputs)
        if len(channels) != len(points):
            raise ConfigError(f"{len(points)} fusion points need {len(points)} channel pairs, got {len(channels)}")
        self.fusions = nn.ModuleDict({str(k): MMTM(c0, c1, reduction_ratio, gate)
                                      for k, (c0, c1) in zip(points, channels, strict=True)})

    def _measure_channels(self, inputs: tuple[torch.Tensor, torch.Tensor]) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        with torch.no_grad(), eval_mode(*self.branches):
            f0, f1 = inputs
            for k, (stage0, stage1) in enumerate(zip(self.branches[0].stages, self.branches[1].stages, strict=True)):
                f0, f1 = stage0(f0), stage1(f1)
                if k in self.fusion_after:
                    found.append((int(f0.shape[1]), int(f1.shape[1])))
        return found

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> MultimodalOutput:
        f0, f1 = x0, x1
        stages = zip(self.branches[0].stages, self.branches[1].stages, strict=True)
        for k, (stage0, stage1) in enumerate(stages):
            f0, f1 = stage0(f0), stage1(f1)
            if k in self.fusion_after:
                f0, f1 = self.fusions[str(k)](f0, f1)
        y0, y1 = self.branches[0].head(f0), self.branches[1].head(f1)
        return MultimodalOutput((y0 + y1) / 2, (y0, y1))

    def speed_groups(self) -> SpeedGroups:
        """Parameter groups of the conditional learning speed: fusion_i (shared squeeze + excitation
        i of every MMTM) and branch_i (all of φ_i, its head included)."""
        return SpeedGroups.from_modules(list(self.fusions.values()), (self.branches[0], self.branches[1]))  # type: ignore[arg-type]

    def branch_parameters(self, modality: int) -> list[nn.Parameter]:
        """All parameters of branch φ_modality (stages and head)."""
        return list(self.branches[modality].parameters())


def branch_logits(output: MultimodalOutput | Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(ŷ0, ŷ1) from a model's output: a :class:`MultimodalOutput` or any pair of logits."""
    if isinstance(output, MultimodalOutput):
        return output.branch_logits
    if isinstance(output, Sequence) and len(output) == 2 and all(isinstance(t, torch.Tensor) for t in output):
        return output[0], output[1]
    raise TypeError("a two-branch model must return a MultimodalOutput or the pair (ŷ0, ŷ1)")


def two_head_loss(output: MultimodalOutput | Sequence[torch.Tensor], labels: torch.Tensor,
                  heads: Sequence[int] = (0, 1)) -> torch.Tensor:
    """Σ over ``heads`` of CE(ŷ_i, y): the paper's loss with both heads, one head when re-balancing
    updates the cared-for branch only."""
    logits = branch_logits(output)
    return sum((F.cross_entropy(logits[i], labels) for i in heads), start=torch.zeros((), device=labels.device))
