"""Attention layers whose heads can be pruned and removed.

Two kinds are understood: ``nn.MultiheadAttention`` and any *q/k/v/o attention module*, i.e. a
module with ``nn.Linear`` children ``q_proj``, ``k_proj``, ``v_proj`` and ``o_proj`` (or
``out_proj``) and an integer head count (``num_heads``, ``n_heads``, ``num_attention_heads`` or
``n_head``) whose forward reshapes by that count and ``q_proj.out_features // heads``.
``compact`` keeps such a module and lowers its head count; ``nn.MultiheadAttention`` cannot
have an inner width other than its embedding width, so ``compact`` replaces it with
:class:`CompactMultiheadAttention`, a q/k/v/o module with the same call signature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.shared.errors import UserError

HEAD_COUNT_ATTRIBUTES = ("num_heads", "n_heads", "num_attention_heads", "n_head")
OUTPUT_PROJECTIONS = ("o_proj", "out_proj")


@dataclass(frozen=True)
class HeadLayout:
    """Where a q/k/v/o attention module keeps its projections and head count."""

    output: str
    heads_attribute: str
    num_heads: int
    head_dim: int


def qkvo_layout(module: nn.Module) -> HeadLayout | None:
    """The layout of a q/k/v/o attention module, or ``None`` when ``module`` is not one
    (grouped-query layouts, where k and v have fewer heads than q, are not one either)."""
    if isinstance(module, nn.MultiheadAttention):
        return None
    children = dict(module.named_children())
    output = next((name for name in OUTPUT_PROJECTIONS if isinstance(children.get(name), nn.Linear)), None)
    projections = [children.get(name) for name in ("q_proj", "k_proj", "v_proj")]
    if output is None or not all(isinstance(p, nn.Linear) for p in projections):
        return None
    attribute = next((a for a in HEAD_COUNT_ATTRIBUTES if isinstance(getattr(module, a, None), int)), None)
    if attribute is None:
        return None
    heads = getattr(module, attribute)
    q, k, v = projections
    assert isinstance(q, nn.Linear) and isinstance(k, nn.Linear) and isinstance(v, nn.Linear)
    inner = q.out_features
    o = children[output]
    assert isinstance(o, nn.Linear)
    if heads < 1 or inner % heads or k.out_features != inner or v.out_features != inner or o.in_features != inner:
        return None
    return HeadLayout(output, attribute, heads, inner // heads)


def is_attention(module: nn.Module) -> bool:
    """Whether ``module`` is an attention layer whose heads can be pruned."""
    return isinstance(module, nn.MultiheadAttention) or qkvo_layout(module) is not None


class CompactMultiheadAttention(nn.Module):
    """Multi-head attention whose inner width ``num_heads * head_dim`` may differ from
    ``embed_dim``: what ``nn.MultiheadAttention`` becomes after heads are removed.

    Same call as ``nn.MultiheadAttention.forward`` (``attn_mask``/``key_padding_mask`` as bool,
    True = not attended, or additive float; ``(L, S)`` masks only) and the same outputs.
    """

    # Read by nn.TransformerEncoderLayer to decide on its fused fast path (which needs the
    # packed layout): these values make it take the ordinary path, which calls our forward.
    _qkv_same_embed_dim = False
    in_proj_bias = None

    def __init__(self, embed_dim: int, num_heads: int, head_dim: int, *, bias: bool = True,
                 kdim: int | None = None, vdim: int | None = None, dropout: float = 0.0,
                 batch_first: bool = False) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.dropout = dropout
        self.batch_first = batch_first
        inner = num_heads * head_dim
        self.q_proj = nn.Linear(embed_dim, inner, bias=bias)
        self.k_proj = nn.Linear(kdim or embed_dim, inner, bias=bias)
        self.v_proj = nn.Linear(vdim or embed_dim, inner, bias=bias)
        self.out_proj = nn.Linear(inner, embed_dim, bias=bias)

    @classmethod
    @torch.no_grad()
    def from_multihead_attention(cls, source: nn.MultiheadAttention,
                                 keep_heads: torch.Tensor | None = None) -> CompactMultiheadAttention:
        """The heads of ``source`` where ``keep_heads`` (bool, one per head) is True."""
        if source.bias_k is not None or source.add_zero_attn:
            raise UserError("heads of nn.MultiheadAttention with add_bias_kv or add_zero_attn cannot be removed")
        heads, head_dim, embed = source.num_heads, source.head_dim, source.embed_dim
        keep = torch.ones(heads, dtype=torch.bool) if keep_heads is None else keep_heads.to("cpu", torch.bool)
        rows = torch.arange(heads * head_dim).view(heads, head_dim)[keep].reshape(-1)  # kept rows of one projection
        has_bias = source.in_proj_bias is not None
        new = cls(embed, int(keep.sum()), head_dim, bias=has_bias, kdim=source.kdim, vdim=source.vdim,
                  dropout=source.dropout, batch_first=source.batch_first)
        if source._qkv_same_embed_dim:
            weights = source.in_proj_weight.chunk(3)
        else:
            weights = (source.q_proj_weight, source.k_proj_weight, source.v_proj_weight)
        biases = source.in_proj_bias.chunk(3) if has_bias else (None, None, None)
        for projection, weight, bias in zip((new.q_proj, new.k_proj, new.v_proj), weights, biases, strict=True):
            projection.weight.copy_(weight[rows.to(weight.device)])
            if bias is not None:
                projection.bias.copy_(bias[rows.to(bias.device)])
        new.out_proj.weight.copy_(source.out_proj.weight[:, rows.to(source.out_proj.weight.device)])
        if has_bias:
            new.out_proj.bias.copy_(source.out_proj.bias)
        return new.to(source.out_proj.weight.device, source.out_proj.weight.dtype)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None, need_weights: bool = True,
                attn_mask: torch.Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            key_padding_mask = key_padding_mask.unsqueeze(0) if key_padding_mask is not None else None
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        batch, target, _ = query.shape
        source = key.shape[1]
        q = self.q_proj(query).view(batch, target, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, L, hd)
        k = self.k_proj(key).view(batch, source, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, S, hd)
        v = self.v_proj(value).view(batch, source, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, S, hd)
        mask = self._additive_mask(attn_mask, key_padding_mask, batch, target, source, q.dtype, q.device,
                                   is_causal)
        dropout = self.dropout if self.training else 0.0
        if need_weights:
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, H, L, S)
            if mask is not None:
                scores = scores + mask
            weights = scores.softmax(-1)
            out = F.dropout(weights, dropout, self.training) @ v  # (B, H, L, hd)
        else:
            weights = None
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        out = self.out_proj(out.transpose(1, 2).reshape(batch, target, self.num_heads * self.head_dim))
        if unbatched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if weights is not None:
            weights = weights.mean(1) if average_attn_weights else weights
            weights = weights.squeeze(0) if unbatched else weights
        return out, weights

    def _additive_mask(self, attn_mask: torch.Tensor | None, key_padding_mask: torch.Tensor | None,
                       batch: int, target: int, source: int, dtype: torch.dtype, device: torch.device,
                       is_causal: bool) -> torch.Tensor | None:
        """One float mask ``(B or 1, 1, L, S)`` to add to the scores (−inf where not attended)."""
        if attn_mask is None and is_causal:
            attn_mask = torch.ones(target, source, dtype=torch.bool, device=device).triu(1)
        mask = None
        if attn_mask is not None:
            if attn_mask.dim() != 2:
                raise UserError("CompactMultiheadAttention takes (L, S) attention masks only; per-head "
                                "(B·heads, L, S) masks do not survive head removal")
            mask = _to_additive(attn_mask, dtype).view(1, 1, target, source)
        if key_padding_mask is not None:
            padding = _to_additive(key_padding_mask, dtype).view(batch, 1, 1, source)
            mask = padding if mask is None else mask + padding
        return mask


def _to_additive(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))
    return mask.to(dtype)
