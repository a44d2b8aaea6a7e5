"""Sample quality against the number of sampling steps.

2-D data: sliced Wasserstein distance (core ``sliced_wasserstein``) to fresh samples of the true
distribution and the negative log-likelihood of the samples under the true density,
``−E log p(x̂)`` (where the density is known). 28×28 grey images: the core's classifier-feature
Fréchet distance to real digits (``fd_digits``). Other images: sliced Wasserstein on pixels.
Also the exact 2-Wasserstein distance between two equal-size 2-D samples (an assignment problem)
and the straightness of sampled paths.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from methodzoo.cud.data import TrainingData, model_to_images
from methodzoo.cud.solvers import sample
from methodzoo.shared.digit_classifier import digit_frechet_distance
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.metrics import sliced_wasserstein


def negative_log_likelihood(data: TrainingData, samples: torch.Tensor, floor: float = -1e4) -> float:
    """−mean log p(x̂) under the true density; log p is floored (a sample outside the support of a
    uniform density would otherwise make it infinite)."""
    assert data.toy is not None
    return float(-data.toy.log_prob(samples).clamp_min(floor).mean())


def exact_wasserstein2(x: torch.Tensor, y: torch.Tensor) -> float:
    """The 2-Wasserstein distance between the empirical measures of two samples of equal size n,
    ``(min_σ (1/n) Σ_i |x_i − y_σ(i)|²)^½``: with uniform weights an optimal plan is a permutation
    (Birkhoff), found exactly by ``scipy.optimize.linear_sum_assignment``. O(n³): keep n ≲ 2000.
    """
    from scipy.optimize import linear_sum_assignment

    if x.ndim != 2 or x.shape != y.shape:
        raise ConfigError(f"exact_wasserstein2 needs two (n, D) samples of the same shape, got "
                          f"{tuple(x.shape)} and {tuple(y.shape)}")
    cost = torch.cdist(x.double(), y.double()).square().numpy()
    rows, columns = linear_sum_assignment(cost)
    return float(cost[rows, columns].mean() ** 0.5)


def straightness(trajectory: Sequence[torch.Tensor]) -> float:
    """``E_i E_x |N·(x_{i+1} − x_i) − (x_N − x_0)|²`` over the N steps of a sampled path
    (``trajectory[0]`` at t = 1, ``trajectory[N]`` at t = 0): zero for straight, uniform paths."""
    if len(trajectory) < 2:
        raise ConfigError("straightness needs a trajectory of at least one step")
    steps = len(trajectory) - 1
    total = (trajectory[-1] - trajectory[0]).flatten(1)
    deviations = [(steps * (b - a).flatten(1) - total).square().sum(dim=1).mean()
                  for a, b in itertools.pairwise(trajectory)]
    return float(torch.stack(deviations).mean())


def sample_quality(data: TrainingData, samples: torch.Tensor, reference: torch.Tensor,
                   seed: int = 0, w2_samples: int = 0) -> dict[str, float]:
    """The metrics of one sample set against ``reference`` (real data of the same size); for 2-D
    data also the exact W2 on the first ``w2_samples`` of each (0: not computed)."""
    if data.toy is not None:
        row = {"swd": sliced_wasserstein(samples, reference, num_projections=512, generator=seed)}
        if w2_samples:
            row["w2"] = exact_wasserstein2(samples[:w2_samples], reference[:w2_samples])
        if data.toy.has_density:
            row["nll"] = negative_log_likelihood(data, samples)
        return row
    if samples.shape[1:] == (1, 28, 28):
        return {"fd_digits": digit_frechet_distance(model_to_images(reference)[:, 0],
                                                    model_to_images(samples)[:, 0])}
    return {"swd_pixels": sliced_wasserstein(samples.flatten(1), reference.flatten(1), num_projections=512,
                                             generator=seed)}


def evaluate_steps(model: nn.Module, data: TrainingData, steps: Sequence[int], *, solver: str = "euler",
                   n: int = 2000, head: int = 1, seed: int = 0) -> list[dict[str, Any]]:
    """One row per step count: ``steps``, ``nfe`` and the metrics of :func:`sample_quality`.

    The same latents (seeded by ``seed``) are used for every step count.
    """
    reference = data.reference(n, torch.Generator().manual_seed(seed + 1_000))
    rows = []
    for count in steps:
        result = sample(model, n, steps=count, solver=solver, head=head,
                        generator=torch.Generator().manual_seed(seed))
        rows.append({"steps": count, "nfe": result.nfe,
                     **sample_quality(data, result.samples.cpu(), reference, seed)})
    return rows
