"""ICT's batched μ/σ slice transforms: the same values as the separate modules, exact round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from methodzoo.ict_codec import CodecConfig, build_model, compress, decompress_tensor, reconstruct
from methodzoo.ict_codec.model import ChannelWiseCodec


def _model(**changes: object) -> ChannelWiseCodec:
    torch.manual_seed(0)
    # slice_depth 2: a plain and a shifted-window block, so the masks of both are exercised
    return build_model(CodecConfig.tiny("ict").replace(slice_depth=2, **changes)).eval()


@pytest.mark.parametrize(("batch", "height", "width"), [(1, 1, 1), (2, 3, 5), (1, 8, 12), (2, 9, 4)])
def test_batched_transforms_equal_the_separate_ones(batch: int, height: int, width: int) -> None:
    model = _model()
    config = model.config
    generator = torch.Generator().manual_seed(1)
    hyper_mu, hyper_sigma = (torch.randn(batch, config.latent_channels, height, width, generator=generator)
                             for _ in range(2))
    decoded = [torch.randn(batch, config.slice_channels, height, width, generator=generator)
               for _ in range(config.num_slices)]
    model.batch_slice_transforms = True
    with torch.no_grad():
        for i in range(config.num_slices):
            support_mu = model.slice_support(i, hyper_mu, decoded)
            support_sigma = model.slice_support(i, hyper_sigma, decoded)
            batched = model.slice_transforms(i, support_mu, support_sigma)
            separate = ChannelWiseCodec.slice_transforms(model, i, support_mu, support_sigma)
            for got, want in zip(batched, separate, strict=True):
                assert got.shape == want.shape
                torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_batched_transforms_follow_weight_changes() -> None:
    model = _model()
    config = model.config
    support = torch.randn(1, config.slice_input_channels(0), 4, 4)
    model.batch_slice_transforms = True
    with torch.no_grad():
        before = model.slice_transforms(0, support, support)[1]
        model.scale_transforms[0].out.bias.add_(1.0)
        after = model.slice_transforms(0, support, support)[1]
    torch.testing.assert_close(after, before + 1.0, rtol=1e-5, atol=1e-5)


def test_round_trip_is_exact_with_batched_transforms(test_crops: list[tuple[str, np.ndarray]]) -> None:
    model = _model()
    model.batch_slice_transforms = True
    image = test_crops[1][1][:70, :99]
    data = compress(model, image)
    assert torch.equal(decompress_tensor(model, data), reconstruct(model, image)["x_hat"])


def test_training_ignores_the_flag() -> None:
    model = _model()
    model.batch_slice_transforms = True
    model.train()
    x = torch.rand(1, 3, 64, 64) * 255
    out = model(x)
    out["x_hat"].mean().backward()
    assert all(p.grad is not None for p in model.mean_transforms[1].parameters())
