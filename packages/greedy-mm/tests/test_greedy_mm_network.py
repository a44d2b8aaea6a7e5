"""The two-branch network: any branch pair, fusion points, shapes, the loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.greedy_mm import (
    Branch,
    ClassifierHead,
    ModelConfig,
    MultimodalNetwork,
    build_network,
    conv_branch,
    resnet18_branch,
    two_head_loss,
)
from methodzoo.shared.errors import ConfigError


@pytest.mark.parametrize("architecture, shapes", [
    ("cnn1d", ((2, 3, 20), (2, 3, 20))),
    ("cnn2d", ((2, 1, 8, 8), (2, 3, 8, 8))),
    ("cnn3d", ((2, 3, 4, 8, 8), (2, 1, 4, 8, 8))),
    ("auto", ((2, 1, 8, 8), (2, 3, 8, 8))),
])
def test_architectures_give_two_heads_and_their_mean(architecture: str, shapes: tuple) -> None:
    torch.manual_seed(0)
    inputs = tuple(torch.randn(*s) for s in shapes)
    model = build_network(ModelConfig(architecture=architecture, width=4), inputs, num_classes=5)  # type: ignore[arg-type]
    output = model(*inputs)
    assert output.logits.shape == (2, 5)
    torch.testing.assert_close(output.logits, (output.branch_logits[0] + output.branch_logits[1]) / 2)
    assert sorted(model.fusions) == ["1", "2"]
    # channel counts measured from the inputs: block k has width·2^k channels
    assert model.fusions["1"].channels == (8, 8) and model.fusions["2"].channels == (16, 16)


def test_resnet18_paper_configuration_fuses_after_layers_2_3_4() -> None:
    torch.manual_seed(0)
    inputs = (torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32))
    model = build_network(ModelConfig.resnet18_paper(), inputs, num_classes=40)
    assert [m.channels for m in model.fusions.values()] == [(128, 128), (256, 256), (512, 512)]
    assert model(*inputs).logits.shape == (2, 40)
    assert resnet18_branch(3, 10).head.fc.in_features == 512


def test_any_user_branches_with_unequal_widths_and_explicit_channels() -> None:
    branch0 = Branch([nn.Linear(4, 6), nn.Sequential(nn.ReLU(), nn.Linear(6, 5))], nn.Linear(5, 3))
    branch1 = Branch([nn.Conv1d(2, 7, 3), nn.Conv1d(7, 9, 3)], ClassifierHead(9, 3))
    model = MultimodalNetwork(branch0, branch1, fusion_after=(0, 1), channels=[(6, 7), (5, 9)])
    output = model(torch.randn(4, 4), torch.randn(4, 2, 10))
    assert output.logits.shape == (4, 3)


def test_loss_is_the_sum_of_the_two_cross_entropies() -> None:
    torch.manual_seed(1)
    y0, y1, labels = torch.randn(6, 4), torch.randn(6, 4), torch.randint(0, 4, (6,))
    loss = two_head_loss((y0, y1), labels)
    torch.testing.assert_close(loss, F.cross_entropy(y0, labels) + F.cross_entropy(y1, labels))
    torch.testing.assert_close(two_head_loss((y0, y1), labels, heads=(1,)), F.cross_entropy(y1, labels))


def test_bad_structures_are_clear_errors() -> None:
    a, b = conv_branch(1, 2, width=2, stages=3), conv_branch(1, 2, width=2, stages=2)
    with pytest.raises(ConfigError, match="same number of stages"):
        MultimodalNetwork(a, b, fusion_after=(0,), channels=[(2, 2)])
    with pytest.raises(ConfigError, match="fusion_after"):
        MultimodalNetwork(a, conv_branch(1, 2, width=2, stages=3), fusion_after=(3,), channels=[(2, 2)])
    with pytest.raises(ConfigError, match="example_inputs"):
        MultimodalNetwork(a, conv_branch(1, 2, width=2, stages=3), fusion_after=(0,))
    with pytest.raises(ConfigError, match="fusion_after"):
        ModelConfig(fusion_after=(5,))
    with pytest.raises(ConfigError, match="cnn1d branches take 3-D"):
        build_network(ModelConfig(architecture="cnn1d"), (torch.randn(2, 1, 8, 8),) * 2, 3)
