"""What a gated "layer" is: a weight layer with its BatchNorm (paper), every module, or a tensor."""

from __future__ import annotations

import pytest
from torch import nn

from methodzoo.famus import DeepCNN, ResNet32, layer_units
from methodzoo.shared.errors import ConfigError


def test_weight_layer_units_pair_each_convolution_with_its_batchnorm() -> None:
    units = layer_units(DeepCNN(10, 1, width=4, depth=10))
    assert len(units) == 11  # 10 conv+BN layers + the linear classifier
    for unit in units[:-1]:
        index = int(unit.name.split(".")[1])
        assert unit.parameters == (f"features.{index}.weight", f"features.{index + 1}.weight",
                                   f"features.{index + 1}.bias")
    assert units[-1].parameters == ("classifier.weight", "classifier.bias")


def test_module_units_count_each_batchnorm_as_its_own_layer() -> None:
    model = DeepCNN(10, 1, width=4, depth=10)
    assert len(layer_units(model, "module")) == 21
    assert len(layer_units(model, "parameter")) == len(list(model.parameters()))


def test_weight_layer_units_of_resnet32_keep_shortcut_batchnorms_with_their_convolution() -> None:
    units = layer_units(ResNet32(10, 3, width=4))
    assert len(units) == 1 + 30 + 2 + 1  # stem, 15 blocks × 2 convolutions, 2 projection shortcuts, linear
    shortcut = [u for u in units if "shortcut" in u.name]
    assert [u.parameters[1:] for u in shortcut] == [(f"{u.name[:-1]}1.weight", f"{u.name[:-1]}1.bias")
                                                    for u in shortcut]
    every = [name for u in units for name in u.parameters]
    assert every == [name for name, _ in ResNet32(10, 3, width=4).named_parameters()]


def test_leading_normalisation_forms_its_own_layer_and_bad_granularity_is_an_error() -> None:
    model = nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    units = layer_units(model)
    assert [u.parameters for u in units] == [("0.weight", "0.bias"), ("1.weight", "1.bias", "2.weight", "2.bias"),
                                             ("3.weight", "3.bias")]
    with pytest.raises(ConfigError, match="granularity"):
        layer_units(model, "block")  # type: ignore[arg-type]
