import argparse
from dataclasses import dataclass, field
from typing import Literal

import pytest

from methodzoo.shared.config import Config, check
from methodzoo.shared.errors import ConfigError


@dataclass(frozen=True)
class Inner(Config):
    width: int = 4


@dataclass(frozen=True)
class Example(Config):
    lr: float = 1e-3
    steps: int = 10
    solver: Literal["euler", "heun"] = "euler"
    use_ema: bool = True
    widths: tuple[int, ...] = (8, 16)
    name: str | None = None
    inner: Inner = field(default_factory=Inner)

    def validate(self) -> None:
        check(self.lr > 0, "lr must be positive, got {}", self.lr)
        check(self.steps >= 1, "steps must be at least 1, got {}", self.steps)


def test_validation_messages_name_the_problem():
    with pytest.raises(ConfigError, match="lr must be positive, got -1"):
        Example(lr=-1.0)
    with pytest.raises(ConfigError, match=r"Example.steps must be int, got 2.5"):
        Example(steps=2.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="one of 'euler', 'heun'"):
        Example(solver="rk4")  # type: ignore[arg-type]


def test_frozen():
    with pytest.raises(AttributeError):
        Example().lr = 1.0  # type: ignore[misc]


def test_json_round_trip(tmp_path):
    config = Example(lr=0.5, widths=(1, 2, 3), name="x", inner=Inner(width=7))
    assert Example.from_json(config.to_json()) == config
    config.save(tmp_path / "config.json")
    assert Example.load(tmp_path / "config.json") == config


def test_unknown_field_lists_valid_ones():
    with pytest.raises(ConfigError, match="unknown field.*'bogus'.*valid fields"):
        Example.from_dict({"bogus": 1})


def test_cli_flags_come_from_the_fields():
    parser = argparse.ArgumentParser()
    Example.add_arguments(parser)
    defaults = Example.from_args(parser.parse_args([]))
    assert defaults == Example()
    args = parser.parse_args(["--lr", "0.1", "--solver", "heun", "--no-use-ema", "--widths", "3", "4",
                              "--name", "run"])
    config = Example.from_args(args)
    assert config == Example(lr=0.1, solver="heun", use_ema=False, widths=(3, 4), name="run")
    with pytest.raises(SystemExit):
        parser.parse_args(["--solver", "rk4"])
    assert Example.from_args(parser.parse_args(["--widths"])).widths == ()


def test_percent_signs_in_help_texts_do_not_break_help(capsys):
    @dataclass(frozen=True)
    class Scheduled(Config):
        drop_at: float = field(default=0.9, metadata={"help": "lr x0.1 for the last 10 %"})

    parser = argparse.ArgumentParser()
    Scheduled.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    assert "last 10 %" in capsys.readouterr().out


def test_replace_validates_again():
    with pytest.raises(ConfigError):
        Example().replace(steps=0)
