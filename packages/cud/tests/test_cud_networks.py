"""Networks: head shapes, extra-head initialisation, prior ShakeDrop, paper configurations."""

from __future__ import annotations

import pytest
import torch

from methodzoo.cud import CouplingEncoder, NetworkConfig, UNet, VelocityMLP, build_model
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.modules import count_parameters
from methodzoo.shared.seed import seeded


def _build(fn, *args, **kwargs):
    with seeded(0):
        return fn(*args, **kwargs)


@pytest.mark.parametrize(("channels", "resolution"), [(1, 28), (3, 32)])
def test_unet_heads_shapes_at_28_and_32(channels, resolution):
    config = NetworkConfig.tiny_unet().replace(attention_resolutions=(resolution // 2,))
    net = _build(UNet, channels, resolution, config, num_heads=3)
    x = torch.randn(2, channels, resolution, resolution)
    heads = net.heads(x, torch.tensor([0.3, 0.9]))
    assert len(heads) == 3
    assert all(h.shape == x.shape for h in heads)
    torch.testing.assert_close(net(x, torch.tensor(0.5), head=2), net.heads(x, torch.full((2,), 0.5))[1])


def test_extra_heads_start_near_zero():
    net = _build(VelocityMLP, 2, NetworkConfig.mlp(width=32, depth=2), num_heads=3)
    x, t = torch.randn(16, 2), torch.rand(16)
    g1, g2, g3 = net.heads(x, t)
    assert g1.abs().mean() > 1e-3
    assert g2.abs().max() < 1e-4 and g3.abs().max() < 1e-4
    unet = _build(UNet, 1, 8, NetworkConfig.tiny_unet(), num_heads=2)
    assert unet.heads(torch.randn(2, 1, 8, 8), torch.rand(2))[1].abs().max() < 1e-4


def test_prior_shakedrop_identity_at_half_and_time_dependence():
    base = NetworkConfig.tiny_unet()
    plain = _build(UNet, 1, 8, base)
    shaken = UNet(1, 8, base.replace(shakedrop_phi=0.75))
    shaken.load_state_dict(plain.state_dict())
    with torch.no_grad():  # make the decoder sensitive to the skip/feature balance
        for p in plain.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
        shaken.load_state_dict(plain.state_dict())
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    # φ_t = t(1 − 2φ) + φ equals 0.5 at t = 0.5 for every φ: both networks agree there…
    half = torch.full((3,), 0.5)
    torch.testing.assert_close(shaken(x, half), plain(x, half))
    # …and differ elsewhere (φ_t = 0.7 at t = 0.1 for φ = 0.75).
    early = torch.full((3,), 0.1)
    assert (shaken(x, early) - plain(x, early)).abs().max() > 1e-4


def test_shakedrop_scales_the_concatenation_as_documented():
    net = _build(UNet, 1, 8, NetworkConfig.tiny_unet().replace(shakedrop_phi=0.75))
    seen: list[torch.Tensor] = []
    first_up = next(block for block in net.up if hasattr(block[0], "norm1"))
    first_up[0].register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    net.phi = 0.5
    x, t = torch.randn(1, 1, 8, 8), torch.tensor([0.2])
    net(x, t)
    net.phi = 0.75
    net(x, t)
    phi_t = 0.2 * (1 - 1.5) + 0.75  # 0.65
    channels = seen[0].shape[1] // 2
    torch.testing.assert_close(seen[1][:, :channels], seen[0][:, :channels] * 2 * phi_t)
    torch.testing.assert_close(seen[1][:, channels:], seen[0][:, channels:] * 2 * (1 - phi_t))


def test_paper_configurations_are_expressible():
    with torch.device("meta"):
        cifar = UNet(3, 32, NetworkConfig.cifar10_paper(), num_heads=1)
        mnist = UNet(1, 28, NetworkConfig.mnist_paper(), num_heads=1)
    # The paper's SongUNet: 55.7M (CIFAR-10) and 2.16M (MNIST) parameters; ours is the same
    # family of architecture and lands in the same range.
    assert 40e6 < count_parameters(cifar) < 75e6
    assert 1e6 < count_parameters(mnist) < 4e6
    assert NetworkConfig.cifar10_paper().attention_resolutions == (16,)


def test_coupling_encoder_starts_at_the_prior():
    for shape in [(2,), (1, 8, 8)]:
        encoder = _build(CouplingEncoder, shape, 8)
        mean, log_variance = encoder(torch.randn(4, *shape))
        assert mean.shape == log_variance.shape == (4, *shape)
        assert mean.abs().max() == 0 and log_variance.abs().max() == 0


def test_bad_shapes_and_configs_are_clear_errors():
    with pytest.raises(ConfigError, match="vector data"):
        build_model((1, 28, 28), NetworkConfig.mlp())
    with pytest.raises(ConfigError, match="square images"):
        build_model((2,), NetworkConfig.tiny_unet())
    with pytest.raises(ConfigError, match="divisible"):
        UNet(1, 10, NetworkConfig.tiny_unet().replace(channel_mult=(1, 2, 2)))
    with pytest.raises(ConfigError, match="MLP has none"):
        NetworkConfig.mlp(shakedrop_phi=0.75)
    with pytest.raises(ConfigError, match="dropout"):
        NetworkConfig(dropout=1.5)
    net = _build(VelocityMLP, 2, NetworkConfig.mlp(width=8, depth=1))
    with pytest.raises(ConfigError, match="expects"):
        net(torch.zeros(3, 5), torch.zeros(3))
    with pytest.raises(ConfigError, match="head"):
        net(torch.zeros(3, 2), torch.zeros(3), head=2)
