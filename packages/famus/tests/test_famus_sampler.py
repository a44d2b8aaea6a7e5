"""The hard straight-through Gumbel gate and the sampler input (Eq. 8)."""

from __future__ import annotations

import pytest
import torch

from methodzoo.famus import GradientSampler, LayerSamplers, gumbel_gate, pooled_gradient
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import seeded
from methodzoo.shared.testing import binomial_band


def test_gate_values_are_exactly_zero_or_one_and_the_gradient_reaches_the_logits() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(500, 2, generator=generator, requires_grad=True)
    gates = gumbel_gate(logits, tau=5.0, generator=generator)
    assert set(gates.detach().unique().tolist()) == {0.0, 1.0}
    assert torch.equal(gates.detach(), gates.detach().round())
    (gates * torch.arange(1.0, 501.0)).sum().backward()
    assert logits.grad is not None
    assert float(logits.grad.abs().min()) > 0  # every logit gets a straight-through gradient
    assert torch.allclose(logits.grad[:, 0], -logits.grad[:, 1])  # softmax over two logits


def test_gate_frequency_follows_the_gumbel_max_law() -> None:
    """P(r = 1) = softmax(logits)[1] whatever the temperature (the argmax ignores τ)."""
    generator = torch.Generator().manual_seed(1)
    trials = 4000
    logits = torch.tensor([[0.3, -0.5]]).expand(trials, 2)
    p_on = float(torch.softmax(logits[0], 0)[1])
    for tau in (0.5, 5.0):
        on = int(gumbel_gate(logits, tau=tau, generator=generator).sum())
        low, high = binomial_band(trials, p_on, 0.999)
        assert low <= on <= high


def test_gate_rejects_bad_input() -> None:
    with pytest.raises(ConfigError, match="2 entries"):
        gumbel_gate(torch.zeros(3), tau=1.0)
    with pytest.raises(ConfigError, match="temperature"):
        gumbel_gate(torch.zeros(2), tau=0.0)


def test_pooled_gradient_averages_all_but_the_output_dimension() -> None:
    grad = torch.arange(24.0).reshape(2, 3, 2, 2)  # a conv weight gradient (D_out=2, D_in=3, 2, 2)
    assert torch.equal(pooled_gradient(grad), torch.tensor([5.5, 17.5]))
    assert torch.equal(pooled_gradient(grad, "sum"), torch.tensor([66.0, 210.0]))
    bias = torch.tensor([1.0, -2.0])
    assert torch.equal(pooled_gradient(bias), bias)


def test_sampler_shapes() -> None:
    sampler = GradientSampler(7, hidden=16, depth=3)
    assert sampler(torch.randn(7)).shape == (2,)
    assert len([m for m in sampler.modules() if isinstance(m, torch.nn.Linear)]) == 3
    with pytest.raises(ConfigError, match="depth"):
        GradientSampler(7, depth=4)


def test_batched_samplers_equal_separate_samplers_and_keep_padding_at_zero() -> None:
    dims = [3, 7, 5]
    with seeded(0):
        batched = LayerSamplers(dims, hidden=6, depth=3)
        singles = [GradientSampler(d, hidden=6, depth=3) for d in dims]
        inputs = [torch.randn(d) for d in dims]
    with torch.no_grad():
        for u, (d, single) in enumerate(zip(dims, singles, strict=True)):
            linears = [m for m in single.net if isinstance(m, torch.nn.Linear)]
            preludes = [m for m in single.net if isinstance(m, torch.nn.PReLU)]
            for k, linear in enumerate(linears):
                weight = batched.weights[k][u]
                linear.weight.copy_((weight[:d] if k == 0 else weight).T)
                linear.bias.copy_(batched.biases[k][u])
            for k, prelu in enumerate(preludes):
                prelu.weight.fill_(float(batched.prelu[k, u]))
    padded = torch.nn.utils.rnn.pad_sequence(inputs, batch_first=True)  # (3, 7)
    logits = batched(padded)
    for u, single in enumerate(singles):
        assert torch.allclose(logits[u], single(inputs[u]), atol=1e-6)
    logits.sum().backward()
    assert float(batched.weights[0].grad[0, 3:].abs().max()) == 0.0  # padded inputs: no gradient
    assert float(batched.weights[0].detach()[0, 3:].abs().max()) == 0.0
