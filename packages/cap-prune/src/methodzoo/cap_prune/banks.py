"""Representation banks: one L2-normalised vector per training example and model, kept off the
accelerator, built without gradients, and sampled into candidate sets.

* PrC: the pre-trained model's representations (R = 1, encoded once).
* FiC: the fine-tuned teacher's (R = 1, encoded once).
* SnC: every snapshot of the pruned model so far (R grows by one per snapshot; ``keep_last_k``
  bounds it).

Memory is ``N·R·d`` values; ``dtype=torch.float16`` halves it (a documented deviation: the paper
stores float32). Banks are encoded in eval mode (the official code leaves dropout on; pass
``dropout=True`` to :func:`encode_representations` to reproduce that).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from methodzoo.cap_prune.contrastive import Candidates, normalize
from methodzoo.cap_prune.data import TokenizedTexts
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.modules import eval_mode


class RepresentationBank:
    """``vectors`` (N, R, d) in ``dtype`` on the CPU, with the training labels (N,)."""

    def __init__(self, labels: torch.Tensor, dim: int, *, dtype: torch.dtype = torch.float32,
                 keep_last_k: int | None = None) -> None:
        if keep_last_k is not None and keep_last_k < 1:
            raise ConfigError(f"keep_last_k must be >= 1 or None, got {keep_last_k}")
        self.labels = labels.detach().to("cpu", torch.int64)
        self.dtype = dtype
        self.keep_last_k = keep_last_k
        self.vectors = torch.empty(self.labels.numel(), 0, dim, dtype=dtype)

    @property
    def rows(self) -> int:
        """R, the number of representations kept per example."""
        return int(self.vectors.shape[1])

    @property
    def size(self) -> int:
        return int(self.vectors.shape[0])

    def append(self, representations: torch.Tensor) -> None:
        """Add one row per example: ``representations`` (N, d), normalised here."""
        if representations.shape != (self.size, self.vectors.shape[2]):
            raise ConfigError(f"expected representations of shape {(self.size, self.vectors.shape[2])}, "
                              f"got {tuple(representations.shape)}")
        row = normalize(representations.detach().float()).to("cpu", self.dtype)
        self.vectors = torch.cat([self.vectors, row[:, None]], dim=1)
        if self.keep_last_k is not None and self.rows > self.keep_last_k:
            self.vectors = self.vectors[:, -self.keep_last_k:].contiguous()

    def gather(self, indices: torch.Tensor) -> torch.Tensor:
        """(len(indices), R, d) float32."""
        return self.vectors[indices.cpu()].float()

    def extra_count(self, bank_size: int) -> int:
        """K = ⌊E/R⌋ random examples (so about E extra vectors), at most N."""
        return min(bank_size // max(self.rows, 1), self.size)

    def sample_extra(self, bank_size: int, generator: torch.Generator) -> torch.Tensor:
        """K training indices drawn without replacement with ``generator`` (they may repeat the
        batch's own examples, which then count as positives)."""
        return torch.randperm(self.size, generator=generator)[: self.extra_count(bank_size)]

    def candidates(self, anchors: torch.Tensor, indices: torch.Tensor, labels: torch.Tensor,
                   extra: torch.Tensor) -> Candidates:
        """``{sg(z_j)} ∪ B[batch] ∪ B[extra]`` with their example ids and labels.

        ``anchors`` (b, d) normalised; the first b candidates are their stop-gradient copies.
        """
        device = anchors.device
        indices = indices.to("cpu")
        own = self.gather(indices)  # (b, R, d)
        drawn = self.gather(extra)  # (K, R, d)
        rows = self.rows
        vectors = torch.cat([anchors.detach(), own.reshape(-1, own.shape[-1]).to(device, anchors.dtype),
                             drawn.reshape(-1, drawn.shape[-1]).to(device, anchors.dtype)])
        ids = torch.cat([indices, indices.repeat_interleave(rows), extra.repeat_interleave(rows)]).to(device)
        bank_labels = torch.cat([self.labels[indices], self.labels[extra]]).repeat_interleave(rows)
        labels_all = torch.cat([labels.to("cpu"), bank_labels]).to(device)
        self_index = torch.arange(anchors.shape[0], device=device)
        return Candidates(vectors, ids, labels_all, self_index)

    # ----- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"vectors": self.vectors, "labels": self.labels}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.vectors = state["vectors"].to("cpu", self.dtype)
        self.labels = state["labels"].to("cpu", torch.int64)


@torch.no_grad()
def encode_representations(model: nn.Module, data: TokenizedTexts, *, batch_size: int = 64,
                           dropout: bool = False, device: torch.device | str | None = None,
                           progress: Callable[..., Any] | None = None) -> torch.Tensor:
    """The model's sentence representation of every example, (N, d) float32 on the CPU.

    ``model(input_ids, attention_mask, token_type_ids)`` must return an object with a
    ``representation`` (a classifier of this package). Eval mode unless ``dropout=True``.
    """
    if device is None:
        device = next(model.parameters()).device
    starts = range(0, len(data), batch_size)
    if progress is not None:
        starts = progress(starts, desc="encode bank")
    outputs = []
    with eval_mode(model):
        if dropout:
            model.train()
        for start in starts:
            batch = data.batch(torch.arange(start, min(start + batch_size, len(data))), device)
            outputs.append(model(*batch.inputs).representation.float().cpu())
    return torch.cat(outputs)
