"""MMTM: isolation in re-balancing steps, invariance under squeeze substitution, running averages
per modality (the released code's bug), gates."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from methodzoo.greedy_mm import (
    MMTM,
    MultimodalNetwork,
    conv_branch,
    rebalancing,
    squeeze_statistics,
)
from methodzoo.greedy_mm.mmtm import substituted_squeeze
from methodzoo.shared.errors import ConfigError


def _network(gate: str = "2sigmoid") -> MultimodalNetwork:
    torch.manual_seed(0)
    # unequal modalities: an image branch (1 channel) against a second image branch (3 channels)
    branch0 = conv_branch(1, 4, dims=2, width=4, stages=3)
    branch1 = conv_branch(3, 4, dims=2, width=6, stages=3)
    return MultimodalNetwork(branch0, branch1, fusion_after=(0, 1, 2), gate=gate,  # type: ignore[arg-type]
                             example_inputs=(torch.randn(2, 1, 8, 8), torch.randn(2, 3, 8, 8)))


def _inputs(seed: int, batch: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 1, 8, 8, generator=generator), torch.randn(batch, 3, 8, 8, generator=generator)


def _warm_up(model: MultimodalNetwork) -> None:
    model.train()
    for seed in range(3):
        model(*_inputs(seed))


@pytest.mark.parametrize("cared", [0, 1])
def test_rebalancing_cuts_the_cross_modal_path_to_the_cared_branch(cared: int) -> None:
    model = _network()
    _warm_up(model)
    x0, x1 = (x.requires_grad_() for x in _inputs(10))
    inputs = (x0, x1)
    other = 1 - cared
    with rebalancing(model, cared):
        output = model(x0, x1)
    grads = torch.autograd.grad(output.branch_logits[cared].sum(), inputs[other], allow_unused=True)[0]
    assert grads is None or torch.count_nonzero(grads) == 0
    # the other branch still depends on both inputs (through its own fusion gate)
    mixed = torch.autograd.grad(output.branch_logits[other].sum(), inputs, retain_graph=False)
    assert all(torch.count_nonzero(g) > 0 for g in mixed)
    # and in a regular step the cared-for head does depend on the other modality
    regular = model(x0, x1)
    assert torch.count_nonzero(torch.autograd.grad(regular.branch_logits[cared].sum(), inputs[other])[0]) > 0


def test_rebalancing_before_any_training_step_is_an_error() -> None:
    model = _network().eval()  # a training forward would fold its own gates in first
    with rebalancing(model, 0), pytest.raises(RuntimeError, match="running gate"):
        model(*_inputs(0))


def test_train_mean_substitution_makes_y0_blind_to_m1() -> None:
    model = _network()
    _warm_up(model)
    train = [(*_inputs(seed), torch.zeros(5, dtype=torch.long)) for seed in range(4)]
    stats = squeeze_statistics(model, train)
    assert stats.count == 20 and len(stats.means) == 3
    model.eval()
    x0, x1 = _inputs(20)
    changed = x1 * 5.0 + torch.randn_like(x1) * 3.0
    with torch.no_grad(), substituted_squeeze(model, stats.means):
        a, b = model(x0, x1), model(x0, changed)
    torch.testing.assert_close(a.branch_logits[0], b.branch_logits[0], rtol=0, atol=0)
    assert not torch.allclose(a.branch_logits[1], b.branch_logits[1])
    with torch.no_grad():  # without the substitution, ŷ0 does see m1
        assert not torch.allclose(model(x0, x1).branch_logits[0], model(x0, changed).branch_logits[0])


def _hand_gates(module: MMTM, f0: torch.Tensor, f1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    s0, s1 = f0.mean(dim=(2, 3)), f1.mean(dim=2)
    z = F.relu(F.linear(torch.cat([s0, s1], 1), module.fc_squeeze.weight, module.fc_squeeze.bias))
    g0 = 2 * torch.sigmoid(F.linear(z, module.fc_excite[0].weight, module.fc_excite[0].bias))
    g1 = 2 * torch.sigmoid(F.linear(z, module.fc_excite[1].weight, module.fc_excite[1].bias))
    return g0, g1


def test_each_running_average_is_the_mean_of_its_own_modality_gates() -> None:
    torch.manual_seed(1)
    module = MMTM(3, 5)  # unequal dimensions: the released code allocated both with modality 0's
    module.train()
    batch_means: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])
    generator = torch.Generator().manual_seed(2)
    for step in range(4):
        f0 = torch.randn(2 + step, 3, 4, 4, generator=generator)  # 2-D maps
        f1 = torch.randn(2 + step, 5, 7, generator=generator) + step  # 1-D maps
        g0, g1 = _hand_gates(module, f0, f1)
        batch_means[0].append(g0.mean(0))
        batch_means[1].append(g1.mean(0))
        out0, out1 = module(f0, f1)
        torch.testing.assert_close(out0, f0 * g0[:, :, None, None])
        torch.testing.assert_close(out1, f1 * g1[:, :, None])
    assert module.running_gate0.shape == (3,) and module.running_gate1.shape == (5,)
    torch.testing.assert_close(module.running_gate0, torch.stack(batch_means[0]).mean(0))
    torch.testing.assert_close(module.running_gate1, torch.stack(batch_means[1]).mean(0))
    assert int(module.running_count) == 4
    module.eval()  # evaluation forwards leave the averages alone
    module(torch.randn(2, 3, 4, 4), torch.randn(2, 5, 7))
    assert int(module.running_count) == 4


def test_rebalanced_gate_is_the_running_average() -> None:
    torch.manual_seed(3)
    module = MMTM(3, 5)
    module.train()
    module(torch.randn(4, 3, 2, 2), torch.randn(4, 5, 2, 2))
    f0, f1 = torch.randn(6, 3, 2, 2), torch.randn(6, 5, 2, 2)
    module.cared_modality = 1
    out0, out1 = module(f0, f1)
    average = module.running_gate1.clone()
    torch.testing.assert_close(out1, f1 * average[None, :, None, None])
    assert not torch.allclose(out0, f0 * module.running_gate0[None, :, None, None])


def test_sigmoid_gate_is_half_of_the_2sigmoid_gate() -> None:
    torch.manual_seed(4)
    double = MMTM(2, 2, gate="2sigmoid")
    single = MMTM(2, 2, gate="sigmoid")
    single.load_state_dict(double.state_dict())
    f0, f1 = torch.randn(3, 2, 4), torch.randn(3, 2, 4)
    torch.testing.assert_close(double(f0, f1)[0], 2 * single(f0, f1)[0])


def test_squeeze_layer_size_and_bad_arguments() -> None:
    assert MMTM(128, 128).fc_squeeze.out_features == 128  # 2 (C0 + C1) / 4, as the released code
    with pytest.raises(ConfigError):
        MMTM(0, 4)
    with pytest.raises(ConfigError):
        MMTM(4, 4, gate="tanh")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="channels"):
        MMTM(4, 4)(torch.randn(2, 3, 5), torch.randn(2, 4, 5))
