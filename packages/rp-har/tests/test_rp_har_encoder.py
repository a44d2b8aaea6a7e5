"""The encoder contract: (N, C, T) → (N, K, S, S) float32 in [0, 1], deterministic, batched
equal to one-by-one, no plotting library involved; normalisation, resizing and the config."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from methodzoo.rp_har.config import EncodingConfig, TrainConfig
from methodzoo.rp_har.encoder import ImageEncoder, encode
from methodzoo.rp_har.fields import gramian_angular_field, markov_transition_field
from methodzoo.rp_har.images import normalize_images, resize_images, to_uint8
from methodzoo.rp_har.recurrence import recurrence_plot
from methodzoo.shared.errors import ConfigError, UserError

PRESETS = [EncodingConfig.plain_rp, EncodingConfig.lu_tong_code, EncodingConfig.modified_rp,
           EncodingConfig.modified_rp_fft, EncodingConfig.gaf, EncodingConfig.mtf]


def _windows(n: int = 5, channels: int = 3, length: int = 48, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, channels, length, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.__name__)
def test_contract_shape_range_dtype_and_determinism(preset):
    config = preset(image_size=24)
    images = encode(_windows(), config)
    assert images.shape == (5, config.out_channels(3), 24, 24) and images.dtype == torch.float32
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0 + 1e-6
    assert torch.equal(images, encode(_windows(), config))


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.__name__)
def test_batched_encoding_equals_one_window_at_a_time(preset):
    config = preset(image_size=20)
    windows = _windows(4, 2, 40, seed=1)
    batched = ImageEncoder(config, batch_size=3)(windows)
    for n in range(4):
        torch.testing.assert_close(batched[n], encode(windows[n:n + 1], config)[0], rtol=1e-5, atol=1e-6)


def test_default_image_is_signed_rp_plus_angle_channels_per_axis():
    config = EncodingConfig(image_size=None, normalize="none")
    x = _windows(2, 3, 30, seed=2)
    images = encode(x, config)
    assert images.shape == (2, 6, 29, 29)
    torch.testing.assert_close(images[:, :3], -images[:, :3].transpose(-1, -2))  # signed modified RP
    torch.testing.assert_close(images[:, :3].abs(), recurrence_plot(x, 2))
    assert float(images[:, 3:].min()) >= 0 and float(images[:, 3:].max()) <= 1  # θ/π


def test_single_series_and_batches_of_series_are_accepted():
    config = EncodingConfig.plain_rp(image_size=16)
    assert encode(np.sin(np.arange(40.0)), config).shape == (1, 16, 16)
    assert encode(torch.randn(3, 40), config).shape == (3, 1, 16, 16)
    assert encode(torch.randn(3, 40), EncodingConfig(image_size=16)).shape == (3, 2, 16, 16)


def test_multiply_combination_weights_the_temporal_plot():
    x = _windows(2, 1, 30, seed=3)
    product = encode(x, EncodingConfig(image_size=None, normalize="none", combine="multiply", frequency_map="cos"))
    temporal = encode(x, EncodingConfig.modified_rp(image_size=None, normalize="none"))
    angle = encode(x, EncodingConfig(image_size=None, normalize="none", frequency_map="cos"))[:, 1:]
    assert product.shape == temporal.shape
    torch.testing.assert_close(product, temporal * angle)


def test_gaf_and_mtf_presets_use_the_field_encoders():
    x = _windows(2, 1, 32, seed=4)
    config = EncodingConfig.gaf(image_size=None, normalize="none")
    torch.testing.assert_close(encode(x, config)[:, 0], gramian_angular_field(x[:, 0]))
    config = EncodingConfig.mtf(image_size=None, normalize="none")
    torch.testing.assert_close(encode(x, config)[:, 0], markov_transition_field(x[:, 0]))


def test_gasf_and_mtf_are_blind_to_negation_like_the_plain_rp():
    x = _windows(3, 1, 64, seed=5)[:, 0].double()
    torch.testing.assert_close(gramian_angular_field(-x, dtype=torch.float64), gramian_angular_field(x, dtype=torch.float64))
    torch.testing.assert_close(markov_transition_field(-x, dtype=torch.float64), markov_transition_field(x, dtype=torch.float64))


def test_normalizations():
    images = torch.tensor([[[[0.0, -2.0], [2.0, 4.0]]]], dtype=torch.float64)
    assert normalize_images(images, "minmax").flatten().tolist() == pytest.approx([1 / 3, 0.0, 2 / 3, 1.0])
    assert normalize_images(images, "maxabs").flatten().tolist() == [0.0, -0.5, 0.5, 1.0]
    assert normalize_images(images, "lu_tong").flatten().tolist() == [0.0, -1.0, 1.0, 2.0]  # ÷ (4 − 2)
    assert bool((normalize_images(torch.ones(1, 2, 3, 3), "minmax") == 0).all())
    with pytest.raises(UserError, match="normalize"):
        normalize_images(images, "zscore")  # type: ignore[arg-type]


def test_bilinear_resize_keeps_constant_images_and_the_mean_of_smooth_ones():
    constant = torch.full((1, 2, 50, 50), 0.3)
    torch.testing.assert_close(resize_images(constant, 224), torch.full((1, 2, 224, 224), 0.3))
    ramp = torch.linspace(0, 1, 99).expand(1, 1, 99, 99)
    torch.testing.assert_close(resize_images(ramp, 33).mean(), ramp.mean(), atol=1e-3, rtol=0)
    assert resize_images(ramp, None) is ramp
    assert to_uint8(torch.tensor([0.0, 0.5, 1.0])).tolist() == [0, 128, 255]


def test_importing_and_encoding_never_loads_matplotlib():
    code = ("import sys, torch; from methodzoo.rp_har import encode, EncodingConfig; "
            "encode(torch.randn(2, 3, 40), EncodingConfig(image_size=16)); "
            "print('matplotlib' in sys.modules, torch.cuda.is_initialized())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, check=True)
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("changes, message", [
    ({"dimension": 0}, "dimension"),
    ({"fft_span": 2}, "fft_span"),
    ({"encoding": "gaf"}, "fft_angle"),
    ({"mtf_bins": 1}, "mtf_bins"),
    ({"trend_weight": "angle"}, "trend_weight"),
])
def test_config_errors_name_the_field(changes, message):
    with pytest.raises(ConfigError, match=message):
        EncodingConfig(**changes)


def test_signed_images_get_no_flips_by_default():
    train = TrainConfig()
    assert train.augmentation_for(EncodingConfig()) == "none"
    assert train.augmentation_for(EncodingConfig.modified_rp()) == "none"
    assert train.augmentation_for(EncodingConfig.plain_rp()) == "flip_crop"
    assert train.augmentation_for(EncodingConfig.gaf(gaf_method="difference")) == "none"
    assert TrainConfig(augment="flip_crop").augmentation_for(EncodingConfig()) == "flip_crop"


def test_encoding_a_series_too_short_for_the_states_is_a_user_error():
    with pytest.raises(UserError, match="no state"):
        encode(torch.randn(2, 3, 4), EncodingConfig(dimension=3, time_delay=2, image_size=8))
