"""Wanda and SparseGPT: the masks the papers define, N:M patterns, and SparseGPT's OBS updates
reconstructing the layer's outputs better than pruning without updates."""

import pytest
import torch
from torch import nn

from methodzoo.shared import compress as C
from methodzoo.shared.compress.masks import effective_mask
from methodzoo.shared.compress.oneshot import layer_inputs, sparsegpt_prune
from methodzoo.shared.errors import UserError


def _correlated_inputs(samples: int, features: int, generator: torch.Generator) -> torch.Tensor:
    mixing = torch.randn(features, features, generator=generator)
    scales = torch.logspace(-1, 1, features)
    return (torch.randn(samples, features, generator=generator) * scales) @ mixing


def test_wanda_mask_is_per_row_top_of_weight_times_input_norm() -> None:
    generator = torch.Generator().manual_seed(0)
    layer = nn.Linear(16, 6)
    x = _correlated_inputs(64, 16, generator)
    model = nn.Sequential(layer)
    C.prune_(model, C.Wanda(sparsity=0.5), calibration=[x[:32], x[32:]])
    scores = layer.weight.detach().abs() * x.norm(dim=0)
    expected = scores >= scores.sort(dim=1).values[:, 8:9]
    assert torch.equal(C.masked_tensors(model)["0.weight"], expected)


def test_wanda_two_of_four_on_a_convolution_uses_unfolded_patches() -> None:
    generator = torch.Generator().manual_seed(1)
    model = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 5 * 5, 4))
    batches = [torch.randn(4, 4, 5, 5, generator=generator) for _ in range(2)]
    C.prune_(model, C.Wanda(pattern=(2, 4)), calibration=batches)
    for mask in C.masked_tensors(model).values():
        assert torch.equal(mask.reshape(mask.shape[0], -1, 4).sum(-1), torch.full((mask.shape[0], mask[0].numel() // 4), 2))
    patches = layer_inputs(model[0], batches[0])
    assert patches.shape == (4 * 25, 4 * 9)


def _output_error(weight: torch.Tensor, pruned: torch.Tensor, x: torch.Tensor) -> float:
    return float((x @ (weight - pruned).T).pow(2).sum())


@pytest.mark.parametrize("pattern", [None, (2, 4)])
def test_sparsegpt_reconstructs_outputs_better_than_masking_alone(pattern: tuple[int, int] | None) -> None:
    generator = torch.Generator().manual_seed(2)
    weight = torch.randn(12, 32, generator=generator)
    x = _correlated_inputs(256, 32, generator)
    hessian = 2 * x.T.double() @ x.double() / x.shape[0]
    updated, keep = sparsegpt_prune(weight, hessian, 0.5, pattern, block_size=8)
    assert float((~keep).float().mean()) == pytest.approx(0.5)
    assert bool((updated[~keep] == 0).all())
    masked_only = weight * keep  # the same mask without the OBS updates
    magnitude = weight * (weight.abs() >= weight.abs().median(dim=1, keepdim=True).values)
    error = _output_error(weight, updated, x)
    assert error < 0.7 * _output_error(weight, masked_only, x)
    assert error < 0.7 * _output_error(weight, magnitude, x)
    if pattern is not None:
        assert torch.equal(keep.view(12, 8, 4).sum(-1), torch.full((12, 8), 2))


def test_sparsegpt_at_zero_sparsity_changes_nothing() -> None:
    generator = torch.Generator().manual_seed(3)
    weight = torch.randn(5, 8, generator=generator)
    x = torch.randn(40, 8, generator=generator)
    updated, keep = sparsegpt_prune(weight, 2 * x.T.double() @ x.double() / 40, 0.0, None)
    assert bool(keep.all())
    torch.testing.assert_close(updated, weight)


def test_sparsegpt_through_prune_updates_weights_and_masks_sequentially() -> None:
    generator = torch.Generator().manual_seed(4)
    model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 8))
    batches = [_correlated_inputs(32, 16, generator) for _ in range(3)]
    dense_out = torch.cat([model(b) for b in batches]).detach()
    wanda = C.prune_(__import__("copy").deepcopy(model), C.Wanda(sparsity=0.5), calibration=batches)
    C.prune_(model, C.SparseGPT(sparsity=0.5, block_size=4), calibration=batches)
    assert C.sparsity(model) == pytest.approx(0.5)
    with torch.no_grad():
        error_sparsegpt = (torch.cat([model(b) for b in batches]) - dense_out).pow(2).mean()
        error_wanda = (torch.cat([wanda(b) for b in batches]) - dense_out).pow(2).mean()
    assert error_sparsegpt < error_wanda


def test_one_shot_pruners_need_calibration_and_consistent_settings() -> None:
    with pytest.raises(UserError, match="calibration"):
        C.prune_(nn.Sequential(nn.Linear(4, 4)), C.Wanda())
    with pytest.raises(UserError, match="not both"):
        C.SparseGPT(sparsity=0.5, pattern=(2, 4))
    with pytest.raises(UserError, match="multiple"):
        C.SparseGPT(pattern=(2, 4), block_size=6)


class _SharedLayer(nn.Module):
    """One linear layer applied twice per forward pass (shared weights), between two others."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.shared, self.last = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 4)
        self.calls = {"last": 0}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.shared(torch.relu(self.shared(torch.relu(self.first(x)))))
        self.calls["last"] += 1
        return self.last(x)


def _sequential_reference(model: nn.Module, batches: list[torch.Tensor], config: C.Wanda) -> dict[str, torch.Tensor]:
    """Sequential Wanda done by hand with whole forward passes: each layer's Σx² from the model
    with the earlier layers already pruned."""
    from methodzoo.shared.compress.masks import keep_largest_per_row

    masks = {}
    for name in ("first", "shared", "last"):
        layer = getattr(model, name)
        squares = torch.zeros(layer.in_features)

        def hook(module: nn.Module, args: tuple[torch.Tensor, ...], squares: torch.Tensor = squares) -> None:
            squares.add_(args[0].pow(2).sum(0))

        handle = layer.register_forward_pre_hook(hook)
        with torch.no_grad():
            for batch in batches:
                model(batch)
        handle.remove()
        keep = keep_largest_per_row(layer.weight.abs() * squares.sqrt(), config.sparsity)
        layer.weight.data.mul_(keep)
        masks[name] = keep
    return masks


def test_sequential_calibration_stops_each_pass_at_its_layer_but_not_at_a_shared_one() -> None:
    generator = torch.Generator().manual_seed(5)
    model = _SharedLayer()
    batches = [_correlated_inputs(16, 8, generator) for _ in range(2)]
    reference = _sequential_reference(__import__("copy").deepcopy(model), batches, C.Wanda(sparsity=0.5))
    model.calls["last"] = 0
    C.prune_(model, C.Wanda(sparsity=0.5), calibration=batches)
    for name, keep in reference.items():
        assert torch.equal(effective_mask(getattr(model, name), "weight").bool(), keep.bool()), name
    # One pass finds the order, then per layer: "first" stops early (the last layer never runs),
    # "shared" is called twice per pass so its passes run to the end, "last" runs its passes.
    assert model.calls["last"] == 1 + 0 + len(batches) + len(batches)
