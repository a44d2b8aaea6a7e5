"""k-means weight sharing with Huffman-coded indices: the quantization stage of Deep Compression
(Han, Mao & Dally 2016; weight sharing by Gong et al. 2014).

Each layer's (unpruned) weights are clustered into ``2^b`` centroids by k-means (linear
initialisation between the smallest and largest weight, which the paper found best); the layer
then stores a ``b``-bit index per weight and the codebook. The codebook stays trainable: the
weight is computed as ``codebook[indices]``, so the gradient of a centroid is the sum of the
gradients of the weights sharing it (the paper's centroid fine-tuning). Pruned weights are not
clustered and stay zero.

:func:`encoded_bits` counts what the paper stores: the nonzero weights' indices and their
position gaps (relative indices of ``index_bits`` with filler entries for longer gaps), each
stream Huffman coded, plus the codebook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from methodzoo.shared.compress.huffman import huffman_bits
from methodzoo.shared.compress.masks import bake_, effective_mask
from methodzoo.shared.compress.parametrized import original_of, parametrizations_of, register_
from methodzoo.shared.compress.targets import LayerSelection, Target, find_targets, kind_of
from methodzoo.shared.config import check
from methodzoo.shared.errors import UserError
from methodzoo.shared.seed import make_generator


@dataclass(frozen=True)
class WeightSharing(LayerSelection):
    """Share each layer's weights among ``2^bits`` k-means centroids (``conv_bits`` for
    convolutions when given; Deep Compression used 8 bits for convolutions, 5 for FC layers)."""

    bits: int = 5
    conv_bits: int | None = None
    init: Literal["linear", "density", "random"] = "linear"
    iterations: int = 100
    seed: int = 0

    def validate(self) -> None:
        super().validate()
        check(1 <= self.bits <= 16, "bits must be in 1..16, got {}", self.bits)
        check(self.conv_bits is None or 1 <= self.conv_bits <= 16, "conv_bits must be in 1..16, got {}",
              self.conv_bits)
        check(self.iterations >= 1, "iterations must be positive, got {}", self.iterations)


def kmeans_1d(values: torch.Tensor, clusters: int, init: str = "linear", iterations: int = 100,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means on scalars: ``(centroids (k,), assignment (n,))``; stops when stable."""
    values = values.detach().reshape(-1).double()
    if values.numel() == 0:
        return torch.zeros(clusters, dtype=values.dtype), torch.zeros(0, dtype=torch.long)
    if init == "linear":
        centroids = torch.linspace(float(values.min()), float(values.max()), clusters, dtype=values.dtype)
    elif init == "density":
        quantiles = (torch.arange(clusters, dtype=values.dtype) + 0.5) / clusters
        centroids = torch.quantile(values, quantiles) if values.numel() < 2**24 else torch.sort(values)[0][
            (quantiles * (values.numel() - 1)).long()]
    else:
        centroids = values[torch.randint(0, values.numel(), (clusters,), generator=generator)]
    assignment = torch.full_like(values, -1, dtype=torch.long)
    for _ in range(iterations):
        order = torch.argsort(centroids)
        centroids = centroids[order]
        boundaries = (centroids[1:] + centroids[:-1]) / 2
        new = torch.bucketize(values, boundaries)
        if torch.equal(new, assignment):
            break
        assignment = new
        counts = torch.bincount(assignment, minlength=clusters)
        sums = torch.bincount(assignment, weights=values, minlength=clusters)
        centroids = torch.where(counts > 0, sums / counts.clamp_min(1), centroids)
    return centroids.float(), assignment


class SharedWeight(nn.Module):
    """Parametrization whose stored tensor is the codebook: ``W = codebook[indices] (⊙ mask)``."""

    indices: torch.Tensor
    mask: torch.Tensor | None

    def __init__(self, indices: torch.Tensor, codebook: torch.Tensor, mask: torch.Tensor | None) -> None:
        super().__init__()
        dtype = torch.uint8 if int(codebook.numel()) <= 256 else torch.int16
        self.register_buffer("indices", indices.to(dtype))
        self.register_buffer("mask", mask.to(torch.bool) if mask is not None else None)
        self._initial_codebook: torch.Tensor | None = codebook

    def right_inverse(self, weight: torch.Tensor) -> torch.Tensor:
        # Called once by parametrize at registration: the stored tensor becomes the codebook.
        assert self._initial_codebook is not None
        codebook, self._initial_codebook = self._initial_codebook, None
        return codebook.to(weight.device, weight.dtype)

    def forward(self, codebook: torch.Tensor) -> torch.Tensor:
        weight = codebook[self.indices.long()]
        return weight * self.mask if self.mask is not None else weight


def codebook_of(module: nn.Module, name: str) -> torch.Tensor:
    """The trainable codebook of a shared weight."""
    return original_of(module, name)


@torch.no_grad()
def share_weights_(model: nn.Module, config: WeightSharing) -> None:
    """Cluster the selected weights and make them :class:`SharedWeight` parametrizations."""
    targets = find_targets(model, config, kinds=("linear", "conv"))
    if not targets:
        raise UserError("WeightSharing: no linear or convolution weights selected")
    generator = make_generator(config.seed)
    for target in targets:
        _share(target, config, generator)


def _share(target: Target, config: WeightSharing, generator: torch.Generator) -> None:
    module, name = target.module, target.tensor
    chain = parametrizations_of(module, name)
    if any(isinstance(p, SharedWeight) for p in chain):
        raise UserError(f"{target.qualified_name} already shares its weights")
    mask = effective_mask(module, name)
    weight = target.value().detach().clone()
    bake_(module, name)
    bits = config.conv_bits if config.conv_bits is not None and kind_of(module) == "conv" else config.bits
    kept = weight[mask] if mask is not None else weight.reshape(-1)
    centroids, assignment = kmeans_1d(kept, 2**bits, config.init, config.iterations, generator)
    indices = torch.zeros(weight.shape, dtype=torch.long, device=weight.device)
    if mask is not None:
        indices[mask] = assignment.to(weight.device)
    else:
        indices = assignment.view(weight.shape).to(weight.device)
    register_(module, name, SharedWeight(indices, centroids.to(weight.device), mask), unsafe=True)


def shared_weight_of(module: nn.Module, name: str) -> SharedWeight | None:
    for item in parametrizations_of(module, name):
        if isinstance(item, SharedWeight):
            return item
    return None


def relative_positions(mask: np.ndarray, index_bits: int) -> tuple[np.ndarray, int]:
    """The position stream of the kept entries: each gap to the previous kept entry stored as
    ``gap − 1`` in ``index_bits``; a gap longer than ``2^index_bits`` first takes filler entries
    (a stored zero that jumps ``2^index_bits``). Returns the stream and the number of fillers."""
    limit = 2**index_bits
    positions = np.flatnonzero(mask.reshape(-1))
    gaps = np.diff(np.concatenate([[-1], positions]))  # ≥ 1
    fillers = (gaps - 1) // limit
    entries = fillers + 1
    stream = np.full(int(entries.sum()), limit - 1, dtype=np.int64)
    stream[np.cumsum(entries) - 1] = gaps - fillers * limit - 1
    return stream, int(fillers.sum())


def encoded_bits(shared: SharedWeight, codebook: torch.Tensor, index_bits: int = 5,
                 huffman: bool = True, value_bits: int = 32) -> dict[str, int]:
    """Bits Deep Compression stores for one shared weight: ``values`` (cluster indices of the
    kept weights and fillers), ``positions`` (relative indices; 0 for an unpruned layer) and
    ``codebook``."""
    indices = shared.indices.long().cpu().numpy().reshape(-1)
    codebook_bits = int(codebook.numel()) * value_bits
    bits_per_index = max(1, int(np.ceil(np.log2(max(int(codebook.numel()), 2)))))
    if shared.mask is None:
        values = indices
        return {"values": huffman_bits(values) if huffman else values.size * bits_per_index,
                "positions": 0, "codebook": codebook_bits}
    mask = shared.mask.cpu().numpy().reshape(-1)
    gaps, fillers = relative_positions(mask, index_bits)
    filler_symbol = int(codebook.numel())  # fillers store a zero, a symbol of their own
    values = np.concatenate([indices[mask], np.full(fillers, filler_symbol)])
    if huffman:
        return {"values": huffman_bits(values), "positions": huffman_bits(gaps), "codebook": codebook_bits}
    return {"values": values.size * bits_per_index, "positions": gaps.size * index_bits, "codebook": codebook_bits}
