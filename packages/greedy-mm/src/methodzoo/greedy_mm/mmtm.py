"""The multimodal transfer module (MMTM; Joze et al., CVPR 2020) with the two switches that
Wu et al. (ICML 2022) need: re-balancing and squeeze substitution.

Feature maps ``F0 (B, C0, *S0)`` and ``F1 (B, C1, *S1)`` (any number of spatial axes, none for
vectors) are squeezed by global average pooling, ``S_i = GAP(F_i)``; a shared layer gives
``Z = ReLU(W_s [S0; S1] + b_s)`` and one excitation per modality ``E_i = W_i Z + b_i``; each
branch is rescaled channel-wise, ``F̃_i = g(E_i) ⊙ F_i`` with the gate ``g = 2σ`` (Joze et al.'s
equation) or ``σ`` (both official codes).

Switches (plain attributes, set through :func:`rebalancing` and :func:`substituted_squeeze`):

* ``cared_modality = c``: the re-balancing step of balanced multi-modal learning. Branch ``c``'s
  gate is replaced by its running average, a constant, so no sample-specific signal from the
  other modality reaches branch ``c`` through this module.
* ``substitute_squeeze = (S̄0, S̄1)``: evaluation of the conditional utilization rate. Branch 0's
  excitation is computed from ``[S0; S̄1]`` and branch 1's from ``[S̄0; S1]``, with ``S̄_i`` the
  training-set mean squeeze vectors, so ŷ0 no longer depends on the m1 input (and vice versa).

Each module keeps the running average of each modality's gate (batch mean per training forward,
all steps weighted equally, as the released code does) in its own buffer of its own size: the
released code updated modality 1's average with modality 0's gates, a bug not reproduced here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.shared.errors import ConfigError

Gate = Literal["2sigmoid", "sigmoid"]


def squeeze(features: torch.Tensor) -> torch.Tensor:
    """Global average pooling over every axis after the channel axis: ``(B, C, ...) → (B, C)``."""
    if features.ndim < 2:
        raise ValueError(f"MMTM needs features shaped (batch, channels, ...), got {tuple(features.shape)}")
    return features.flatten(2).mean(-1) if features.ndim > 2 else features


class MMTM(nn.Module):
    """Multimodal transfer module between two branches with ``channels0`` and ``channels1`` channels.

    The squeeze layer has ``int(2 (C0 + C1) / reduction_ratio)`` units (the official MMTM and
    greedy-learning code; ratio 4). ``gate`` is ``"2sigmoid"`` (Joze et al., Eq. 4: gates in
    (0, 2), identity-like at initialisation) or ``"sigmoid"`` (the released code).
    """

    running_gate0: torch.Tensor
    running_gate1: torch.Tensor
    running_count: torch.Tensor

    def __init__(self, channels0: int, channels1: int, reduction_ratio: float = 4.0,
                 gate: Gate = "2sigmoid") -> None:
        super().__init__()
        if channels0 < 1 or channels1 < 1:
            raise ConfigError(f"MMTM channels must be >= 1, got {channels0} and {channels1}")
        if reduction_ratio <= 0:
            raise ConfigError(f"reduction_ratio must be positive, got {reduction_ratio}")
        if gate not in ("2sigmoid", "sigmoid"):
            raise ConfigError(f"gate must be '2sigmoid' or 'sigmoid', got {gate!r}")
        self.channels = (channels0, channels1)
        self.gate_scale = 2.0 if gate == "2sigmoid" else 1.0
        hidden = max(1, int(2 * (channels0 + channels1) / reduction_ratio))
        self.fc_squeeze = nn.Linear(channels0 + channels1, hidden)  # W_s, shared by both modalities
        self.fc_excite = nn.ModuleList([nn.Linear(hidden, channels0), nn.Linear(hidden, channels1)])
        self.register_buffer("running_gate0", torch.zeros(channels0))
        self.register_buffer("running_gate1", torch.zeros(channels1))
        self.register_buffer("running_count", torch.zeros((), dtype=torch.long))
        self.cared_modality: int | None = None
        self.substitute_squeeze: tuple[torch.Tensor, torch.Tensor] | None = None

    # ----- the paper's steps ------------------------------------------------------------------
    def joint_code(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        """Z = ReLU(W_s [S0; S1] + b_s): ``(B, C0), (B, C1) → (B, hidden)``."""
        return F.relu(self.fc_squeeze(torch.cat([s0, s1], dim=1)))

    def gate(self, z: torch.Tensor, modality: int) -> torch.Tensor:
        """g(E_i) with E_i = W_i Z + b_i: ``(B, hidden) → (B, C_i)``."""
        return self.gate_scale * torch.sigmoid(self.fc_excite[modality](z))

    def gates(self, s0: torch.Tensor, s1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both modalities' gates, with the other modality's squeeze substituted when asked."""
        if self.substitute_squeeze is None:
            z = self.joint_code(s0, s1)
            return self.gate(z, 0), self.gate(z, 1)
        mean0, mean1 = (m.to(device=s0.device, dtype=s0.dtype) for m in self.substitute_squeeze)
        z0 = self.joint_code(s0, mean1.expand(s1.shape[0], -1))
        z1 = self.joint_code(mean0.expand(s0.shape[0], -1), s1)
        return self.gate(z0, 0), self.gate(z1, 1)

    def forward(self, f0: torch.Tensor, f1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s0, s1 = squeeze(f0), squeeze(f1)
        if s0.shape[1] != self.channels[0] or s1.shape[1] != self.channels[1]:
            raise ValueError(f"MMTM built for {self.channels} channels got {s0.shape[1]} and {s1.shape[1]}")
        g0, g1 = self.gates(s0, s1)
        if self.training:
            self.update_running_gates(g0.detach(), g1.detach())
        if self.cared_modality is not None:
            g0, g1 = self.rebalanced(g0, g1, self.cared_modality)
        return f0 * _broadcast(g0, f0), f1 * _broadcast(g1, f1)

    # ----- running statistics and re-balancing -------------------------------------------------
    @torch.no_grad()
    def update_running_gates(self, g0: torch.Tensor, g1: torch.Tensor) -> None:
        """Fold this batch's mean gate of each modality into that modality's own running mean."""
        count = int(self.running_count)
        self.running_gate0.mul_(count / (count + 1)).add_(g0.mean(0).to(self.running_gate0.dtype) / (count + 1))
        self.running_gate1.mul_(count / (count + 1)).add_(g1.mean(0).to(self.running_gate1.dtype) / (count + 1))
        self.running_count.add_(1)

    def rebalanced(self, g0: torch.Tensor, g1: torch.Tensor, cared: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Replace the cared-for modality's gate by its running average (a constant)."""
        if int(self.running_count) == 0:
            raise RuntimeError("re-balancing needs running gate averages: run a training step first")
        if cared == 0:
            return self.running_gate0.to(g0.dtype).expand_as(g0), g1
        if cared == 1:
            return g0, self.running_gate1.to(g1.dtype).expand_as(g1)
        raise ValueError(f"cared modality must be 0 or 1, got {cared}")

    def modality_parameters(self, modality: int) -> list[nn.Parameter]:
        """The parameters tagged with ``modality`` for the learning speed: the shared squeeze
        layer and that modality's excitation layer."""
        return [*self.fc_squeeze.parameters(), *self.fc_excite[modality].parameters()]

    def extra_repr(self) -> str:
        return f"channels={self.channels}, hidden={self.fc_squeeze.out_features}, gate_scale={self.gate_scale}"


def _broadcast(gate: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    return gate.view(*gate.shape, *([1] * (features.ndim - 2)))  # (B, C) → (B, C, 1, ...)


def fusion_modules(model: nn.Module) -> list[MMTM]:
    """Every :class:`MMTM` inside ``model``, in module order."""
    return [module for module in model.modules() if isinstance(module, MMTM)]


def set_rebalancing(model: nn.Module, cared: int | None) -> None:
    """Put every MMTM of ``model`` in re-balancing mode for modality ``cared`` (None: regular)."""
    if cared not in (None, 0, 1):
        raise ValueError(f"cared modality must be None, 0 or 1, got {cared}")
    for module in fusion_modules(model):
        module.cared_modality = cared


@contextmanager
def rebalancing(model: nn.Module, cared: int | None) -> Iterator[None]:
    """Run the block with every MMTM re-balancing for ``cared`` (None: regular), then restore."""
    modules = fusion_modules(model)
    saved = [m.cared_modality for m in modules]
    set_rebalancing(model, cared)
    try:
        yield
    finally:
        for module, previous in zip(modules, saved, strict=True):
            module.cared_modality = previous


@contextmanager
def substituted_squeeze(model: nn.Module,
                        means: list[tuple[torch.Tensor, torch.Tensor]]) -> Iterator[None]:
    """Run the block with each MMTM's cross-modal squeeze replaced by ``means`` (one pair per
    module, in :func:`fusion_modules` order), then restore."""
    modules = fusion_modules(model)
    if len(means) != len(modules):
        raise ConfigError(f"squeeze statistics hold {len(means)} fusion layers, the model has {len(modules)}")
    saved = [m.substitute_squeeze for m in modules]
    try:
        for module, pair in zip(modules, means, strict=True):
            if pair[0].shape != (module.channels[0],) or pair[1].shape != (module.channels[1],):
                raise ConfigError(f"squeeze statistics of shapes {tuple(pair[0].shape)}, {tuple(pair[1].shape)} "
                                  f"do not fit an MMTM with channels {module.channels}")
            module.substitute_squeeze = pair
        yield
    finally:
        for module, previous in zip(modules, saved, strict=True):
            module.substitute_squeeze = previous
