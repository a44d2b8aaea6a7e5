"""Distances between samples: sliced Wasserstein, MMD, Fréchet distance."""

from __future__ import annotations

import numpy as np
import torch
from scipy import linalg

from methodzoo.shared.errors import UserError
from methodzoo.shared.seed import make_generator


def _check_samples(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise UserError(f"samples must be (N, D) with equal D, got {tuple(x.shape)} and {tuple(y.shape)}")
    if len(x) < 2 or len(y) < 2:
        raise UserError("need at least 2 points in each sample")


def sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, num_projections: int = 256, p: int = 2,
                       generator: torch.Generator | int | None = 0) -> float:
    """Sliced p-Wasserstein distance ``(E_θ W_p^p(θ·x, θ·y))^(1/p)`` over random unit directions.

    Unequal sample sizes are compared through matched quantiles. For ``y = x + δ``,
    ``SW_2 = |δ|/√D`` in expectation over directions.
    """
    _check_samples(x, y)
    gen = make_generator(generator)
    x, y = x.double(), y.double()
    theta = torch.randn(x.shape[1], num_projections, generator=gen, dtype=torch.float64)
    theta = theta / theta.norm(dim=0, keepdim=True)
    px, _ = torch.sort(x @ theta, dim=0)  # (N, P)
    py, _ = torch.sort(y @ theta, dim=0)  # (M, P)
    if len(px) != len(py):
        levels = (torch.arange(max(len(px), len(py)), dtype=torch.float64) + 0.5) / max(len(px), len(py))
        px = torch.quantile(px, levels, dim=0)
        py = torch.quantile(py, levels, dim=0)
    return float((px - py).abs().pow(p).mean().pow(1.0 / p))


def mmd(x: torch.Tensor, y: torch.Tensor, bandwidth: float | None = None, unbiased: bool = True) -> float:
    """Squared maximum mean discrepancy with the Gaussian kernel ``exp(−|a−b|²/(2h²))``.

    ``bandwidth=None`` uses the median pairwise distance of the pooled sample. The unbiased
    estimator leaves out the diagonal terms.
    """
    _check_samples(x, y)
    x, y = x.double(), y.double()
    pooled = torch.cat([x, y])
    distances = torch.cdist(pooled, pooled).pow(2)
    if bandwidth is None:
        bandwidth = float(distances[distances > 0].median().sqrt()) if (distances > 0).any() else 1.0
    if bandwidth <= 0:
        raise UserError(f"bandwidth must be positive, got {bandwidth}")
    kernel = torch.exp(-distances / (2.0 * bandwidth**2))
    n = len(x)
    k_xx, k_yy, k_xy = kernel[:n, :n], kernel[n:, n:], kernel[:n, n:]
    if unbiased:
        m = len(y)
        term_x = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
        term_y = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    else:
        term_x, term_y = k_xx.mean(), k_yy.mean()
    return float(term_x + term_y - 2.0 * k_xy.mean())


def gaussian_frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """``|μ1 − μ2|² + tr(Σ1 + Σ2 − 2(Σ1Σ2)^½)``, the squared 2-Wasserstein distance of Gaussians."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    # tr((Σ1Σ2)^½) = Σ √eig(Σ1^½ Σ2 Σ1^½): a symmetric PSD problem, stable for singular Σ
    # (features with dead units), unlike a general matrix square root.
    root1 = _psd_sqrt(sigma1)
    eigenvalues = linalg.eigvalsh(root1 @ sigma2 @ root1)
    trace_covmean = np.sqrt(np.clip(eigenvalues, 0.0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_covmean)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, vectors = linalg.eigh((matrix + matrix.T) / 2.0)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T


def frechet_distance(features_a: torch.Tensor | np.ndarray, features_b: torch.Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``(N, D)``."""
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise UserError(f"features must be (N, D) with equal D, got {a.shape} and {b.shape}")
    if min(len(a), len(b)) < 2:
        raise UserError("need at least 2 feature vectors per set")
    return gaussian_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
