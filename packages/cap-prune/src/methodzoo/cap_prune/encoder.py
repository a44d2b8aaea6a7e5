"""A BERT-family encoder of our own whose heads, FFN neurons and single weights can be masked.

transformers 5 removed ``head_mask`` and ``prune_heads`` from its BERT, and CAP needs all three
granularities (element masks for unstructured pruning, head and FFN-neuron masks for structured
pruning, and the gradient with respect to those masks for importance). This module rebuilds the
BERT encoder from plain ``nn.Linear`` layers, so the core compression toolkit can put its masks
on them, and loads Hugging Face weights unchanged (:meth:`MaskableBertModel.from_hf`): the last
hidden state and the pooler output equal Hugging Face's within float32 rounding.

Layout (one :class:`BertLayer` per transformer block)::

    embeddings        word + position + token type → LayerNorm → dropout
    layers[l].attention   q_proj, k_proj, v_proj, o_proj (+ residual, LayerNorm); num_heads
    layers[l].ffn         ffn_in → GELU → ffn_out (+ residual, LayerNorm)
    pooler            tanh(dense(h_CLS))

Masks: ``head_mask`` (layers × heads) and ``ffn_mask`` (layers × intermediate) are float
buffers of ones; zeros silence a head or a neuron. :meth:`MaskableBertModel.compact` removes the
silenced ones for real, lowering ``num_heads`` and the intermediate size of each layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from methodzoo.shared.config import Config, check
from methodzoo.shared.errors import UserError

PRUNABLE_LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "ffn_in", "ffn_out")


@dataclass(frozen=True)
class EncoderConfig(Config):
    """The architecture of a (possibly compacted) BERT encoder: per-layer head counts and FFN sizes."""

    vocab_size: int = 30522
    hidden_size: int = 384
    head_dim: int = 32
    heads: tuple[int, ...] = (12,) * 6
    intermediate: tuple[int, ...] = (1536,) * 6
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    pad_token_id: int = 0
    hidden_act: str = "gelu"

    def validate(self) -> None:
        check(len(self.heads) == len(self.intermediate) >= 1,
              "heads and intermediate need one entry per layer, got {} and {}", self.heads, self.intermediate)
        check(all(h >= 0 for h in self.heads), "head counts must be >= 0, got {}", self.heads)
        check(all(i >= 0 for i in self.intermediate), "intermediate sizes must be >= 0, got {}", self.intermediate)
        check(self.hidden_size >= 1 and self.head_dim >= 1, "hidden_size and head_dim must be positive")
        check(self.hidden_act in _ACTIVATIONS, "hidden_act must be one of {}, got {!r}", sorted(_ACTIVATIONS),
              self.hidden_act)
        check(0 <= self.hidden_dropout < 1 and 0 <= self.attention_dropout < 1, "dropout must be in [0, 1)")

    @property
    def num_layers(self) -> int:
        return len(self.heads)

    @classmethod
    def from_hf(cls, hf_config: Any) -> EncoderConfig:
        """From a ``transformers.BertConfig`` (absolute positions only)."""
        kind = getattr(hf_config, "model_type", "bert")
        if kind != "bert":
            raise UserError(f"MaskableBertModel reads BERT checkpoints (model_type 'bert'), got {kind!r}")
        position = getattr(hf_config, "position_embedding_type", "absolute")
        if position != "absolute":
            raise UserError(f"only absolute position embeddings are supported, got {position!r}")
        heads = hf_config.num_attention_heads
        if hf_config.hidden_size % heads:
            raise UserError(f"hidden size {hf_config.hidden_size} is not a multiple of {heads} heads")
        layers = hf_config.num_hidden_layers
        act = hf_config.hidden_act if isinstance(hf_config.hidden_act, str) else "gelu"
        return cls(vocab_size=hf_config.vocab_size, hidden_size=hf_config.hidden_size,
                   head_dim=hf_config.hidden_size // heads, heads=(heads,) * layers,
                   intermediate=(hf_config.intermediate_size,) * layers,
                   max_position_embeddings=hf_config.max_position_embeddings,
                   type_vocab_size=hf_config.type_vocab_size, layer_norm_eps=hf_config.layer_norm_eps,
                   hidden_dropout=hf_config.hidden_dropout_prob,
                   attention_dropout=hf_config.attention_probs_dropout_prob,
                   pad_token_id=hf_config.pad_token_id if hf_config.pad_token_id is not None else 0,
                   hidden_act=act)


_ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}


class BertEmbeddings(nn.Module):
    """Word + absolute position + token-type embeddings, LayerNorm, dropout."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        length = input_ids.shape[1]
        if length > self.position_embeddings.num_embeddings:
            raise UserError(f"sequence of {length} tokens is longer than the model's "
                            f"{self.position_embeddings.num_embeddings} positions")
        positions = torch.arange(length, device=input_ids.device)
        x = (self.word_embeddings(input_ids) + self.position_embeddings(positions)[None]
             + self.token_type_embeddings(token_type_ids))  # (B, T, d)
        return self.dropout(self.layer_norm(x))


class BertSelfAttention(nn.Module):
    """Multi-head self-attention with separate q/k/v/o projections and a per-head gate.

    The head count lives in ``num_heads`` and the head width in ``head_dim``, so a layer whose
    heads were removed (``q_proj.out_features == num_heads * head_dim``) runs unchanged.
    """

    def __init__(self, config: EncoderConfig, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = config.head_dim
        inner = num_heads * config.head_dim
        self.q_proj = nn.Linear(config.hidden_size, inner)
        self.k_proj = nn.Linear(config.hidden_size, inner)
        self.v_proj = nn.Linear(config.hidden_size, inner)
        self.o_proj = nn.Linear(inner, config.hidden_size)
        self.attention_dropout = nn.Dropout(config.attention_dropout)
        self.output_dropout = nn.Dropout(config.hidden_dropout)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, additive_mask: torch.Tensor,
                head_gate: torch.Tensor) -> torch.Tensor:
        batch, length, _ = hidden.shape
        if self.num_heads == 0:  # every head removed: the block is its residual path
            return self.layer_norm(hidden + self.output_dropout(self.o_proj.bias.expand_as(hidden)))

        def heads(x: torch.Tensor) -> torch.Tensor:
            return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, T, hd)

        q, k, v = heads(self.q_proj(hidden)), heads(self.k_proj(hidden)), heads(self.v_proj(hidden))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + additive_mask  # (B, H, T, T)
        probabilities = self.attention_dropout(scores.softmax(-1))
        context = (probabilities @ v) * head_gate.view(1, -1, 1, 1)  # (B, H, T, hd)
        context = context.transpose(1, 2).reshape(batch, length, self.num_heads * self.head_dim)
        return self.layer_norm(hidden + self.output_dropout(self.o_proj(context)))


class BertFeedForward(nn.Module):
    """``LayerNorm(x + dropout(ffn_out(act(ffn_in(x)) ⊙ gate)))``."""

    def __init__(self, config: EncoderConfig, intermediate: int) -> None:
        super().__init__()
        self.ffn_in = nn.Linear(config.hidden_size, intermediate)
        self.ffn_out = nn.Linear(intermediate, config.hidden_size)
        self.activation = config.hidden_act
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, neuron_gate: torch.Tensor) -> torch.Tensor:
        inner = _ACTIVATIONS[self.activation](self.ffn_in(hidden)) * neuron_gate  # (B, T, I)
        return self.layer_norm(hidden + self.dropout(self.ffn_out(inner)))


class BertLayer(nn.Module):
    def __init__(self, config: EncoderConfig, num_heads: int, intermediate: int) -> None:
        super().__init__()
        self.attention = BertSelfAttention(config, num_heads)
        self.ffn = BertFeedForward(config, intermediate)

    def forward(self, hidden: torch.Tensor, additive_mask: torch.Tensor, head_gate: torch.Tensor,
                neuron_gate: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.attention(hidden, additive_mask, head_gate), neuron_gate)


@dataclass
class EncoderOutput:
    """``last_hidden_state`` (B, T, d) and ``pooler_output`` (B, d), as Hugging Face names them."""

    last_hidden_state: torch.Tensor
    pooler_output: torch.Tensor
    extra: dict[str, torch.Tensor] = field(default_factory=dict)


class MaskableBertModel(nn.Module):
    """BERT encoder with element, head and FFN-neuron masks and a real ``compact()``.

    ``forward(input_ids, attention_mask)`` returns an :class:`EncoderOutput`. Optional
    ``head_mask`` (layers × heads) and ``ffn_mask`` (layers × intermediate) multiply the stored
    masks for one call: pass ones with ``requires_grad=True`` to read the mask gradients that
    rank heads and neurons (Michel et al. 2019; CAP's structured pruning).
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.layers = nn.ModuleList(BertLayer(config, h, i) for h, i in zip(config.heads, config.intermediate,
                                                                             strict=True))
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size)
        self._register_gates(config)

    def _register_gates(self, config: EncoderConfig) -> None:
        # Layers may differ in size after compact(): one buffer per layer, not a matrix.
        for index, (heads, intermediate) in enumerate(zip(config.heads, config.intermediate, strict=True)):
            self.register_buffer(f"head_gate_{index}", torch.ones(heads))
            self.register_buffer(f"ffn_gate_{index}", torch.ones(intermediate))

    # ----- masks ------------------------------------------------------------------------------
    def head_gate(self, layer: int) -> torch.Tensor:
        gate = getattr(self, f"head_gate_{layer}")
        assert isinstance(gate, torch.Tensor)
        return gate

    def ffn_gate(self, layer: int) -> torch.Tensor:
        gate = getattr(self, f"ffn_gate_{layer}")
        assert isinstance(gate, torch.Tensor)
        return gate

    @property
    def head_mask(self) -> torch.Tensor:
        """(layers, heads) 0/1 mask; only defined while every layer has the same head count."""
        return torch.stack([self.head_gate(i) for i in range(len(self.layers))])

    @property
    def ffn_mask(self) -> torch.Tensor:
        """(layers, intermediate) 0/1 mask; only defined while every layer has the same size."""
        return torch.stack([self.ffn_gate(i) for i in range(len(self.layers))])

    @torch.no_grad()
    def set_head_mask(self, mask: torch.Tensor) -> None:
        """Silence the heads where ``mask`` (layers × heads) is 0."""
        for layer, row in enumerate(self._rows(mask, "head")):
            self.head_gate(layer).copy_(row)

    @torch.no_grad()
    def set_ffn_mask(self, mask: torch.Tensor) -> None:
        """Silence the FFN neurons where ``mask`` (layers × intermediate) is 0."""
        for layer, row in enumerate(self._rows(mask, "ffn")):
            self.ffn_gate(layer).copy_(row)

    def _rows(self, mask: torch.Tensor | list[torch.Tensor], kind: str) -> list[torch.Tensor]:
        rows = list(mask)
        sizes = [(self.head_gate(i) if kind == "head" else self.ffn_gate(i)).numel() for i in range(len(self.layers))]
        if len(rows) != len(sizes) or any(r.numel() != s for r, s in zip(rows, sizes, strict=True)):
            raise UserError(f"{kind} mask must have one row per layer of sizes {sizes}, got "
                            f"{[tuple(r.shape) for r in rows]}")
        return [r.to(self.head_gate(0).dtype) for r in rows]

    # ----- forward ----------------------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, head_mask: Any = None,
                ffn_mask: Any = None) -> EncoderOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        hidden = self.embeddings(input_ids, token_type_ids)
        dtype = hidden.dtype
        # Hugging Face adds the most negative float at padded keys; so do we, for equal outputs.
        additive = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min  # (B, 1, 1, T)
        for index, layer in enumerate(self.layers):
            head_gate = self.head_gate(index)
            neuron_gate = self.ffn_gate(index)
            if head_mask is not None:
                head_gate = head_gate * head_mask[index]
            if ffn_mask is not None:
                neuron_gate = neuron_gate * ffn_mask[index]
            hidden = layer(hidden, additive, head_gate, neuron_gate)
        pooled = torch.tanh(self.pooler(hidden[:, 0]))
        return EncoderOutput(hidden, pooled)

    # ----- loading ----------------------------------------------------------------------------
    @classmethod
    @torch.no_grad()
    def from_hf(cls, hf_model: nn.Module) -> MaskableBertModel:
        """The same encoder as a Hugging Face ``BertModel`` (or the ``bert`` inside a
        ``BertForSequenceClassification``), weights copied, in the source's train/eval mode."""
        bert = getattr(hf_model, "bert", hf_model)
        config = EncoderConfig.from_hf(bert.config)
        model = cls(config)
        state = bert.state_dict()
        ours = hf_state_to_ours(state, config.num_layers, has_pooler="pooler.dense.weight" in state)
        ours.update({k: v for k, v in model.state_dict().items() if "_gate_" in k})  # all ones
        model.load_state_dict(ours)
        reference = next(bert.parameters())
        return model.to(reference.device, reference.dtype).train(bert.training)

    # ----- compaction -------------------------------------------------------------------------
    @torch.no_grad()
    def compact(self) -> MaskableBertModel:
        """A copy with the masked heads and FFN neurons removed: ``num_heads``, the projection
        sizes and the intermediate size of each layer shrink, and the outputs equal the masked
        model's. The weights must carry no element-wise masks (bake them first)."""
        for name, module in self.named_modules():
            if parametrize.is_parametrized(module):
                raise UserError(f"compact: {name} carries parametrizations (element masks or movement "
                                "scores); bake or remove them before removing heads and neurons")
        keep_heads = [self.head_gate(i) != 0 for i in range(len(self.layers))]
        keep_neurons = [self.ffn_gate(i) != 0 for i in range(len(self.layers))]
        config = self.config.replace(heads=tuple(int(k.sum()) for k in keep_heads),
                                     intermediate=tuple(int(k.sum()) for k in keep_neurons))
        new = type(self)(config)
        new.load_state_dict(_sliced_state(self, keep_heads, keep_neurons), strict=True)
        reference = next(self.parameters())
        return new.to(reference.device, reference.dtype).train(self.training)


def _sliced_state(model: MaskableBertModel, keep_heads: list[torch.Tensor],
                  keep_neurons: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state dict of the compacted model: kept rows/columns, gates folded into the weights.

    A gate between 0 and 1 scales a head's context or a neuron's activation; folding it into
    ``o_proj``/``ffn_out`` columns keeps the outputs equal with the new gates all ones.
    """
    state = {k: v.clone() for k, v in model.state_dict().items()}
    head_dim = model.config.head_dim
    for index in range(len(model.layers)):
        prefix = f"layers.{index}"
        gate = model.head_gate(index)
        rows = torch.arange(gate.numel() * head_dim, device=gate.device).view(-1, head_dim)[keep_heads[index]].reshape(-1)
        scale = gate[keep_heads[index]].repeat_interleave(head_dim)
        for name in ("q_proj", "k_proj", "v_proj"):
            state[f"{prefix}.attention.{name}.weight"] = state[f"{prefix}.attention.{name}.weight"][rows]
            state[f"{prefix}.attention.{name}.bias"] = state[f"{prefix}.attention.{name}.bias"][rows]
        state[f"{prefix}.attention.o_proj.weight"] = state[f"{prefix}.attention.o_proj.weight"][:, rows] * scale
        neuron_gate = model.ffn_gate(index)
        kept = keep_neurons[index]
        state[f"{prefix}.ffn.ffn_in.weight"] = state[f"{prefix}.ffn.ffn_in.weight"][kept]
        state[f"{prefix}.ffn.ffn_in.bias"] = state[f"{prefix}.ffn.ffn_in.bias"][kept]
        state[f"{prefix}.ffn.ffn_out.weight"] = state[f"{prefix}.ffn.ffn_out.weight"][:, kept] * neuron_gate[kept]
        state[f"head_gate_{index}"] = torch.ones(int(keep_heads[index].sum()), dtype=gate.dtype, device=gate.device)
        state[f"ffn_gate_{index}"] = torch.ones(int(kept.sum()), dtype=gate.dtype, device=gate.device)
    return state


def hf_state_to_ours(state: dict[str, torch.Tensor], num_layers: int, *, has_pooler: bool = True,
                     prefix: str = "") -> dict[str, torch.Tensor]:
    """Rename a Hugging Face ``BertModel`` state dict to :class:`MaskableBertModel`'s names."""
    ours: dict[str, torch.Tensor] = {}

    def take(source: str, target: str) -> None:
        key = prefix + source
        if key not in state:
            raise UserError(f"the checkpoint has no {key!r}; is it a BERT encoder?")
        ours[target] = state[key]

    for part in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        take(f"embeddings.{part}.weight", f"embeddings.{part}.weight")
    for tensor in ("weight", "bias"):
        take(f"embeddings.LayerNorm.{tensor}", f"embeddings.layer_norm.{tensor}")
        for index in range(num_layers):
            source, target = f"encoder.layer.{index}.", f"layers.{index}."
            for hf_name, name in (("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj")):
                take(f"{source}attention.self.{hf_name}.{tensor}", f"{target}attention.{name}.{tensor}")
            take(f"{source}attention.output.dense.{tensor}", f"{target}attention.o_proj.{tensor}")
            take(f"{source}attention.output.LayerNorm.{tensor}", f"{target}attention.layer_norm.{tensor}")
            take(f"{source}intermediate.dense.{tensor}", f"{target}ffn.ffn_in.{tensor}")
            take(f"{source}output.dense.{tensor}", f"{target}ffn.ffn_out.{tensor}")
            take(f"{source}output.LayerNorm.{tensor}", f"{target}ffn.layer_norm.{tensor}")
        if has_pooler:
            take(f"pooler.dense.{tensor}", f"pooler.{tensor}")
    if not has_pooler:  # CAP's 'cls' representation is the pooler's output: a random one would lie
        raise UserError("the checkpoint has no pooler weights (pooler.dense); CAP's 'cls' representation needs them")
    return ours
