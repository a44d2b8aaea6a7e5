import pytest

from methodzoo.shared.errors import UserError
from methodzoo.shared.registry import Registry


def test_register_get_and_error_lists_names():
    registry: Registry[int] = Registry("solver")
    registry.register("euler", 1)

    @registry.register("heun")
    def heun() -> int:
        return 2

    assert registry.get("euler") == 1
    assert registry.get("heun") is heun
    assert registry.names() == ["euler", "heun"]
    assert "euler" in registry and "rk4" not in registry
    with pytest.raises(UserError, match="unknown solver 'rk4'; valid names: euler, heun"):
        registry.get("rk4")


def test_duplicate_names_are_refused():
    registry: Registry[int] = Registry("thing")
    registry.register("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a", 2)
