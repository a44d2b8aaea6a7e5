"""One-shot pruning from calibration data, without retraining: Wanda and SparseGPT.

Both look at the inputs ``X`` each layer receives on a few calibration batches (a convolution's
inputs as the columns of its unfolded patches) and prune each layer as in the papers:

* **Wanda** (Sun et al. 2024, "A Simple and Effective Pruning Approach for Large Language
  Models"): score ``|W_ij| · ‖X_j‖₂``, pruned per output row (or N:M); the weights are not changed.
* **SparseGPT** (Frantar & Alistarh 2023): for each layer, the optimal-brain-surgeon update with
  the input Hessian ``H = 2XᵀX``: columns are processed left to right in blocks; within a block the
  weights with the smallest ``w²/[H⁻¹]_jj²`` are pruned (adaptive mask selection, or N:M) and the
  error of each pruned column is spread over the columns not yet processed, using the Cholesky
  factor of ``H⁻¹`` (``H`` is damped by ``damping · mean(diag H)``).

With ``sequential=True`` (the papers' practice) layer ``l`` is calibrated on the outputs of the
already pruned layers ``< l``; this costs one pass over the calibration data per layer.
Grouped (e.g. depthwise) and 3-d convolutions are left dense, with a warning.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.shared.compress.masks import Mask as _Mask
from methodzoo.shared.compress.masks import as_matrix, keep_largest_per_row, keep_n_of_m, set_mask_
from methodzoo.shared.compress.parametrized import original_of, parametrizations_of
from methodzoo.shared.compress.prune import (
    Calibration,
    check_pattern,
    feed_batch,
    n_of_m_targets,
    register_pruner,
    selected_targets,
)
from methodzoo.shared.compress.targets import LayerSelection, Target
from methodzoo.shared.config import check
from methodzoo.shared.errors import ConfigError, UserError


@dataclass(frozen=True)
class Wanda(LayerSelection):
    """Prune by weight magnitude times input-activation norm (Sun et al. 2024).

    ``sparsity`` per output row (default 0.5), or ``pattern=(n, m)`` (e.g. ``(2, 4)``) instead.
    """

    sparsity: float | None = None
    pattern: tuple[int, int] | None = None
    sequential: bool = True

    def validate(self) -> None:
        super().validate()
        _check_sparsity(self.sparsity, self.pattern)

    @property
    def target_sparsity(self) -> float:
        return _target_sparsity(self.sparsity, self.pattern)


@dataclass(frozen=True)
class SparseGPT(LayerSelection):
    """Prune with optimal-brain-surgeon weight updates from the input Hessian (Frantar & Alistarh 2023)."""

    sparsity: float | None = None
    pattern: tuple[int, int] | None = None
    block_size: int = 128
    damping: float = 0.01
    sequential: bool = True

    def validate(self) -> None:
        super().validate()
        _check_sparsity(self.sparsity, self.pattern)
        check(self.block_size >= 1, "block_size must be positive, got {}", self.block_size)
        check(self.damping > 0, "damping must be positive, got {}", self.damping)
        if self.pattern is not None:
            check(self.block_size % self.pattern[1] == 0, "block_size {} must be a multiple of m={}",
                  self.block_size, self.pattern[1])

    @property
    def target_sparsity(self) -> float:
        return _target_sparsity(self.sparsity, self.pattern)


def _check_sparsity(sparsity: float | None, pattern: tuple[int, int] | None) -> None:
    check_pattern(pattern)
    check(sparsity is None or pattern is None, "give sparsity or pattern, not both (n:m fixes the sparsity)")
    check(sparsity is None or 0.0 <= sparsity < 1.0, "sparsity must be in [0, 1), got {}", sparsity)


def _target_sparsity(sparsity: float | None, pattern: tuple[int, int] | None) -> float:
    if pattern is not None:
        return 1.0 - pattern[0] / pattern[1]
    return 0.5 if sparsity is None else sparsity


# ----- input statistics -----------------------------------------------------------------------------
def layer_inputs(module: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The rows ``X`` a layer multiplies by its weight matrix: ``(tokens, inputs)``."""
    if isinstance(module, nn.Linear):
        return inputs.reshape(-1, inputs.shape[-1])
    if isinstance(module, nn.Conv1d):
        module_2d = dict(kernel_size=(1, module.kernel_size[0]), dilation=(1, module.dilation[0]),
                         padding=(0, _padding(module)[0]), stride=(1, module.stride[0]))
        patches = F.unfold(inputs.unsqueeze(2), **module_2d)  # (B, C·k, L)
    else:
        assert isinstance(module, nn.Conv2d)
        patches = F.unfold(inputs, module.kernel_size, dilation=module.dilation, padding=_padding(module),
                           stride=module.stride)  # (B, C·kh·kw, L)
    return patches.transpose(1, 2).reshape(-1, patches.shape[1])


def _padding(module: nn.Conv1d | nn.Conv2d) -> tuple[int, ...]:
    if isinstance(module.padding, str):
        raise UserError(f"padding={module.padding!r} convolutions are not supported by one-shot pruning")
    return tuple(module.padding)


class InputStatistics:
    """Streams ``Σ x_j²`` (Wanda) or ``Σ x xᵀ`` (SparseGPT) over a layer's calibration inputs."""

    def __init__(self, columns: int, hessian: bool) -> None:
        self.columns = columns
        self.tokens = 0
        self.squares = torch.zeros(columns, dtype=torch.float64)
        self.gram: torch.Tensor | None = torch.zeros(columns, columns, dtype=torch.float64) if hessian else None

    def add(self, rows: torch.Tensor) -> None:
        # float64 on the CPU; on an accelerator float32 where the activations already are
        dtype = torch.float64 if rows.device.type == "cpu" else torch.float32
        rows = rows.detach().to(dtype)
        if self.squares.device != rows.device or self.squares.dtype != dtype:
            self.squares = self.squares.to(rows.device, dtype)
            self.gram = self.gram.to(rows.device, dtype) if self.gram is not None else None
        self.tokens += rows.shape[0]
        self.squares += rows.pow(2).sum(0)
        if self.gram is not None:
            self.gram += rows.T @ rows

    @property
    def hessian(self) -> torch.Tensor:
        """``H = 2 XᵀX / n``."""
        assert self.gram is not None
        return 2.0 * self.gram / max(self.tokens, 1)


def _eligible(target: Target) -> bool:
    """Linear layers and ungrouped, zero-padded 1-d/2-d convolutions."""
    module = target.module
    convolution = isinstance(module, (nn.Conv1d, nn.Conv2d)) and module.groups == 1 and module.padding_mode == "zeros"
    return isinstance(module, nn.Linear) or convolution


class _StopForward(Exception):
    """Raised by a hook once the statistics a pass was run for are in: the rest of the forward
    pass cannot change them."""


def _run(model: nn.Module, batches: Sequence[Any]) -> None:
    for batch in batches:
        with contextlib.suppress(_StopForward):
            feed_batch(model, batch)


@torch.no_grad()
def collect_statistics(model: nn.Module, targets: Sequence[Target], batches: Sequence[Any],
                       hessian: bool, stop_early: bool = False) -> dict[str, InputStatistics]:
    """Input statistics of each target over the calibration batches (one pass).

    ``stop_early`` (for a single target that the forward pass calls once) ends each pass as soon
    as that target has seen its input: sequential calibration then costs the model's forward up
    to each layer rather than the whole model per layer.
    """
    check(not stop_early or len(targets) == 1, "stop_early needs exactly one target")
    statistics: dict[str, InputStatistics] = {}
    handles = []
    for target in targets:
        columns = as_matrix(target.value()).shape[1]
        stats = statistics[target.qualified_name] = InputStatistics(columns, hessian)

        def hook(module: nn.Module, args: tuple[Any, ...], stats: InputStatistics = stats) -> None:
            stats.add(layer_inputs(module, args[0]))
            if stop_early:
                raise _StopForward

        handles.append(target.module.register_forward_pre_hook(hook))
    try:
        _run(model, batches)
    finally:
        for handle in handles:
            handle.remove()
    return statistics


@torch.no_grad()
def execution_order(model: nn.Module, targets: Sequence[Target], batch: Any) -> list[tuple[Target, int]]:
    """The targets in the order the forward pass first reaches them (unreached ones dropped),
    each with the number of times one forward pass calls it."""
    calls: dict[int, int] = {}  # insertion order is the order of first calls
    handles = [t.module.register_forward_pre_hook(lambda m, a, i=i: calls.__setitem__(i, calls.get(i, 0) + 1))
               for i, t in enumerate(targets)]
    try:
        _run(model, [batch])
    finally:
        for handle in handles:
            handle.remove()
    return [(targets[i], count) for i, count in calls.items()]


# ----- the two rules ----------------------------------------------------------------------------------
def wanda_mask(weight: torch.Tensor, squares: torch.Tensor, sparsity: float,
               pattern: tuple[int, int] | None) -> torch.Tensor:
    """Wanda's mask for a ``(rows, columns)`` weight given ``Σ x_j²`` per column."""
    scores = weight.abs().to(squares.dtype) * squares.sqrt().to(weight.device)
    if pattern is not None:
        return keep_n_of_m(scores, *pattern)
    return keep_largest_per_row(scores, sparsity)


def sparsegpt_prune(weight: torch.Tensor, hessian: torch.Tensor, sparsity: float,
                    pattern: tuple[int, int] | None, block_size: int = 128,
                    damping: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """SparseGPT on one ``(rows, columns)`` weight: the updated weights and the kept mask."""
    dtype = torch.float64 if weight.device.type == "cpu" else torch.float32
    W = weight.detach().to(dtype).clone()
    H = hessian.to(weight.device, dtype).clone()
    columns = W.shape[1]
    dead = torch.diag(H) == 0  # inputs that are always zero: any weight there is free to prune
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    H += damping * torch.diag(H).mean() * torch.eye(columns, dtype=H.dtype, device=H.device)
    U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    pruned = torch.zeros_like(W, dtype=torch.bool)
    for start in range(0, columns, block_size):
        end = min(start + block_size, columns)
        W1 = W[:, start:end].clone()
        Q1 = torch.zeros_like(W1)
        errors = torch.zeros_like(W1)
        U1 = U[start:end, start:end]
        diagonal = torch.diag(U1)
        block_pruned = torch.zeros_like(W1, dtype=torch.bool)
        if pattern is None:
            saliency = (W1 / diagonal).pow(2).reshape(-1)
            count = round(sparsity * saliency.numel())
            if count:
                block_pruned.view(-1)[torch.topk(saliency, count, largest=False).indices] = True
        for i in range(end - start):
            if pattern is not None and i % pattern[1] == 0:
                n, m = pattern
                saliency = (W1[:, i:i + m] / diagonal[i:i + m]).pow(2)
                block_pruned[:, i:i + m].scatter_(1, torch.topk(saliency, m - n, dim=1, largest=False).indices, True)
            w = W1[:, i]
            q = w.masked_fill(block_pruned[:, i], 0.0)
            Q1[:, i] = q
            error = (w - q) / U1[i, i]
            W1[:, i:] -= error.unsqueeze(1) @ U1[i, i:].unsqueeze(0)
            errors[:, i] = error
        W[:, start:end] = Q1
        pruned[:, start:end] = block_pruned
        W[:, end:] -= errors @ U[start:end, end:]
    return W.to(weight.dtype), ~pruned


# ----- applying them -------------------------------------------------------------------------------------
def _only_masks(target: Target) -> None:
    others = [p for p in parametrizations_of(target.module, target.tensor) if not isinstance(p, _Mask)]
    if others:
        raise UserError(f"{target.qualified_name} has a {type(others[0]).__name__}; prune before quantizing")


def _apply_wanda(target: Target, stats: InputStatistics, config: Wanda) -> None:
    weight = target.value()
    keep = wanda_mask(as_matrix(weight.detach()), stats.squares, config.target_sparsity, config.pattern)
    set_mask_(target.module, target.tensor, keep.view_as(weight).to(weight.device))


def _apply_sparsegpt(target: Target, stats: InputStatistics, config: SparseGPT) -> None:
    _only_masks(target)
    weight = target.value()
    updated, keep = sparsegpt_prune(as_matrix(weight.detach()), stats.hessian, config.target_sparsity,
                                    config.pattern, config.block_size, config.damping)
    original_of(target.module, target.tensor).data.copy_(updated.view_as(weight))
    set_mask_(target.module, target.tensor, keep.view_as(weight).to(weight.device))


def _one_shot(model: nn.Module, config: Wanda | SparseGPT, calibration: Calibration | None,
              apply: Callable[[Target, InputStatistics, Any], None], hessian: bool) -> None:
    name = type(config).__name__
    if calibration is None:
        raise ConfigError(f"{name} needs calibration data: prune_(model, {name}(...), calibration=batches)")
    batches = list(calibration)
    if not batches:
        raise ConfigError(f"{name}: the calibration data is empty")
    targets = selected_targets(model, config)
    left = [t.qualified_name for t in targets if not _eligible(t)]
    targets = [t for t in targets if _eligible(t)]
    if config.pattern is not None:
        targets = n_of_m_targets(targets, config.pattern[1], name)
    if left:
        warnings.warn(f"{name}: left dense (grouped, 3-d or attention-packed weights): {', '.join(left)}",
                      stacklevel=3)
    was_training = model.training
    model.eval()
    try:
        if config.sequential:
            for target, calls in execution_order(model, targets, batches[0]):
                # A layer called more than once per pass (shared weights) needs the whole pass.
                stats = collect_statistics(model, [target], batches, hessian,
                                           stop_early=calls == 1)[target.qualified_name]
                apply(target, stats, config)
        else:
            statistics = collect_statistics(model, targets, batches, hessian)
            for target in targets:
                apply(target, statistics[target.qualified_name], config)
    finally:
        model.train(was_training)


@register_pruner(Wanda)
@torch.no_grad()
def _wanda(model: nn.Module, config: Wanda, calibration: Calibration | None) -> None:
    _one_shot(model, config, calibration, _apply_wanda, hessian=False)


@register_pruner(SparseGPT)
@torch.no_grad()
def _sparsegpt(model: nn.Module, config: SparseGPT, calibration: Calibration | None) -> None:
    _one_shot(model, config, calibration, _apply_sparsegpt, hessian=True)
