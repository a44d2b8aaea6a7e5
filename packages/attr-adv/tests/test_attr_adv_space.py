"""The attribute space: validation, normalised units, projection, sampling, JSON round trip."""

from __future__ import annotations

import pytest
import torch

from methodzoo.attr_adv.space import AttributeRange, AttributeSpace
from methodzoo.shared.errors import ConfigError, UserError


def test_ranges_are_validated() -> None:
    with pytest.raises(ConfigError, match="must contain the neutral value"):
        AttributeRange("scale", 1.1, 1.3)
    with pytest.raises(ConfigError, match="low must be < high"):
        AttributeRange("rotation", 10.0, -10.0)
    with pytest.raises(ConfigError, match="unknown attribute 'hue'"):
        AttributeRange("hue", -1.0, 1.0)
    with pytest.raises(ConfigError, match="must be >= 0"):
        AttributeRange("blur", -0.5, 1.0)
    with pytest.raises(ConfigError, match="unique"):
        AttributeSpace((AttributeRange("rotation", -5, 5), AttributeRange("rotation", -9, 9)))
    with pytest.raises(UserError, match="unknown attribute space"):
        AttributeSpace.preset("imagenet")


def test_normalised_units_map_a0_to_zero_and_the_far_end_to_one() -> None:
    space = AttributeSpace((AttributeRange("rotation", -30, 30), AttributeRange("blur", 0, 2),
                            AttributeRange("scale", 0.8, 1.1)))
    assert torch.equal(space.lower(), torch.tensor([-1.0, 0.0, -1.0]))
    assert torch.allclose(space.upper(), torch.tensor([1.0, 1.0, 0.5]))
    u = torch.tensor([[0.5, 0.25, 0.5], [0.0, 0.0, 0.0]])
    raw = space.to_raw(u)
    assert torch.allclose(raw["rotation"], torch.tensor([15.0, 0.0]))
    assert torch.allclose(raw["blur"], torch.tensor([0.5, 0.0]))
    assert torch.allclose(raw["scale"], torch.tensor([1.1, 1.0]))
    assert torch.allclose(space.from_raw(raw), u)


def test_projection_lands_in_the_space_and_is_idempotent() -> None:
    space = AttributeSpace.digits_rts()
    u = 3 * torch.randn(200, space.dim, generator=torch.Generator().manual_seed(0))
    projected = space.project(u)
    assert space.contains(projected) and not space.contains(u)
    assert torch.equal(space.project(projected), projected)
    inside = u.abs() <= 1
    assert torch.equal(projected[inside], u[inside])  # points of A do not move


def test_uniform_samples_fill_the_box() -> None:
    space = AttributeSpace((AttributeRange("noise", 0, 0.2), AttributeRange("contrast", 0.5, 1.5)))
    u = space.sample(20_000, torch.Generator().manual_seed(0))
    assert space.contains(u)
    assert torch.allclose(u.mean(dim=0), torch.tensor([0.5, 0.0]), atol=0.02)
    again = space.sample(20_000, torch.Generator().manual_seed(0))
    assert torch.equal(u, again)


def test_space_round_trips_through_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    space = AttributeSpace.digits_c()
    path = tmp_path / "space.json"
    space.save(path)
    assert AttributeSpace.load(path) == space


def test_wrong_shapes_are_clear_errors() -> None:
    space = AttributeSpace.cifar_c()
    with pytest.raises(UserError, match=r"\(N, 2\)"):
        space.to_raw(torch.zeros(4, 3))
    with pytest.raises(UserError, match="not in this space"):
        space.from_raw({"rotation": torch.zeros(2)})
