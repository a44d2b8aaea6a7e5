"""Masks: magnitude pruning against torch.nn.utils.prune, N:M patterns, and masks surviving
deepcopy, state dicts, safetensors weights, the EMA and a copy pruned further."""

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from methodzoo.shared import compress as C
from methodzoo.shared.compress.masks import keep_largest, keep_n_of_m
from methodzoo.shared.errors import UserError
from methodzoo.shared.testing import TinyConvNet
from methodzoo.shared.train import EMA, load_weights, save_weights


def _tie_free(model: nn.Module, seed: int = 0) -> nn.Module:
    """Weights whose magnitudes are all distinct (ties make the masks of two pruners differ legitimately)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    return model


def _weights(model: nn.Module) -> list[tuple[nn.Module, str]]:
    return [(m, "weight") for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


@pytest.mark.parametrize("sparsity", [0.3, 0.7, 0.95])
def test_global_magnitude_masks_equal_torch_global_unstructured(sparsity: float) -> None:
    ours = _tie_free(TinyConvNet())
    peer = copy.deepcopy(ours)
    C.prune_(ours, C.MagnitudePruning(sparsity=sparsity, scope="global"))
    torch_prune.global_unstructured(_weights(peer), pruning_method=torch_prune.L1Unstructured, amount=sparsity)
    for (mine, _), (theirs, _) in zip(_weights(ours), _weights(peer), strict=True):
        assert torch.equal(C.masked_tensors(mine)["weight"], theirs.weight_mask.bool())
    x = torch.randn(4, 1, 12, 12)
    ours.eval()
    peer.eval()
    torch.testing.assert_close(ours(x), peer(x))


def test_layer_magnitude_masks_equal_torch_l1_unstructured() -> None:
    ours = _tie_free(TinyConvNet(), seed=1)
    peer = copy.deepcopy(ours)
    C.prune_(ours, C.MagnitudePruning(sparsity=0.6, scope="layer"))
    for module, name in _weights(peer):
        torch_prune.l1_unstructured(module, name, amount=0.6)
    for (mine, _), (theirs, _) in zip(_weights(ours), _weights(peer), strict=True):
        assert torch.equal(C.masked_tensors(mine)["weight"], theirs.weight_mask.bool())


def test_pruning_again_keeps_earlier_zeros_and_reaches_the_new_sparsity() -> None:
    model = _tie_free(TinyConvNet(), seed=2)
    C.prune_(model, C.MagnitudePruning(0.5))
    first = {k: v.clone() for k, v in C.masked_tensors(model).items()}
    C.prune_(model, C.MagnitudePruning(0.8))
    second = C.masked_tensors(model)
    assert all(not (second[k] & ~first[k]).any() for k in first)
    assert C.sparsity(model) == pytest.approx(0.8, abs=1e-3)


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.5, 0.9, 0.97, 1.0])
def test_keep_largest_equals_the_sorting_rule_on_tie_free_scores(sparsity: float) -> None:
    scores = torch.randn(48, 37, generator=torch.Generator().manual_seed(3))
    pruned = round(sparsity * scores.numel())
    expected = torch.ones(scores.numel(), dtype=torch.bool)
    expected[torch.argsort(scores.reshape(-1))[:pruned]] = False
    assert torch.equal(keep_largest(scores, sparsity), expected.view_as(scores))


def test_keep_largest_prunes_exactly_the_count_through_ties() -> None:
    scores = torch.tensor([[3.0, 1.0, 1.0, 2.0], [1.0, 1.0, 5.0, 0.5]])  # four ties at the cut
    for sparsity, pruned in ((0.25, 2), (0.375, 3), (0.5, 4), (0.625, 5)):
        keep = keep_largest(scores, sparsity)
        assert int((~keep).sum()) == pruned
        assert scores[~keep].max() <= scores[keep].min()  # nothing kept is smaller than anything pruned
    assert torch.equal(keep_largest(torch.ones(10), 0.3), torch.tensor([False] * 3 + [True] * 7))
    half = keep_largest(torch.randn(64, dtype=torch.float16), 0.5)  # half precision scores work too
    assert int(half.sum()) == 32


def test_n_of_m_pattern_keeps_exactly_n_largest_in_every_group() -> None:
    scores = torch.randn(6, 16, generator=torch.Generator().manual_seed(3))
    keep = keep_n_of_m(scores, 2, 4)
    groups = keep.view(6, 4, 4)
    assert torch.equal(groups.sum(-1), torch.full((6, 4), 2))
    kept_min = torch.where(groups, scores.view(6, 4, 4), torch.inf).amin(-1)
    dropped_max = torch.where(~groups, scores.view(6, 4, 4), -torch.inf).amax(-1)
    assert bool((kept_min > dropped_max).all())


def test_magnitude_two_of_four_leaves_indivisible_layers_dense_with_a_warning() -> None:
    model = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    with pytest.warns(UserWarning, match="left dense"):
        C.prune_(model, C.MagnitudePruning(pattern=(2, 4), scope="layer"))
    assert C.masked_tensors(model)["0.weight"].view(6, 2, 4).sum(-1).eq(2).all()
    assert "2.weight" not in C.masked_tensors(model)


def test_masked_weights_stay_zero_through_training_steps() -> None:
    model = TinyConvNet()
    C.prune_(model, C.MagnitudePruning(0.8))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 1, 12, 12), torch.randint(0, 5, (8,))
    for _ in range(3):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    for name, mask in C.masked_tensors(model).items():
        module_name, _, tensor = name.rpartition(".")
        assert bool((getattr(model.get_submodule(module_name), tensor)[~mask] == 0).all())


def test_masks_survive_deepcopy_state_dict_and_safetensors(tmp_path) -> None:
    model = TinyConvNet().eval()
    C.prune_(model, C.MagnitudePruning(0.7))
    x = torch.randn(3, 1, 12, 12)
    expected = model(x)
    copied = copy.deepcopy(model)
    torch.testing.assert_close(copied(x), expected)
    assert all(v.dtype in (torch.float32, torch.bool, torch.int64) for v in model.state_dict().values())
    save_weights(tmp_path / "pruned.safetensors", model)
    fresh = TinyConvNet().eval()
    with pytest.raises(UserError):
        load_weights(tmp_path / "pruned.safetensors", fresh)  # a dense model has no mask entries
    C.restore_masks_(fresh, model.state_dict())
    load_weights(tmp_path / "pruned.safetensors", fresh)
    torch.testing.assert_close(fresh(x), expected)
    assert C.masked_tensors(fresh).keys() == C.masked_tensors(model).keys()


def test_pruning_a_deep_copy_leaves_the_original_alone() -> None:
    # torch's parametrize shares one generated class between a module and its deepcopy.
    model = TinyConvNet().eval()
    C.prune_(model, C.MagnitudePruning(0.5))
    x = torch.randn(2, 1, 12, 12)
    before = model(x)
    copied = copy.deepcopy(model)
    C.prune_(copied, C.StructuredPruning(0.5, unit="filter"))
    C.bake_all_(copied)
    torch.testing.assert_close(model(x), before)
    assert "conv1.bias" not in C.masked_tensors(model)


def test_ema_of_a_pruned_model_keeps_the_mask() -> None:
    model = TinyConvNet()
    C.prune_(model, C.MagnitudePruning(0.6))
    ema = EMA(model, decay=0.5)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
    ema.update(model)
    for name, mask in C.masked_tensors(ema.model).items():
        module_name, _, tensor = name.rpartition(".")
        assert bool((getattr(ema.model.get_submodule(module_name), tensor)[~mask] == 0).all())
    assert C.masked_tensors(ema.model).keys() == C.masked_tensors(model).keys()


def test_bad_configs_and_empty_selections_are_clear_errors() -> None:
    with pytest.raises(UserError, match="sparsity"):
        C.MagnitudePruning(sparsity=1.0)
    with pytest.raises(UserError, match="pattern"):
        C.MagnitudePruning(pattern=(4, 2))
    with pytest.raises(UserError, match="kind"):
        C.MagnitudePruning(kinds=("embedding",))
    with pytest.raises(UserError, match="no linear"):
        C.prune_(TinyConvNet(), C.MagnitudePruning(include=("nothing*",)))
    with pytest.raises(UserError, match="prune_ does not know"):
        C.prune_(TinyConvNet(), C.FakeQuant())
