"""2-D toy distributions for the flow experiments, with their log-density where it is known.

* ``8gaussians``: 8 isotropic Gaussians (σ = 0.15) on a circle of radius 2, equal weights.
* ``gmm``: an asymmetric mixture of 5 anisotropic Gaussians with unequal weights.
* ``checkerboard``: uniform on 8 alternating unit squares of [−2, 2]² (density 1/8 inside).
* ``moons``: two interleaving half circles with Gaussian noise 0.1 (no closed-form density).

Each has ``sample(n, generator)`` and ``log_prob(x)`` (raises for ``moons``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from methodzoo.shared.errors import UserError
from methodzoo.shared.registry import Registry


class ToyDistribution:
    """A 2-D distribution: ``sample(n, generator) -> (n, 2)``; ``log_prob(x) -> (n,)``."""

    name = "toy"
    has_density = False

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        raise UserError(f"the {self.name} distribution has no closed-form density")


class GaussianMixture(ToyDistribution):
    """Σ_k w_k N(μ_k, Σ_k) in D dimensions with exact sampling and log-density."""

    has_density = True

    def __init__(self, means: torch.Tensor, covariances: torch.Tensor, weights: torch.Tensor,
                 name: str = "gmm") -> None:
        self.name = name
        self.means = means.double()  # (K, D)
        self.covariances = covariances.double()  # (K, D, D)
        self.weights = (weights / weights.sum()).double()  # (K,)
        self.cholesky = torch.linalg.cholesky(self.covariances)  # (K, D, D)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        component = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # (n,)
        noise = torch.randn(n, self.means.shape[1], generator=generator, dtype=torch.float64)  # (n, D)
        x = self.means[component] + torch.einsum("nij,nj->ni", self.cholesky[component], noise)
        return x.float()

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = x.double()
        diff = x[:, None, :] - self.means[None]  # (n, K, D)
        # Solve L y = diff for each component: the Mahalanobis term is |y|².
        y = torch.linalg.solve_triangular(self.cholesky[None], diff[..., None], upper=False)[..., 0]
        log_det = 2 * torch.log(torch.diagonal(self.cholesky, dim1=-2, dim2=-1)).sum(-1)  # (K,)
        dim = x.shape[1]
        log_normal = -0.5 * (y.square().sum(-1) + log_det[None] + dim * math.log(2 * math.pi))  # (n, K)
        return torch.logsumexp(log_normal + self.weights.log()[None], dim=1).float()


def eight_gaussians(radius: float = 2.0, std: float = 0.15) -> GaussianMixture:
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    covariances = (std**2) * torch.eye(2, dtype=torch.float64).expand(8, 2, 2)
    return GaussianMixture(means, covariances.clone(), torch.ones(8), name="8gaussians")


def asymmetric_gmm() -> GaussianMixture:
    means = torch.tensor([[-1.5, -1.0], [1.5, -1.2], [0.0, 1.6], [1.8, 1.4], [-1.8, 1.2]])
    scales = torch.tensor([[0.35, 0.12], [0.15, 0.4], [0.5, 0.1], [0.12, 0.12], [0.25, 0.25]])
    angles = torch.tensor([0.5, -0.3, 0.0, 0.0, 1.0])
    rotations = torch.stack([torch.stack([angles.cos(), -angles.sin()], -1),
                             torch.stack([angles.sin(), angles.cos()], -1)], -2)  # (K, 2, 2)
    covariances = rotations @ torch.diag_embed(scales.square()) @ rotations.transpose(-1, -2)
    weights = torch.tensor([0.3, 0.2, 0.25, 0.1, 0.15])
    return GaussianMixture(means, covariances, weights, name="gmm")


class Checkerboard(ToyDistribution):
    """Uniform on the 8 squares [i, i+1]×[j, j+1] ⊂ [−2, 2]² with i + j even."""

    name = "checkerboard"
    has_density = True

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        cell = torch.randint(0, 8, (n,), generator=generator)  # which of the 8 black squares
        row = cell // 2  # 0..3
        column = 2 * (cell % 2) + (row % 2)  # alternate so that row + column is even
        offset = torch.rand(n, 2, generator=generator)
        return torch.stack([column - 2 + offset[:, 0], row - 2 + offset[:, 1]], dim=1).float()

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        inside = (x.abs() <= 2).all(dim=1)
        cells = torch.floor(x + 2).long()
        black = ((cells[:, 0] + cells[:, 1]) % 2 == 0) & inside
        return torch.where(black, torch.full_like(x[:, 0], -math.log(8.0)), torch.full_like(x[:, 0], -math.inf))


class Moons(ToyDistribution):
    """Two interleaving half circles (as scikit-learn's ``make_moons``), centred, noise 0.1."""

    name = "moons"

    def __init__(self, noise: float = 0.1) -> None:
        self.noise = noise

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        upper = torch.rand(n, generator=generator) < 0.5
        angle = torch.rand(n, generator=generator) * math.pi
        x = torch.where(upper, angle.cos(), 1 - angle.cos())
        y = torch.where(upper, angle.sin(), 0.5 - angle.sin())
        points = torch.stack([x - 0.5, y - 0.25], dim=1) * 2.0
        return (points + self.noise * torch.randn(n, 2, generator=generator)).float()


TOY_DISTRIBUTIONS: Registry[Callable[[], ToyDistribution]] = Registry("2-D toy distribution")
TOY_DISTRIBUTIONS.register("8gaussians", eight_gaussians)
TOY_DISTRIBUTIONS.register("gmm", asymmetric_gmm)
TOY_DISTRIBUTIONS.register("checkerboard", Checkerboard)
TOY_DISTRIBUTIONS.register("moons", Moons)


def toy_distribution(name: str) -> ToyDistribution:
    """The 2-D distribution registered under ``name`` (8gaussians, gmm, checkerboard, moons)."""
    return TOY_DISTRIBUTIONS.get(name)()
