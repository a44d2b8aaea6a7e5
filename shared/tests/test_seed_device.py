import numpy as np
import pytest
import torch

from methodzoo.shared.device import resolve_device
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import make_generator, numpy_rng, seed_everything


def test_generators_are_reproducible_and_independent_of_global_state():
    a = torch.randn(5, generator=make_generator(3))
    torch.manual_seed(99)
    b = torch.randn(5, generator=make_generator(3))
    assert torch.equal(a, b)
    generator = make_generator(1)
    assert make_generator(generator) is generator


def test_seed_everything_fixes_global_streams():
    seed_everything(7)
    first = (torch.rand(3), np.random.rand(3))
    seed_everything(7)
    second = (torch.rand(3), np.random.rand(3))
    assert torch.equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    with pytest.raises(ConfigError):
        seed_everything(-1)


def test_numpy_rng_from_torch_generator_is_deterministic():
    x = numpy_rng(make_generator(5)).random(3)
    y = numpy_rng(make_generator(5)).random(3)
    assert np.array_equal(x, y)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else None
    if expected is None:
        assert resolve_device("auto").type in ("cpu", "mps")
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("tpu9")
