"""The pretrained part of ``methodzoo bench compress``: EfficientNet-Lite0 (ImageNet weights,
offline) compressed without retraining, measured against the dense model on the offline photos.

There are no ImageNet labels offline, so fidelity is top-1 *agreement* with the dense model and
the mean ``KL(p_dense ‖ p_compressed)`` of the class distributions. Calibration (activation
ranges, Wanda, SparseGPT) uses random crops and flips of the same photos: the numbers measure
how much each method changes the network, not generalisation.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.shared.compress.accounting import parameter_count
from methodzoo.shared.compress.bench_settings import BenchSettings
from methodzoo.shared.compress.fakequant import FakeQuant, calibrate
from methodzoo.shared.compress.flops import count_flops
from methodzoo.shared.compress.lowrank import LowRank, factorize_
from methodzoo.shared.compress.oneshot import SparseGPT, Wanda
from methodzoo.shared.compress.prune import MagnitudePruning, prune_
from methodzoo.shared.compress.quantize import quantize_
from methodzoo.shared.config import Config
from methodzoo.shared.data.offline import offline_photos
from methodzoo.shared.pretrained import load_pretrained
from methodzoo.shared.seed import make_generator

POINTWISE = ("*_expand_conv", "*_project_conv", "_conv_head", "_fc")


@dataclass(frozen=True)
class Fidelity:
    """How a compressed classifier compares with the dense one on the same photos."""

    name: str
    agreement: float
    kl: float
    params_nominal: int
    params_effective: float
    alpha: float
    gflops: float
    note: str = ""


def calibration_crops(images: list[Any], preprocessing: Any, count: int, seed: int) -> torch.Tensor:
    """``count`` random crops (30–100 % of the shorter side) with random flips, preprocessed."""
    generator = make_generator(seed)
    crops = []
    for index in range(count):
        image = torch.as_tensor(images[index % len(images)]).permute(2, 0, 1).float() / 255.0  # (3, H, W)
        height, width = image.shape[1:]
        side = int(min(height, width) * (0.3 + 0.7 * float(torch.rand((), generator=generator))))
        top = int(torch.randint(0, height - side + 1, (), generator=generator))
        left = int(torch.randint(0, width - side + 1, (), generator=generator))
        crop = F.interpolate(image[None, :, top:top + side, left:left + side], size=(preprocessing.crop,) * 2,
                             mode="bilinear", antialias=True, align_corners=False)
        if float(torch.rand((), generator=generator)) < 0.5:
            crop = crop.flip(-1)
        crops.append(crop)
    mean = torch.tensor(preprocessing.mean).view(1, 3, 1, 1)
    std = torch.tensor(preprocessing.std).view(1, 3, 1, 1)
    return (torch.cat(crops) - mean) / std


@torch.no_grad()
def _logits(model: nn.Module, x: torch.Tensor, batch: int = 8) -> torch.Tensor:
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])


def fidelity(name: str, dense_logits: torch.Tensor, model: nn.Module, x: torch.Tensor, dense_effective: float,
             note: str = "") -> Fidelity:
    logits = _logits(model, x)
    agreement = float((logits.argmax(1) == dense_logits.argmax(1)).float().mean())
    kl = float(F.kl_div(logits.log_softmax(1), dense_logits.log_softmax(1), log_target=True,
                        reduction="batchmean"))
    counts = parameter_count(model)
    gflops = count_flops(model, x[:1]).flops / 1e9
    return Fidelity(name, agreement, kl, counts.nominal, counts.effective, dense_effective / counts.effective,
                    gflops, note)


def compress(model: nn.Module, config: Config, calibration: list[torch.Tensor]) -> nn.Module:
    """Apply one post-training compression: quantize (and calibrate), prune or factorise."""
    if isinstance(config, FakeQuant):
        quantize_(model, config)
        return calibrate(model, calibration) if config.activation_bits is not None else model
    if isinstance(config, LowRank):
        return factorize_(model, config)
    return prune_(model, config, calibration=calibration)


def run_efficientnet(settings: BenchSettings, seed: int) -> list[Fidelity]:
    """Dense and compressed EfficientNet-Lite0 on the offline photos."""
    classifier = load_pretrained("efficientnet-lite0")
    dense, preprocessing = classifier.model.eval(), classifier.preprocess
    photos = offline_photos()[: settings.photos]
    x = preprocessing([p.image for p in photos])
    crops = calibration_crops([p.image for p in photos], preprocessing, settings.calibration_crops, seed)
    batches = [crops[i:i + 8] for i in range(0, len(crops), 8)]
    dense_logits = _logits(dense, x)
    dense_effective = parameter_count(dense).effective
    sequential = settings.sequential_one_shot
    variants: list[tuple[str, Config, str]] = [
        ("PTQ 8-bit weights + activations", FakeQuant(bits=8, activation_bits=8),
         "per-channel symmetric weights, per-tensor activations, min/max calibration on the crops"),
        ("PTQ 8-bit weights", FakeQuant(bits=8), "per-channel symmetric, activations in fp32"),
        ("PTQ 4-bit weights", FakeQuant(bits=4), "per-channel symmetric, no calibration"),
    ]
    for sparsity in settings.efficientnet_sparsities:
        variants += [
            (f"magnitude {sparsity:.0%} (global)", MagnitudePruning(sparsity), "one threshold for all layers"),
            (f"magnitude {sparsity:.0%} (per layer)", MagnitudePruning(sparsity, scope="layer"),
             "every layer to the same sparsity, as Wanda"),
            (f"Wanda {sparsity:.0%}", Wanda(sparsity=sparsity, sequential=sequential), "depthwise convolutions left dense"),
        ]
        if settings.sparsegpt:
            variants.append((f"SparseGPT {sparsity:.0%}", SparseGPT(sparsity=sparsity, sequential=sequential),
                             "depthwise convolutions left dense"))
    variants += [
        ("Wanda 2:4", Wanda(pattern=(2, 4), sequential=sequential), "layers with inputs not a multiple of 4 left dense"),
        ("SVD energy 0.95 (1×1 convs, classifier)", LowRank(energy=0.95, include=POINTWISE),
         "only layers the factorisation shrinks"),
    ]
    results = [fidelity("dense", dense_logits, dense, x, dense_effective)]
    for name, config, note in variants:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "left dense" lists, summarised in the note
            model = compress(copy.deepcopy(dense), config, batches).eval()
        results.append(fidelity(name, dense_logits, model, x, dense_effective, note))
    return results
