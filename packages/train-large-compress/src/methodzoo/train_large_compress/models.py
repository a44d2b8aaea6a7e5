"""Transformers of configurable width and depth, readable top to bottom (RoBERTa-style blocks).

* :class:`MaskedLanguageModel`: encoder + RoBERTa's LM head (dense, GELU, LayerNorm, tied output).
* :class:`Seq2SeqTransformer`: encoder–decoder with all embeddings shared (fairseq's
  ``share_all_embeddings``), for the translation-like task.
* :class:`SequenceClassifier`: encoder + RoBERTa's classification head on the [CLS] position.

Every weight matrix is an ``nn.Linear`` (the tied token matrix too, see :class:`TokenEmbedding`),
so the core's compression toolkit prunes and quantizes all of them, and its FLOP counter sees every
product: attention runs through ``scaled_dot_product_attention``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.train_large_compress.config import ModelConfig
from methodzoo.train_large_compress.tokens import PAD_ID

IGNORE_INDEX = -100


class TokenEmbedding(nn.Linear):
    """The tied token matrix ``E`` (V × d): rows are looked up for the inputs (:meth:`embed`) and
    ``h ↦ h Eᵀ + b`` gives the output logits (``forward``).

    It is an ``nn.Linear`` (d → V) so that compression treats the matrix as the linear layer it is
    in the output head: one mask, one quantizer, and the embedding lookup sees the compressed rows.
    """

    def __init__(self, vocab_size: int, width: int) -> None:
        super().__init__(width, vocab_size, bias=True)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.weight)


class Attention(nn.Module):
    """Multi-head attention with separate query, key, value and output projections."""

    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.output = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                key_padding: torch.Tensor | None = None, causal: bool = False) -> torch.Tensor:
        """``x`` (B, T, d) attends to ``context`` (B, S, d; default ``x``); ``key_padding`` (B, S)
        is True at padded keys."""
        source = x if context is None else context
        batch, target_length, width = x.shape
        source_length = source.shape[1]
        head_width = width // self.heads
        q = self.query(x).view(batch, target_length, self.heads, head_width).transpose(1, 2)  # (B, h, T, hd)
        k = self.key(source).view(batch, source_length, self.heads, head_width).transpose(1, 2)  # (B, h, S, hd)
        v = self.value(source).view(batch, source_length, self.heads, head_width).transpose(1, 2)  # (B, h, S, hd)
        mask = attention_mask(key_padding, target_length, source_length, causal, x.device)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
                                           is_causal=causal and mask is None)  # (B, h, T, hd)
        y = y.transpose(1, 2).reshape(batch, target_length, width)  # (B, T, d)
        return self.output(y)


def attention_mask(key_padding: torch.Tensor | None, target_length: int, source_length: int, causal: bool,
                   device: torch.device) -> torch.Tensor | None:
    """A boolean mask, True where attention is allowed, or None when everything is (fast path)."""
    if key_padding is None:
        return None
    allowed = ~key_padding[:, None, None, :]  # (B, 1, 1, S)
    if causal:
        lower = torch.ones(target_length, source_length, dtype=torch.bool, device=device).tril()
        allowed = allowed & lower  # (B, 1, T, S)
    return allowed


class FeedForward(nn.Module):
    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.inner = nn.Linear(width, hidden)
        self.outer = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.outer(F.gelu(self.inner(x)))


class EncoderLayer(nn.Module):
    """Self-attention and feed-forward blocks with residuals; post-LN (RoBERTa) or pre-LN."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.norm_first = config.norm_first
        self.attention = Attention(config.width, config.num_heads, config.dropout)
        self.attention_norm = nn.LayerNorm(config.width)
        self.feed_forward = FeedForward(config.width, config.ffn_width)
        self.feed_forward_norm = nn.LayerNorm(config.width)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, key_padding: torch.Tensor | None = None) -> torch.Tensor:
        if self.norm_first:
            x = x + self.dropout(self.attention(self.attention_norm(x), key_padding=key_padding))
            return x + self.dropout(self.feed_forward(self.feed_forward_norm(x)))
        x = self.attention_norm(x + self.dropout(self.attention(x, key_padding=key_padding)))
        return self.feed_forward_norm(x + self.dropout(self.feed_forward(x)))


class DecoderLayer(nn.Module):
    """Causal self-attention, cross-attention to the encoder, feed-forward."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.norm_first = config.norm_first
        self.self_attention = Attention(config.width, config.num_heads, config.dropout)
        self.self_attention_norm = nn.LayerNorm(config.width)
        self.cross_attention = Attention(config.width, config.num_heads, config.dropout)
        self.cross_attention_norm = nn.LayerNorm(config.width)
        self.feed_forward = FeedForward(config.width, config.ffn_width)
        self.feed_forward_norm = nn.LayerNorm(config.width)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, y: torch.Tensor, memory: torch.Tensor, target_padding: torch.Tensor | None,
                source_padding: torch.Tensor | None) -> torch.Tensor:
        def self_block(h: torch.Tensor) -> torch.Tensor:
            return self.self_attention(h, key_padding=target_padding, causal=True)

        def cross_block(h: torch.Tensor) -> torch.Tensor:
            return self.cross_attention(h, context=memory, key_padding=source_padding)

        blocks = ((self_block, self.self_attention_norm), (cross_block, self.cross_attention_norm),
                  (self.feed_forward, self.feed_forward_norm))
        for block, norm in blocks:
            y = y + self.dropout(block(norm(y))) if self.norm_first else norm(y + self.dropout(block(y)))
        return y


def padding_of(ids: torch.Tensor) -> torch.Tensor | None:
    """(B, S) True at [PAD] tokens, or None when there are none (attention's fast path)."""
    padding = ids.eq(PAD_ID)
    return padding if bool(padding.any()) else None


class TransformerEncoder(nn.Module):
    """Token and learned position embeddings, LayerNorm, ``depth`` encoder layers → (B, S, d)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.tokens = TokenEmbedding(config.vocab_size, config.width)
        self.positions = nn.Embedding(config.max_length, config.width)
        self.embedding_norm = nn.LayerNorm(config.width)
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.depth))
        self.final_norm = nn.LayerNorm(config.width) if config.norm_first else nn.Identity()

    def forward(self, ids: torch.Tensor, key_padding: torch.Tensor | None = None) -> torch.Tensor:
        _check_length(ids, self.config.max_length)
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.dropout(self.embedding_norm(self.tokens.embed(ids) + self.positions(positions)))  # (B, S, d)
        for layer in self.layers:
            x = layer(x, key_padding)
        return self.final_norm(x)


class MaskedLanguageModel(nn.Module):
    """Encoder + RoBERTa's LM head: dense, GELU, LayerNorm, then the tied token matrix → (B, S, V)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = TransformerEncoder(config)
        self.head_dense = nn.Linear(config.width, config.width)
        self.head_norm = nn.LayerNorm(config.width)
        initialize_(self)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(ids, padding_of(ids))
        return self.encoder.tokens(self.head_norm(F.gelu(self.head_dense(hidden))))

    def loss(self, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the predicted positions (labels ≠ −100)."""
        return masked_lm_loss(self, inputs, labels)


class Seq2SeqTransformer(nn.Module):
    """Encoder–decoder; source and target share the vocabulary and the tied token matrix."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.decoder_depth < 1:
            config = config.replace(decoder_depth=config.depth)
        self.config = config
        self.encoder = TransformerEncoder(config)
        self.decoder_positions = nn.Embedding(config.max_length, config.width)
        self.decoder_embedding_norm = nn.LayerNorm(config.width)
        self.dropout = nn.Dropout(config.dropout)
        self.decoder_layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.decoder_depth))
        self.decoder_final_norm = nn.LayerNorm(config.width) if config.norm_first else nn.Identity()
        initialize_(self)

    def forward(self, source: torch.Tensor, target_inputs: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) of the next target token at each of the T target input positions."""
        _check_length(target_inputs, self.config.max_length)
        source_padding, target_padding = padding_of(source), padding_of(target_inputs)
        memory = self.encoder(source, source_padding)  # (B, S, d)
        positions = torch.arange(target_inputs.shape[1], device=target_inputs.device)
        y = self.encoder.tokens.embed(target_inputs) + self.decoder_positions(positions)
        y = self.dropout(self.decoder_embedding_norm(y))  # (B, T, d)
        for layer in self.decoder_layers:
            y = layer(y, memory, target_padding, source_padding)
        return self.encoder.tokens(self.decoder_final_norm(y))

    def loss(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Teacher-forced cross-entropy of ``target[:, 1:]`` given ``target[:, :-1]`` ([PAD] ignored)."""
        return translation_loss(self, source, target)


class SequenceClassifier(nn.Module):
    """Encoder + RoBERTa's classification head (dense, tanh, dropout, projection) on [CLS]."""

    def __init__(self, config: ModelConfig, num_classes: int) -> None:
        super().__init__()
        self.config = config
        self.num_classes = num_classes
        self.encoder = TransformerEncoder(config)
        self.head_dense = nn.Linear(config.width, config.width)
        self.dropout = nn.Dropout(config.dropout)
        self.head_output = nn.Linear(config.width, num_classes)
        initialize_(self)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(ids, padding_of(ids))[:, 0]  # (B, d) at the leading [CLS]
        return self.head_output(self.dropout(torch.tanh(self.head_dense(self.dropout(hidden)))))


def masked_lm_loss(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of a masked LM (or its DDP wrapper) over the positions with a label."""
    logits = model(inputs)  # (B, S, V)
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)


def translation_loss(model: nn.Module, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Teacher-forced cross-entropy of an encoder–decoder (or its DDP wrapper), [PAD] ignored."""
    logits = model(source, target[:, :-1])  # (B, T - 1, V)
    labels = target[:, 1:].masked_fill(target[:, 1:].eq(PAD_ID), IGNORE_INDEX)
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)


@torch.no_grad()
def initialize_(module: nn.Module, std: float = 0.02) -> None:
    """BERT/RoBERTa initialisation: N(0, 0.02²) weights, zero biases, unit LayerNorms."""
    for sub in module.modules():
        if isinstance(sub, (nn.Linear, nn.Embedding)):
            nn.init.normal_(sub.weight, std=std)
        if isinstance(sub, nn.Linear) and sub.bias is not None:
            nn.init.zeros_(sub.bias)
        elif isinstance(sub, nn.LayerNorm):
            nn.init.ones_(sub.weight)
            nn.init.zeros_(sub.bias)


def _check_length(ids: torch.Tensor, max_length: int) -> None:
    from methodzoo.shared.errors import UserError

    if ids.ndim != 2:
        raise UserError(f"expected token ids of shape (batch, length), got {tuple(ids.shape)}")
    if ids.shape[1] > max_length:
        raise UserError(f"sequences of {ids.shape[1]} tokens exceed the model's max_length {max_length}")


def load_encoder_into(classifier: SequenceClassifier, pretrained: nn.Module) -> SequenceClassifier:
    """Copy a pretrained model's encoder (an MLM or seq2seq model) into ``classifier``."""
    encoder = getattr(pretrained, "encoder", None)
    if not isinstance(encoder, TransformerEncoder):
        raise TypeError(f"{type(pretrained).__name__} has no TransformerEncoder called 'encoder'")
    classifier.encoder.load_state_dict(encoder.state_dict())
    return classifier
