"""Coloured digits from real MNIST (after Kim et al. 2019, "Learning Not to Learn"), the paper's
Colored-MNIST setting at CPU scale.

m0 is the grey digit ``(1, S, S)``; m1 the same digit painted in one colour ``(3, S, S)``. In
training the colour is the label's palette colour with probability ρ and a uniformly drawn
palette colour otherwise, so colour is an easy, almost perfectly predictive cue; each image's
colour gets Gaussian jitter. The "test" set paints the held-out digits in colours independent of
the label (decorrelated), the "control" set paints the same digits as in training (colour stays
predictive). The paper's exact colour variance and split sizes are not known.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from methodzoo.greedy_mm.data.paired import PairedTensors, TwoModalityData
from methodzoo.shared.data import load_dataset
from methodzoo.shared.errors import ConfigError

# Ten well-separated RGB colours, one per digit class.
PALETTE = torch.tensor([
    [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 1.0],
    [0.0, 1.0, 1.0], [1.0, 0.5, 0.0], [0.5, 0.0, 1.0], [0.5, 1.0, 0.0], [0.0, 0.5, 1.0],
])


def draw_colours(labels: torch.Tensor, rho: float, generator: torch.Generator) -> torch.Tensor:
    """Palette indices: the label's with probability ``rho``, else uniform over the palette."""
    keep = torch.rand(labels.shape, generator=generator) < rho
    random = torch.randint(0, len(PALETTE), labels.shape, generator=generator)
    return torch.where(keep, labels, random)


def paint(grey: torch.Tensor, colour_index: torch.Tensor, jitter: float, generator: torch.Generator) -> torch.Tensor:
    """Grey digits ``(N, 1, S, S)`` in [0, 1] → coloured ``(N, 3, S, S)``."""
    colours = PALETTE[colour_index]  # (N, 3)
    if jitter > 0:
        colours = (colours + jitter * torch.randn(colours.shape, generator=generator)).clamp(0.0, 1.0)
    return grey * colours[:, :, None, None]


def colored_digits(rho: float = 0.99, *, image_size: int = 16, test_size: int = 1000,
                   train_size: int | None = None, colour_jitter: float = 0.05, seed: int = 0) -> TwoModalityData:
    """The coloured-digit task from the 5,000 offline MNIST digits: ``train`` and the evaluation
    sets ``test`` (colours independent of the label) and ``control`` (training correlation)."""
    if not 0.0 <= rho <= 1.0:
        raise ConfigError(f"rho must be in [0, 1], got {rho}")
    digits = load_dataset("mnist-digits")
    n = len(digits)
    train_size = n - test_size if train_size is None else train_size
    if test_size < 1 or train_size < 1 or train_size + test_size > n:
        raise ConfigError(f"train_size + test_size must fit the {n} digits, got {train_size} + {test_size}")
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator)  # the digits come sorted by class
    grey = F.adaptive_avg_pool2d(digits.as_float(), image_size)  # (N, 1, S, S)
    labels = digits.labels

    def split(indices: torch.Tensor, rho_: float) -> PairedTensors:
        colour = draw_colours(labels[indices], rho_, generator)
        return PairedTensors(grey[indices], paint(grey[indices], colour, colour_jitter, generator), labels[indices])

    train_idx, test_idx = order[:train_size], order[train_size:train_size + test_size]
    train = split(train_idx, rho)
    test = split(test_idx, 0.0)  # rho = 0: the colour is uniform, whatever the label
    control = split(test_idx, rho)
    return TwoModalityData(
        name="colored-digits", train=train, evaluation={"test": test, "control": control},
        class_names=tuple(str(d) for d in range(10)), modality_names=("grey digit", "coloured digit"),
        details={"rho": rho, "image_size": image_size, "train_size": int(train_size), "test_size": int(test_size),
                 "colour_jitter": colour_jitter, "seed": seed})
