"""Pruning masks as ``torch.nn.utils.parametrize`` parametrizations.

A masked weight is computed as ``original * mask`` every time it is read, so the optimizer keeps
updating ``original`` while the pruned entries stay exactly zero in every forward pass. Unlike
``torch.nn.utils.prune`` (forward pre-hooks), parametrizations survive ``copy.deepcopy``, the
EMA's copy and ``state_dict`` round trips, and every mask is a plain tensor in the state dict:

    fc.parametrizations.weight.original     the trained weights
    fc.parametrizations.weight.0.mask       bool, same shape: True = kept

Two kinds: :class:`Mask` (any pattern, element by element) and :class:`ChannelMask` (whole slices
along one dimension: filters, neurons, heads), which :func:`~methodzoo.shared.compress.compact`
turns into smaller layers. :func:`restore_masks_` rebuilds the parametrizations of a fresh model
from a saved state dict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import nn

from methodzoo.shared.compress.parametrized import (
    parametrizations_of,
    parametrized_tensors,
    register_,
    remove_,
)
from methodzoo.shared.errors import UserError


class Mask(nn.Module):
    """Element-wise mask: ``weight = original * mask`` (``mask`` a bool buffer, True = kept)."""

    mask: torch.Tensor

    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask.detach().to(torch.bool).clone())

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.mask

    def sliced(self, dim: int, index: torch.Tensor) -> Mask:
        """The same mask with only ``index`` kept along ``dim`` (used by ``compact``)."""
        return Mask(self.mask.index_select(dim, index.to(self.mask.device)))


class ChannelMask(nn.Module):
    """Keeps whole slices along ``dim``: ``weight = original * keep`` broadcast along ``dim``.

    ``keep`` is a bool vector with one entry per slice. ``dim`` is also stored as a buffer so a
    saved state dict says which dimension was pruned.
    """

    keep: torch.Tensor
    dim_index: torch.Tensor

    def __init__(self, dim: int, keep: torch.Tensor) -> None:
        super().__init__()
        if keep.ndim != 1:
            raise ValueError(f"keep must be a vector, got shape {tuple(keep.shape)}")
        self.dim = dim
        self.register_buffer("keep", keep.detach().to(torch.bool).clone())
        self.register_buffer("dim_index", torch.tensor(dim, dtype=torch.int64))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        shape = [1] * weight.ndim
        shape[self.dim] = -1
        return weight * self.keep.view(shape)

    def sliced(self, dim: int, index: torch.Tensor) -> ChannelMask:
        keep = self.keep.index_select(0, index.to(self.keep.device)) if dim == self.dim else self.keep
        return ChannelMask(self.dim, keep)


MASK_TYPES: tuple[type[nn.Module], ...] = (Mask, ChannelMask)


def find_mask(module: nn.Module, name: str) -> Mask | None:
    for item in parametrizations_of(module, name):
        if isinstance(item, Mask):
            return item
    return None


def set_mask_(module: nn.Module, name: str, mask: torch.Tensor) -> Mask:
    """Mask ``module.<name>`` element-wise with ``mask`` (True = kept), replacing an earlier
    element-wise mask on that tensor (pruning again to a higher sparsity starts from the masked
    weights, so earlier zeros stay zero)."""
    current = getattr(module, name)
    if mask.shape != current.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match {name} {tuple(current.shape)}")
    existing = find_mask(module, name)
    if existing is not None:
        existing.mask.copy_(mask.to(torch.bool))
        return existing
    new = Mask(mask.to(current.device))
    register_(module, name, new)
    return new


def add_channel_mask_(module: nn.Module, name: str, dim: int, keep: torch.Tensor) -> ChannelMask:
    """Zero the slices of ``module.<name>`` along ``dim`` where ``keep`` is False (combined with
    an existing channel mask on the same dimension)."""
    current = getattr(module, name)
    if keep.shape != (current.shape[dim],):
        raise ValueError(f"keep has {keep.numel()} entries; {name} has {current.shape[dim]} along dim {dim}")
    for item in parametrizations_of(module, name):
        if isinstance(item, ChannelMask) and item.dim == dim:
            item.keep.logical_and_(keep.to(item.keep.device, torch.bool))
            return item
    new = ChannelMask(dim, keep.to(current.device))
    register_(module, name, new)
    return new


def effective_mask(module: nn.Module, name: str) -> torch.Tensor | None:
    """The combined 0/1 pattern of every mask on ``module.<name>`` (``None`` when unmasked)."""
    combined: torch.Tensor | None = None
    shape = getattr(module, name).shape
    for item in parametrizations_of(module, name):
        pattern = getattr(item, "current_mask", None)
        if isinstance(item, Mask):
            part = item.mask
        elif isinstance(item, ChannelMask):
            view = [1] * len(shape)
            view[item.dim] = -1
            part = item.keep.view(view).expand(shape)
        elif callable(pattern):
            part = pattern()
        else:
            continue
        combined = part.clone() if combined is None else combined & part
    return combined


def bake_(module: nn.Module, name: str) -> None:
    """Make every parametrization of ``module.<name>`` permanent: the parameter becomes the
    computed tensor (masked zeros included) and the parametrizations are removed."""
    remove_(module, name, leave_parametrized=True)


def bake_all_(model: nn.Module) -> nn.Module:
    """:func:`bake_` every parametrized tensor of ``model`` (a plain model with zeros remains)."""
    for _, module, name in parametrized_tensors(model):
        bake_(module, name)
    return model


def masked_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """``{"layer.weight": combined mask}`` for every masked tensor of ``model``."""
    found = {}
    for module_name, module, name in parametrized_tensors(model):
        mask = effective_mask(module, name)
        if mask is not None:
            found[f"{module_name}.{name}" if module_name else name] = mask
    return found


def sparsity(model: nn.Module) -> float:
    """Fraction of masked-out entries over all masked tensors (0 when nothing is masked)."""
    masks = masked_tensors(model)
    total = sum(m.numel() for m in masks.values())
    return 0.0 if total == 0 else 1.0 - sum(int(m.sum()) for m in masks.values()) / total


_PARAMETRIZATION_KEY = re.compile(r"^(?:(?P<module>.*)\.)?parametrizations\.(?P<tensor>[^.]+)\.(?P<index>\d+)\.(?P<buffer>[^.]+)$")


def restore_masks_(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
    """Give a fresh (dense) ``model`` the masks recorded in ``state_dict`` so that
    ``model.load_state_dict(state_dict)`` then works.

    Reads the ``...parametrizations.<tensor>.<i>.mask`` and ``.keep``/``.dim_index`` entries a
    pruned model's state dict holds; other parametrizations (quantizers, sharing) are rebuilt by
    applying the same ``quantize_`` call to the model first.
    """
    found: dict[tuple[str, str, int], dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        match = _PARAMETRIZATION_KEY.match(key)
        if match:
            slot = (match["module"] or "", match["tensor"], int(match["index"]))
            found.setdefault(slot, {})[match["buffer"]] = value
    for (module_name, tensor, _), buffers in sorted(found.items(), key=lambda item: item[0]):
        try:
            module = model.get_submodule(module_name)
        except AttributeError:
            raise UserError(f"the state dict masks {module_name!r}, which this model does not have") from None
        if "mask" in buffers:
            set_mask_(module, tensor, buffers["mask"])
        elif "keep" in buffers and "dim_index" in buffers:
            add_channel_mask_(module, tensor, int(buffers["dim_index"]), buffers["keep"])
    return model


# ----- building masks from scores -----------------------------------------------------------------
def keep_largest(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """True for all but the ``round(sparsity * n)`` smallest scores (the rule of
    ``torch.nn.utils.prune.l1_unstructured``, so the masks agree on tie-free scores).

    The cut is the ``pruned``-th smallest score, found by selection (``torch.kthvalue``) rather
    than the partial sort of ``torch.topk``, which dominated gradual pruning of large matrices on
    CPU. Scores equal to the cut are pruned lowest flat index first until exactly ``pruned`` are
    gone.
    """
    flat = scores.reshape(-1)
    pruned = round(sparsity * flat.numel())
    if pruned <= 0:
        return torch.ones_like(scores, dtype=torch.bool)
    if pruned >= flat.numel():
        return torch.zeros_like(scores, dtype=torch.bool)
    selectable = flat if flat.dtype in (torch.float32, torch.float64) else flat.float()
    cut = torch.kthvalue(selectable, pruned).values
    keep = selectable > cut
    surplus = flat.numel() - pruned - int(keep.sum())  # entries equal to the cut that must stay
    if surplus > 0:
        tied = torch.nonzero(selectable == cut).squeeze(1)
        keep[tied[-surplus:]] = True
    return keep.view_as(scores)


def keep_largest_per_row(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """:func:`keep_largest` within each row of a ``(rows, columns)`` score matrix (Wanda's
    per-output comparison group)."""
    columns = scores.shape[1]
    pruned = round(sparsity * columns)
    keep = torch.ones_like(scores, dtype=torch.bool)
    if pruned > 0:
        keep.scatter_(1, torch.topk(scores, pruned, dim=1, largest=False).indices, False)
    return keep


def keep_n_of_m(scores: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """N:M semi-structured pattern on a ``(rows, columns)`` score matrix: in every run of ``m``
    consecutive columns of a row, keep the ``n`` largest scores (2:4 is what sparse tensor cores
    run). ``columns`` must be a multiple of ``m``."""
    rows, columns = scores.shape
    if columns % m:
        raise ValueError(f"{columns} columns are not a multiple of m={m}")
    blocks = scores.reshape(rows, columns // m, m)  # (rows, groups, m)
    keep = torch.zeros_like(blocks, dtype=torch.bool)
    keep.scatter_(2, torch.topk(blocks, n, dim=2).indices, True)
    return keep.reshape(rows, columns)


def as_matrix(weight: torch.Tensor) -> torch.Tensor:
    """A weight as ``(outputs, inputs)``: convolution kernels flattened over ``(C_in, *kernel)``."""
    return weight.reshape(weight.shape[0], -1)
