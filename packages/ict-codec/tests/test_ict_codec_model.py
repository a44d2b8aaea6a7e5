"""Model structure: causality of the slices, AICT vs ICT at f = 1, the warp, sizes, λ conversion."""

from __future__ import annotations

import pytest
import torch

from methodzoo.ict_codec import AICT, CodecConfig, build_model, compressai_lambda
from methodzoo.ict_codec.config import KINDS
from methodzoo.ict_codec.layers import scale_warp
from methodzoo.shared.errors import ConfigError, UserError


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_builds_trains_and_reports_likelihoods(kind: str) -> None:
    torch.manual_seed(0)
    model = build_model(CodecConfig.tiny(kind))
    x = torch.rand(2, 3, 64, 128) * 255
    out = model(x, generator=torch.Generator().manual_seed(0))
    assert out["x_hat"].shape == x.shape
    assert out["likelihoods"]["y"].shape == (2, 32, 4, 8)
    assert out["likelihoods"]["z"].shape == (2, 16, 1, 2)
    loss = out["x_hat"].mean() - torch.log2(out["likelihoods"]["y"]).sum()
    loss.backward()
    assert all(p.grad is not None for p in model.g_a.parameters())


@pytest.mark.parametrize("kind", ["ict", "swint-charm"])
def test_slice_i_sees_exactly_the_first_min_i_s_slices(kind: str) -> None:
    config = CodecConfig.tiny(kind).replace(num_slices=4, max_support_slices=2)
    torch.manual_seed(0)
    model = build_model(config).eval()
    g = torch.Generator().manual_seed(1)
    hyper_mu = torch.randn(1, 32, 8, 8, generator=g)
    hyper_sigma = torch.randn(1, 32, 8, 8, generator=g)
    slices = [torch.randn(1, 8, 8, 8, generator=g).requires_grad_() for _ in range(4)]
    for i in range(4):
        # Hand every slice over (even later ones): only the allowed ones may influence slice i.
        mu, scale, _ = model.entropy_parameters(i, hyper_mu, hyper_sigma, slices)
        grads = torch.autograd.grad((mu.sum() + scale.sum()), slices, allow_unused=True)
        for j, grad in enumerate(grads):
            seen = grad is not None and bool(grad.abs().sum() > 0)
            assert seen == (j < min(i, 2)), f"slice {i} vs slice {j}"
        # Perturbing a later slice (or one beyond the support) changes nothing.
        with torch.no_grad():
            base = model.entropy_parameters(i, hyper_mu, hyper_sigma, [s.detach() for s in slices])
            changed = [s.detach().clone() for s in slices]
            for j in range(min(i, 2), 4):
                changed[j] += 5.0
            after = model.entropy_parameters(i, hyper_mu, hyper_sigma, changed)
        assert torch.equal(base[0], after[0]) and torch.equal(base[1], after[1])


def test_aict_equals_ict_when_the_scaling_factor_is_one() -> None:
    torch.manual_seed(0)
    ict = build_model(CodecConfig.tiny("ict")).eval()
    x = torch.rand(1, 3, 128, 128) * 255
    for layer_scale, tolerance in [(0.0, 1e-3), (1e-6, 1e-2)]:
        aict = build_model(CodecConfig.tiny("aict").replace(layer_scale_init=layer_scale)).eval()
        missing, unexpected = aict.load_state_dict(ict.state_dict(), strict=False)
        assert not unexpected
        assert all(k.startswith(("resize_net", "pre_filter", "post_filter")) for k in missing)
        with torch.no_grad():
            assert torch.allclose(aict.scaling_factor(x), torch.ones(1))  # the head starts at f = 1
            a, b = aict(x), ict(x)
        assert (a["x_hat"] - b["x_hat"]).abs().max() < tolerance
        assert torch.allclose(a["likelihoods"]["y"], b["likelihoods"]["y"], rtol=1e-3, atol=1e-6)


def test_warp_is_identity_at_one_and_invertible_in_the_interior() -> None:
    g = torch.Generator().manual_seed(0)
    rows, cols = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    phase = torch.rand(2, 3, 1, 1, generator=g) * 6
    x = torch.sin(rows / 6 + phase) * torch.cos(cols / 8 - phase)  # smooth, (2, 3, 64, 64)
    assert torch.allclose(scale_warp(x, torch.ones(2)), x, atol=1e-5)
    for f in (0.8, 1.25):
        zoom = torch.full((2,), f)
        back = scale_warp(scale_warp(x, zoom), 1 / zoom)
        inner = slice(16, 48)
        assert (back - x)[..., inner, inner].abs().max() < 0.05


def test_aict_scaling_factor_is_clamped_and_differentiable() -> None:
    torch.manual_seed(0)
    model = build_model(CodecConfig.tiny("aict").replace(f_min=0.5))
    assert isinstance(model, AICT)
    with torch.no_grad():
        model.resize_net.head.bias.fill_(-3.0)  # ReLU would give f = 0: the clamp keeps f_min
    x = torch.rand(2, 3, 64, 64) * 255
    assert torch.equal(model.scaling_factor(x), torch.full((2,), 0.5))
    # Out of range, the gradient of a loss that wants f larger still reaches the network.
    (-model.scaling_factor(x).sum()).backward()
    assert model.resize_net.head.bias.grad is not None and float(model.resize_net.head.bias.grad) < 0
    model.zero_grad()
    f = torch.tensor([0.9], requires_grad=True)
    out = model(x[:1], scale_factor=f)
    out["x_hat"].sum().backward()
    assert f.grad is not None and f.grad.abs() > 0


def test_inputs_must_be_padded_and_configs_are_checked() -> None:
    model = build_model(CodecConfig.tiny("ict"))
    with pytest.raises(UserError, match="multiples of 64"):
        model(torch.zeros(1, 3, 70, 64))
    with pytest.raises(ConfigError, match="split evenly"):
        CodecConfig.tiny("ict").replace(num_slices=5)
    with pytest.raises(ConfigError, match="max_support_slices"):
        CodecConfig.tiny("ict").replace(max_support_slices=9)


def test_paper_config_has_the_papers_sizes() -> None:
    c = CodecConfig.paper("ict")
    assert (c.latent_channels, c.num_slices, c.slice_channels, c.max_support_slices) == (320, 10, 32, 5)
    assert [c.slice_input_channels(i) for i in range(10)] == [32 * (1 + min(i, 5)) for i in range(10)]
    assert [c.slice_input_channels(i) // c.slice_head_dim(i) for i in range(6)] == [8, 8, 6, 8, 5, 6]


def test_lambda_conversion() -> None:
    assert compressai_lambda(0.01, 256, 256) == pytest.approx(1 / (0.01 * 256 * 256))
    assert compressai_lambda(0.01, 256, 256) == pytest.approx(1.5259e-3, rel=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_paper_size_models_run_a_forward_pass(kind: str) -> None:
    torch.manual_seed(0)
    model = build_model(CodecConfig.paper(kind)).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 256, 256) * 255)
    assert out["x_hat"].shape == (1, 3, 256, 256)
    assert out["likelihoods"]["y"].shape == (1, 320, 16, 16)


@pytest.mark.parametrize("kind", KINDS)
def test_reconstruction_starts_near_mid_grey_unless_default_init_is_asked(kind: str) -> None:
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 255
    with torch.no_grad():
        torch.manual_seed(0)
        shrunk = build_model(CodecConfig.tiny(kind)).eval()(x)["x_hat"]
        torch.manual_seed(0)
        default = build_model(CodecConfig.tiny(kind).replace(output_init_scale=1.0)).eval()(x)["x_hat"]
    assert abs(float(shrunk.mean()) - 127.5) < 20 and float(shrunk.std()) < 20
    assert float(default.std()) > 5 * float(shrunk.std())


def test_every_named_preset_builds_and_an_unknown_name_is_refused() -> None:
    from methodzoo.ict_codec.config import PRESETS

    assert CodecConfig.preset("compact-mid", "aict") == CodecConfig.compact_mid("aict")
    for name in PRESETS:
        assert isinstance(CodecConfig.preset(name, "ict"), CodecConfig)
    with pytest.raises(UserError, match="unknown preset 'huge'"):
        CodecConfig.preset("huge")
