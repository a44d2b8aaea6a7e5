"""FaMUS against MW-Net, the sampler losses, BatchNorm policies and that "off" layers cost nothing."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from methodzoo.famus import MLP, DeepCNN, FaMUS, MetaConfig, MetaWeightNet
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import seeded


def _batch(seed: int, n: int = 16, m: int = 8, size: int = 12) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 1, size, size, generator=g), torch.randint(0, 10, (n,), generator=g),
            torch.randn(m, 1, size, size, generator=g), torch.randint(0, 10, (m,), generator=g))


def _cnn(seed: int, depth: int = 4) -> nn.Module:
    with seeded(seed):
        return DeepCNN(10, 1, width=4, depth=depth)


def _meta_net_copy(method: MetaWeightNet) -> nn.Module:
    return copy.deepcopy(method.meta_net)


def test_every_gate_on_reproduces_mwnet_exactly() -> None:
    config = MetaConfig(lambda_g=0.0)
    model = _cnn(0)
    with seeded(1):
        mwnet = MetaWeightNet(copy.deepcopy(model), config)
    famus = FaMUS(copy.deepcopy(model), config, meta_net=_meta_net_copy(mwnet), generator=5)
    famus.forced_gates = [1] * len(famus.gated)
    for step in range(3):
        x, y, xm, ym = _batch(step)
        out_m = mwnet.train_step(x, y, xm, ym)
        out_f = famus.train_step(x, y, xm, ym)
        assert out_m["loss"] == out_f["loss"]
        for a, b in zip(mwnet.meta_net.parameters(), famus.meta_net.parameters(), strict=True):
            assert torch.equal(a, b)
        for a, b in zip(mwnet.model.parameters(), famus.model.parameters(), strict=True):
            assert torch.equal(a, b)
    assert out_f["active_layers"] == len(famus.gated)


def test_budget_loss_uses_every_gate_and_reaches_every_sampler() -> None:
    famus = FaMUS(_cnn(1), MetaConfig(budget=2, lambda_g=0.0, lambda_r=1.0), generator=0)
    famus.forced_gates = [1] * len(famus.gated)
    x, y, _, _ = _batch(1)
    state = famus.virtual_step(x, y)
    loss = famus.budget_loss(state.gates)
    assert float(loss.detach()) == (len(famus.gated) - 2) ** 2
    (grad,) = torch.autograd.grad(loss, [famus.samplers.weights[0]])  # (U, D, hidden): one slice per sampler
    assert all(float(grad[u].abs().max()) > 0 for u in range(len(famus.gated)))


def test_meta_loss_alone_gives_the_gates_no_gradient() -> None:
    """Eq. 9's straight-through form r·g + (1 − r)·sg(g) has value-zero derivative in r.

    So L_c trains θ only; the samplers learn from L_r (and from nothing else when λ₁ = 0).
    """
    famus = FaMUS(_cnn(2), MetaConfig(lambda_r=0.0, lambda_g=0.0), generator=0)
    x, y, xm, ym = _batch(2)
    state = famus.virtual_step(x, y)
    grads, _ = famus.meta_gradient(state, famus.meta_loss(state, xm, ym))
    sampler_grads = [grads[p] for p in famus.samplers.parameters()]
    theta_grads = [grads[p] for p in famus.meta_net.parameters()]
    assert max(float(g.abs().max()) for g in sampler_grads) < 1e-12
    if state.attached:
        assert max(float(g.abs().max()) for g in theta_grads) > 0


def test_budget_loss_drives_the_active_count_to_k() -> None:
    with seeded(3):
        model = MLP(16, 4, width=8, depth=9)  # 10 gated linear layers
        famus = FaMUS(model, MetaConfig(budget=1, lambda_g=0.0, lr=0.05), generator=3)
    g = torch.Generator().manual_seed(3)
    active = []
    for _ in range(80):
        x = torch.randn(16, 16, generator=g)
        y = torch.randint(0, 4, (16,), generator=g)
        active.append(famus.train_step(x, y, x[:8], y[:8])["active_layers"])
    assert abs(sum(active[:10]) / 10 - 1) > 1.0  # starts away from K ...
    assert abs(sum(active[-30:]) / 30 - 1) <= 1.0  # ... and ends within ±1 of it


class _CountOps(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        name = func.overloadpacket.__name__
        self.counts[name] = self.counts.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


def _meta_step_ops(gates: list[int]) -> dict[str, int]:
    with seeded(4):
        famus = FaMUS(_cnn(4, depth=6), MetaConfig(lambda_g=0.0), generator=0)
    famus.forced_gates = gates + [0] * (len(famus.gated) - len(gates))
    x, y, xm, ym = _batch(4)
    state = famus.virtual_step(x, y)
    with _CountOps() as counter:
        famus.meta_step(state, xm, ym)
    return counter.counts


def test_off_layers_are_skipped_by_the_meta_backward() -> None:
    off = _meta_step_ops([])
    assert off.get("convolution_backward", 0) == 0  # the meta forward only: no backward at all
    assert off.get("convolution", 0) == 6
    top = _meta_step_ops([0] * 6 + [1])  # only the final linear layer attached (6 conv+BN layers + linear)
    assert top.get("convolution_backward", 0) == 0
    first = _meta_step_ops([1])  # the first convolution attached: the whole chain is visited
    on = _meta_step_ops([1] * 7)
    assert first.get("convolution_backward", 0) > 0
    assert on.get("convolution_backward", 0) + on.get("convolution", 0) > first.get(
        "convolution_backward", 0) + first.get("convolution", 0)


@pytest.mark.parametrize("policy", ["discard", "update", "running"])
def test_batchnorm_policy_in_the_virtual_and_meta_forwards(policy: str) -> None:
    method = MetaWeightNet(_cnn(5), MetaConfig(bn_policy=policy))  # type: ignore[arg-type]
    bn = method.model.features[1]
    before = bn.running_mean.clone()
    x, y, xm, ym = _batch(5)
    state = method.virtual_step(x, y)
    method.meta_step(state, xm, ym)
    changed = not torch.equal(bn.running_mean, before)
    assert changed == (policy == "update")
    assert bn.training  # the policy never leaves the model in eval mode


def test_forced_gates_of_the_wrong_length_is_a_clear_error() -> None:
    famus = FaMUS(_cnn(6), generator=0)
    famus.forced_gates = [1]
    x, y, _, _ = _batch(6)
    with pytest.raises(ConfigError, match="forced_gates"):
        famus.virtual_step(x, y)


def test_candidate_layers_and_always_on_follow_the_code_variant() -> None:
    famus = FaMUS(_cnn(7, depth=4), MetaConfig(gate_granularity="parameter", candidate_layers=5, always_on_last=2),
                  generator=0)
    assert len(famus.always_on) == 2 and len(famus.gated) == 3
    assert len(famus.detached) == len(list(famus.model.parameters())) - 5
    famus.forced_gates = [0, 0, 0]
    x, y, _, _ = _batch(7)
    state = famus.virtual_step(x, y)
    assert state.attached == tuple(u.name for u in famus.always_on)
    assert state.w_hat["classifier.weight"].requires_grad
    assert not state.w_hat["features.0.weight"].requires_grad


def test_meta_methods_need_a_meta_batch() -> None:
    method = MetaWeightNet(_cnn(8))
    x, y, _, _ = _batch(8)
    with pytest.raises(ConfigError, match="meta batch"):
        method.iteration(x, y)


@pytest.mark.slow
def test_meta_step_time_ratio_falls_with_depth() -> None:
    """With K = 4 layers attached, FaMUS's share of MW-Net's meta-step time shrinks as depth grows."""
    import statistics

    def ratio(depth: int) -> float:
        x, y, xm, ym = _batch(9, n=32, m=32, size=28)
        times = {}
        for name in ("mwnet", "famus"):
            with seeded(9):
                model = DeepCNN(10, 1, width=8, depth=depth)
                method = MetaWeightNet(model) if name == "mwnet" else FaMUS(model, MetaConfig(lambda_g=0.0))
            if isinstance(method, FaMUS):
                method.forced_gates = [0] * (len(method.gated) - 4) + [1] * 4
            method.timing = True
            samples = []
            for i in range(8):
                method.train_step(x, y, xm, ym)
                if i >= 2:
                    samples.append(method.last_timings["meta_ms"])
            times[name] = statistics.median(samples)
        return times["famus"] / times["mwnet"]

    assert ratio(24) < ratio(4)


def _two_call_meta_gradient(famus: FaMUS, state, meta_loss: torch.Tensor) -> dict[nn.Parameter, torch.Tensor]:  # type: ignore[no-untyped-def]
    """The earlier formulation: ∇(L_c + λ₁L_r) with the graph retained, then ∇_θ(λ₂L_g) in a second call."""
    cfg = famus.config
    theta, eta = list(famus.meta_net.parameters()), list(famus.samplers.parameters())
    last = list(famus.units[-1].parameters)
    inputs = theta + eta + [state.w_hat[n] for n in last]
    first = meta_loss + cfg.lambda_r * famus.budget_loss(state.gates)
    grads = torch.autograd.grad(first, inputs, retain_graph=True, allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, inputs, strict=True)]
    val = dict(zip(last, grads[len(theta) + len(eta):], strict=True))
    extra = torch.autograd.grad(cfg.lambda_g * famus.gradient_matching_loss(state, val), theta)
    out = dict(zip(theta + eta, grads[: len(theta) + len(eta)], strict=True))
    for p, g in zip(theta, extra, strict=True):
        out[p] = out[p] + g
    return out


@pytest.mark.parametrize("lg_form", ["paper", "code"])
def test_single_call_meta_gradient_equals_the_two_call_formulation(lg_form: str) -> None:
    config = MetaConfig(lambda_r=0.1, lambda_g=10.0, lg_form=lg_form)  # type: ignore[arg-type]
    x, y, xm, ym = _batch(10)
    x, xm = x.double(), xm.double()
    famus = FaMUS(_cnn(10).double(), config, generator=3)
    famus.meta_net.double()
    famus.samplers.double()
    famus.forced_gates = [0, 1, 0, 1, 0]  # a middle layer on, the last (L_g's) layer off
    gumbel_state = famus.generator.get_state()
    state = famus.virtual_step(x, y)
    single, _ = famus.meta_gradient(state, famus.meta_loss(state, xm, ym))
    famus.generator.set_state(gumbel_state)  # nothing was updated: the same step, same Gumbel noise
    state = famus.virtual_step(x, y)
    two = _two_call_meta_gradient(famus, state, famus.meta_loss(state, xm, ym))
    assert max(float(g.abs().max()) for g in two.values()) > 0
    for p in two:
        assert torch.allclose(single[p], two[p], rtol=1e-10, atol=1e-14)


def test_meta_step_makes_one_full_meta_backward() -> None:
    """The L_g term adds no second pass over the attached layers: with one conv layer attached
    (and L_g on), the convolutions are differentiated exactly as often as with L_g off."""
    counts = []
    for lambda_g in (0.0, 0.1):
        with seeded(4):
            famus = FaMUS(_cnn(4, depth=6), MetaConfig(lambda_g=lambda_g), generator=0)
        famus.forced_gates = [0, 0, 1, 0, 0, 0, 1]
        x, y, xm, ym = _batch(4)
        state = famus.virtual_step(x, y)
        with _CountOps() as counter:
            famus.meta_step(state, xm, ym)
        counts.append(counter.counts.get("convolution_backward", 0))
    assert counts[0] > 0 and counts[0] == counts[1]


def test_random_gates_attach_exactly_k_layers_at_varying_places() -> None:
    famus = FaMUS(_cnn(11, depth=6), MetaConfig(gate_policy="random", budget=2), generator=11)
    assert famus.sampler_optimizer is None and not list(famus.samplers.parameters())
    chosen = set()
    lowest = []
    for step in range(12):
        x, y, xm, ym = _batch(step)
        out = famus.train_step(x, y, xm, ym)
        assert out["active_layers"] == 2.0
        gates = famus.last_gates
        assert gates is not None and sorted(set(gates.tolist())) == [0.0, 1.0]
        chosen.add(tuple(gates.tolist()))
        lowest.append(out["lowest_attached_layer"])
        assert out["lowest_attached_layer"] == float(gates.tolist().index(1.0))
    assert len(chosen) > 3  # the placement changes from step to step
    assert min(lowest) < max(lowest)


def test_lowest_attached_layer_is_reported_and_none_attached_is_the_layer_count() -> None:
    famus = FaMUS(_cnn(12, depth=4), MetaConfig(lambda_g=0.0), generator=0)
    x, y, _, _ = _batch(12)
    famus.forced_gates = [0, 0, 1, 0, 1]
    assert famus.virtual_step(x, y).lowest_attached == 2
    famus.forced_gates = [0] * 5
    assert famus.virtual_step(x, y).lowest_attached == 5
