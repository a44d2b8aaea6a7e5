"""``compact(model)``: a new model with the masked filters, neurons and heads physically removed.

Masking (``prune_``) changes no shape, so nothing gets smaller or faster; ``compact`` reads the
:class:`~.masks.ChannelMask` parametrizations and builds layers of the reduced size: a
convolution with fewer filters, the BatchNorm after it with fewer channels (running statistics
included), the next layer with fewer input channels, linear layers with fewer neurons, attention
with fewer heads. Because structured pruning masks whole groups, the compacted model computes the
same outputs as the masked one. Element-wise masks and other parametrizations stay in place
(sliced to the new shape).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from methodzoo.shared.compress.attention import CompactMultiheadAttention, qkvo_layout
from methodzoo.shared.compress.groups import NORMS
from methodzoo.shared.compress.masks import ChannelMask
from methodzoo.shared.compress.parametrized import (
    original_of,
    parametrizations_of,
    parametrized_tensors,
    register_,
    remove_,
)
from methodzoo.shared.compress.targets import CONV_TYPES, replace_module
from methodzoo.shared.errors import UserError


def compact(model: nn.Module) -> nn.Module:
    """A copy of ``model`` without its masked channels (``model`` itself is left unchanged)."""
    new = copy.deepcopy(model)
    _compact_multihead_attention(new)
    head_counts = {name: (layout.heads_attribute, layout.head_dim)
                   for name, m in new.named_modules() if (layout := qkvo_layout(m)) is not None}
    for _, module, name in parametrized_tensors(new):
        _slice_tensor(module, name)
    for module in new.modules():
        _update_sizes(module)
    for name, (attribute, head_dim) in head_counts.items():
        attention = new.get_submodule(name)
        q_proj = attention.get_submodule("q_proj")
        assert isinstance(q_proj, nn.Linear)
        setattr(attention, attribute, q_proj.out_features // head_dim)
    return new


def _kept_heads(module: nn.MultiheadAttention) -> torch.Tensor | None:
    name = "in_proj_weight" if module._qkv_same_embed_dim else "q_proj_weight"
    for item in parametrizations_of(module, name):
        if isinstance(item, ChannelMask) and item.dim == 0:
            return item.keep[: module.embed_dim].view(module.num_heads, module.head_dim).any(1)
    return None


def _compact_multihead_attention(model: nn.Module) -> None:
    for name, module in list(model.named_modules()):
        if not isinstance(module, nn.MultiheadAttention):
            continue
        keep = _kept_heads(module)
        if keep is None:
            continue
        others = [p for tensor in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")
                  for p in parametrizations_of(module, tensor) if not isinstance(p, ChannelMask)]
        others += [p for p in parametrizations_of(module.out_proj, "weight") if not isinstance(p, ChannelMask)]
        if others:
            raise UserError(f"compact: {name or 'the model'} has attention weights with parametrizations other "
                            "than head masks; compact before quantizing or unstructured pruning")
        replacement = CompactMultiheadAttention.from_multihead_attention(module, keep)
        replacement.train(module.training)
        if name:
            replace_module(model, name, replacement)
        else:
            raise UserError("compact cannot replace the root module; wrap the attention in a container")


@torch.no_grad()
def _slice_tensor(module: nn.Module, name: str) -> None:
    chain = parametrizations_of(module, name)
    channel_masks = [p for p in chain if isinstance(p, ChannelMask)]
    if not channel_masks:
        return
    others = [p for p in chain if not isinstance(p, ChannelMask)]
    for other in others:
        if not hasattr(other, "sliced"):
            raise UserError(f"compact: {type(module).__name__}.{name} also has a {type(other).__name__}, which "
                            "cannot be resized; compact before quantizing")
    original = original_of(module, name)
    is_parameter = isinstance(original, nn.Parameter)
    requires_grad = original.requires_grad
    remove_(module, name, leave_parametrized=False)
    value = original.detach()
    cuts = [(p.dim, p.keep.nonzero().squeeze(1).to(value.device)) for p in channel_masks]
    for dim, index in cuts:
        value = value.index_select(dim, index)
    delattr(module, name)
    if is_parameter:
        module.register_parameter(name, nn.Parameter(value.clone(), requires_grad=requires_grad))
    else:
        module.register_buffer(name, value.clone())
    for other in others:
        for dim, index in cuts:
            other = other.sliced(dim, index)  # type: ignore[operator]
        register_(module, name, other)
    if isinstance(module, NORMS) and name == "weight":
        # The running statistics follow the affine weight's channels.
        for buffer in ("running_mean", "running_var"):
            stats = getattr(module, buffer)
            if stats is not None:
                for dim, index in cuts:
                    stats = stats.index_select(dim, index.to(stats.device))
                setattr(module, buffer, stats)


def _update_sizes(module: nn.Module) -> None:
    """Set a resized layer's size attributes from its tensors."""
    if isinstance(module, nn.Linear):
        module.out_features, module.in_features = module.weight.shape
    elif isinstance(module, CONV_TYPES):
        module.out_channels = module.weight.shape[0]
        module.in_channels = module.weight.shape[1] * module.groups
    elif isinstance(module, NORMS) and module.weight is not None:
        module.num_features = module.weight.shape[0]
