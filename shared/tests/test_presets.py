"""Presets with command-line flags on top: only changed flags override the preset."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import pytest

from methodzoo.shared.config import Config, check
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.presets import apply_changed_flags, changed_flags


@dataclass(frozen=True)
class Settings(Config):
    size: int = 8
    mode: str = "a"
    sizes: tuple[int, ...] = field(default=(1, 2))

    def validate(self) -> None:
        check(self.size > 0, "size must be positive")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    Settings.add_arguments(parser)
    return parser.parse_args(argv)


def test_untouched_flags_keep_the_preset_and_changed_ones_win():
    preset = Settings(size=32, mode="b")
    assert apply_changed_flags(preset, _parse([])) == preset
    assert apply_changed_flags(preset, _parse(["--mode", "c", "--sizes", "3"])) == Settings(32, "c", (3,))
    assert changed_flags(Settings, _parse(["--size", "4"])) == {"size": 4}


def test_the_result_is_validated():
    with pytest.raises(ConfigError, match="size must be positive"):
        apply_changed_flags(Settings(), _parse(["--size", "-1"]))
