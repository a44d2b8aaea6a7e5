"""Eq. 7: the layer-wise terms add up to the full meta-gradient; an independent G_ijl oracle."""

from __future__ import annotations

import torch
from torch import nn

from methodzoo.famus import (
    DeepCNN,
    FaMUS,
    MetaConfig,
    MetaWeightNet,
    layer_units,
    layerwise_meta_gradients,
)
from methodzoo.shared.seed import seeded


def _batch(seed: int, n: int = 6, m: int = 4, size: int = 12) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 1, size, size, generator=g, dtype=torch.float64), torch.randint(0, 10, (n,), generator=g),
            torch.randn(m, 1, size, size, generator=g, dtype=torch.float64), torch.randint(0, 10, (m,), generator=g))


def _model(seed: int, depth: int = 4) -> nn.Module:
    with seeded(seed):
        return DeepCNN(10, 1, width=3, depth=depth).double()


def _method(cls: type[MetaWeightNet], seed: int, config: MetaConfig | None = None) -> MetaWeightNet:
    with seeded(seed + 100):
        method = cls(_model(seed), config, generator=seed)
    method.meta_net.double()
    if isinstance(method, FaMUS):
        method.samplers.double()
    return method


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def test_layer_terms_sum_to_the_full_meta_gradient_with_batchnorm() -> None:
    method = _method(MetaWeightNet, 0)
    x, y, xm, ym = _batch(0)
    full, terms = layerwise_meta_gradients(method, x, y, xm, ym)
    assert len(terms) == len(layer_units(method.model))  # 4 conv+BN layers + linear
    for i, g in enumerate(full):
        assert g.abs().max() > 0
        total = sum(t[i] for t in terms.values())
        assert _rel(total, g) < 1e-10
    # the terms really differ between layers (the test is not summing one term repeatedly)
    first = [t[0] for t in terms.values()]
    assert _rel(first[0], first[-1]) > 1e-3


def test_meta_gradient_matches_explicit_per_sample_products() -> None:
    """g_l = −(α/(n·m))·Σ_i (Σ_j G_ijl)·∂V_i/∂θ from per-sample gradients, no double backward."""
    method = _method(MetaWeightNet, 1)
    x, y, xm, ym = _batch(1)
    n = x.shape[0]
    alpha = method.alpha
    full, terms = layerwise_meta_gradients(method, x, y, xm, ym)
    model = method.model
    params = dict(model.named_parameters())
    # per-sample training gradients ∂L_i/∂w (batch coupling through BatchNorm included)
    losses = method.per_sample_loss(method.functional_forward(params, x), y)  # (n,)
    per_sample = [torch.autograd.grad(losses[i], list(params.values()), retain_graph=True) for i in range(n)]
    weights = method.meta_net(losses.detach())  # (n,)
    with torch.no_grad():
        w_hat = {k: p - alpha * sum(weights[i] * per_sample[i][j] for i in range(n)) / n
                 for j, (k, p) in enumerate(params.items())}
    w_hat = {k: v.requires_grad_(True) for k, v in w_hat.items()}
    meta_loss = nn.functional.cross_entropy(method.functional_forward(w_hat, xm), ym)  # mean over m
    u = torch.autograd.grad(meta_loss, list(w_hat.values()))  # (1/m)·Σ_j ∂L_j/∂ŵ
    theta = list(method.meta_net.parameters())
    dv = [torch.autograd.grad(weights[i], theta, retain_graph=True) for i in range(n)]  # ∂V_i/∂θ
    for unit in layer_units(model):
        index = [list(params).index(name) for name in unit.parameters]
        c = [sum(float((u[j] * per_sample[i][j]).sum()) for j in index) for i in range(n)]  # Σ_j G_ijl / m
        oracle = [-(alpha / n) * sum(c[i] * dv[i][k] for i in range(n)) for k in range(len(theta))]
        for got, want in zip(terms[unit.name], oracle, strict=True):
            assert _rel(got, want) < 1e-8
    total = [-(alpha / n) * sum(sum(float((u[j] * per_sample[i][j]).sum()) for j in range(len(u))) * dv[i][k]
                                for i in range(n)) for k in range(len(theta))]
    for got, want in zip(full, total, strict=True):
        assert _rel(got, want) < 1e-8


def test_virtual_step_equals_a_manual_sgd_step() -> None:
    method = _method(MetaWeightNet, 2)
    x, y, _, _ = _batch(2)
    state = method.virtual_step(x, y)
    model = method.model
    model.zero_grad()
    losses = nn.functional.cross_entropy(model(x), y, reduction="none")
    with torch.no_grad():
        weights = method.meta_net(losses)
    (weights * losses).mean().backward()
    for name, p in model.named_parameters():
        assert torch.allclose(state.w_hat[name], p.detach() - method.alpha * p.grad, rtol=0, atol=1e-12)
        assert state.w_hat[name].requires_grad  # attached to θ


def test_a_detached_layer_carries_zero_meta_gradient_and_attached_ones_do_not() -> None:
    config = MetaConfig(lambda_r=0.0, lambda_g=0.0)
    x, y, xm, ym = _batch(3)
    famus = _method(FaMUS, 3, config)
    gated = len(famus.gated)
    famus.forced_gates = [0] * gated
    state = famus.virtual_step(x, y)
    assert state.attached == ()
    assert not any(v.requires_grad for v in state.w_hat.values())
    grads, _ = famus.meta_gradient(state, famus.meta_loss(state, xm, ym))
    assert all(float(g.abs().max()) == 0.0 for g in grads.values())
    famus.forced_gates = [0] * (gated - 1) + [1]
    state = famus.virtual_step(x, y)
    assert state.attached == (famus.gated[-1].name,)
    grads, _ = famus.meta_gradient(state, famus.meta_loss(state, xm, ym))
    theta_grads = [grads[p] for p in famus.meta_net.parameters()]
    assert max(float(g.abs().max()) for g in theta_grads) > 0
