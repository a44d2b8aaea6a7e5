"""2-D toy distributions: exact log-densities against scipy, normalisation, sampling; the metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from methodzoo.cud import toy_distribution
from methodzoo.cud.data import load_training_data
from methodzoo.cud.evaluation import negative_log_likelihood, sample_quality
from methodzoo.shared.errors import UserError


@pytest.mark.parametrize("name", ["8gaussians", "gmm"])
def test_mixture_log_density_matches_scipy(name):
    mixture = toy_distribution(name)
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0)) * 2
    expected = np.log(sum(
        float(w) * stats.multivariate_normal(m.numpy(), c.numpy()).pdf(x.double().numpy())
        for w, m, c in zip(mixture.weights, mixture.means, mixture.covariances, strict=True)))
    np.testing.assert_allclose(mixture.log_prob(x).numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["8gaussians", "gmm", "checkerboard"])
def test_densities_integrate_to_one_and_samples_are_likely(name):
    dist = toy_distribution(name)
    g = torch.Generator().manual_seed(1)
    grid = torch.rand(200_000, 2, generator=g) * 8 - 4  # uniform on [−4, 4]², area 64
    mass = dist.log_prob(grid).exp().mean().item() * 64
    assert mass == pytest.approx(1.0, abs=0.03)
    samples = dist.sample(5000, g)
    assert torch.isfinite(dist.log_prob(samples)).all()
    # Samples sit where the density is high: their mean log-density beats uniform points'.
    assert dist.log_prob(samples).mean() > dist.log_prob(grid).clamp_min(-50).mean()


def test_eight_gaussians_geometry_and_moons_has_no_density():
    samples = toy_distribution("8gaussians").sample(4000, torch.Generator().manual_seed(2))
    assert samples.norm(dim=1).mean().item() == pytest.approx(2.0, abs=0.05)
    angles = torch.atan2(samples[:, 1], samples[:, 0]) / (2 * math.pi / 8)
    assert (angles - angles.round()).abs().max() < 0.5  # every point near one of the 8 directions
    with pytest.raises(UserError, match="no closed-form density"):
        toy_distribution("moons").log_prob(samples)


def test_sample_quality_metrics_separate_good_from_bad_samples():
    data = load_training_data("gmm")
    g = torch.Generator().manual_seed(3)
    reference, good = data.reference(2000, g), data.reference(2000, g)
    bad = torch.zeros(2000, 2)  # everything collapsed at the origin
    good_row, bad_row = sample_quality(data, good, reference), sample_quality(data, bad, reference)
    assert good_row["swd"] < 0.1 < bad_row["swd"]
    assert good_row["nll"] < bad_row["nll"]
    exact_entropy = -data.toy.log_prob(reference).mean().item()  # type: ignore[union-attr]
    assert negative_log_likelihood(data, good) == pytest.approx(exact_entropy, abs=0.1)
