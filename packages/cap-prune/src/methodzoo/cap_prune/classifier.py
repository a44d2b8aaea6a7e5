"""Sequence classification on :class:`~methodzoo.cap_prune.encoder.MaskableBertModel`.

``logits = classifier(dropout(pooler_output))`` as in BERT's ``BertForSequenceClassification``
(``head_input="pooler"``, the default), or on the masked mean of the last hidden states
(``head_input="mean"``: the sentence embedding that sentence-transformers models such as
all-MiniLM-L6-v2 were trained to produce; that training never reaches their pooler). The forward also
returns the sentence representation CAP contrasts: the dropped-out pooler output (``cls``, the
official scripts') or the masked mean of the last hidden states (``mean``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from methodzoo.cap_prune.encoder import EncoderConfig, MaskableBertModel
from methodzoo.shared.errors import UserError

Representation = Literal["cls", "mean"]
HeadInput = Literal["pooler", "mean"]


@dataclass
class ClassifierOutput:
    """``logits`` (B, C) and the un-normalised sentence ``representation`` (B, d)."""

    logits: torch.Tensor
    representation: torch.Tensor


class MaskableBertForSequenceClassification(nn.Module):
    """A maskable BERT encoder with a dropout + linear head on the pooler output."""

    def __init__(self, config: EncoderConfig, num_labels: int, classifier_dropout: float | None = None,
                 representation: Representation = "cls", head_input: HeadInput = "pooler") -> None:
        super().__init__()
        if num_labels < 1:
            raise UserError(f"num_labels must be >= 1, got {num_labels}")
        if representation not in ("cls", "mean"):
            raise UserError(f"representation must be 'cls' or 'mean', got {representation!r}")
        if head_input not in ("pooler", "mean"):
            raise UserError(f"head_input must be 'pooler' or 'mean', got {head_input!r}")
        self.num_labels = num_labels
        self.representation = representation
        self.head_input = head_input
        self.bert = MaskableBertModel(config)
        self.dropout = nn.Dropout(config.hidden_dropout if classifier_dropout is None else classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, num_labels)

    @property
    def config(self) -> EncoderConfig:
        return self.bert.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, head_mask: Any = None,
                ffn_mask: Any = None) -> ClassifierOutput:
        output = self.bert(input_ids, attention_mask, token_type_ids, head_mask, ffn_mask)
        mean = None
        if self.head_input == "mean" or self.representation == "mean":
            weights = (torch.ones_like(input_ids) if attention_mask is None else attention_mask)
            weights = weights.to(output.last_hidden_state.dtype)[..., None]  # (B, T, 1)
            mean = (output.last_hidden_state * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        features = self.dropout(output.pooler_output if self.head_input == "pooler" else mean)
        if self.representation == "mean":
            representation = mean
        elif self.head_input == "pooler":
            representation = features  # CAP's anchor goes through the classifier's dropout
        else:
            representation = self.dropout(output.pooler_output)
        assert representation is not None
        return ClassifierOutput(self.classifier(features), representation)

    @classmethod
    @torch.no_grad()
    def from_hf(cls, hf_model: nn.Module, num_labels: int | None = None,
                representation: Representation = "cls", *, head_input: HeadInput = "pooler",
                generator: torch.Generator | None = None) -> MaskableBertForSequenceClassification:
        """From a Hugging Face ``BertForSequenceClassification`` (its head is copied) or a bare
        ``BertModel`` (a new head, initialised N(0, 0.02²) as BERT does, needs ``num_labels``)."""
        bert = MaskableBertModel.from_hf(hf_model)
        hf_head = getattr(hf_model, "classifier", None)
        if num_labels is None:
            if not isinstance(hf_head, nn.Linear):
                raise UserError("num_labels is needed when the source model has no classification head")
            num_labels = hf_head.out_features
        hf_dropout = getattr(getattr(hf_model, "config", None), "classifier_dropout", None)
        model = cls(bert.config, num_labels, hf_dropout, representation, head_input)
        model.bert = bert
        if isinstance(hf_head, nn.Linear) and hf_head.out_features == num_labels:
            model.classifier.load_state_dict(hf_head.state_dict())
        else:
            model.classifier.weight.copy_(torch.randn(model.classifier.weight.shape, generator=generator) * 0.02)
            model.classifier.bias.zero_()
        reference = next(bert.parameters())
        return model.to(reference.device, reference.dtype).train(bert.training)

    def compact(self) -> MaskableBertForSequenceClassification:
        """A copy whose encoder has its masked heads and FFN neurons removed (same logits)."""
        encoder = self.bert.compact()
        new = type(self)(encoder.config, self.num_labels, self.dropout.p, self.representation, self.head_input)
        new.bert = encoder
        new.classifier.load_state_dict(self.classifier.state_dict())
        reference = next(self.parameters())
        return new.to(reference.device, reference.dtype).train(self.training)
