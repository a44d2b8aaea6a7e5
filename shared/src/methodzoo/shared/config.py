"""Frozen dataclass configurations: validated on creation, JSON round trip, CLI flags from fields.

Subclass :class:`Config` with ``@dataclass(frozen=True)`` and put checks in ``validate``::

    @dataclass(frozen=True)
    class TrainConfig(Config):
        lr: float = 1e-3
        steps: int = 100

        def validate(self) -> None:
            check(self.lr > 0, "lr must be positive, got {}", self.lr)

The fields are the single list of defaults: :meth:`Config.add_arguments` makes ``--lr`` and
``--steps`` flags from them and :meth:`Config.from_args` reads them back.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self, get_args, get_origin

from methodzoo.shared.errors import ConfigError


def check(condition: bool, message: str, *values: object) -> None:
    """Raise :class:`ConfigError` with ``message.format(*values)`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(message.format(*values) if values else message)


@dataclasses.dataclass(frozen=True)
class Config:
    """Base of every configuration. Subclasses must be ``@dataclass(frozen=True)``."""

    def __post_init__(self) -> None:
        self._check_types()
        self.validate()

    def validate(self) -> None:
        """Check value ranges and relations between fields; raise :class:`ConfigError`."""

    # ----- conversion -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dictionary of the fields (nested configs become dicts)."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            out[field.name] = value.to_dict() if isinstance(value, Config) else _to_json_value(value)
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a dictionary; unknown keys are an error naming the valid ones."""
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(data) - names)
        check(not unknown, "{}: unknown field(s) {}; valid fields: {}", cls.__name__, unknown, sorted(names))
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            kwargs[name] = _from_json_value(hints[name], value)
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> Self:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        """Write the JSON next to a checkpoint or result, atomically."""
        from methodzoo.shared.io import atomic_write_text

        atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        return cls.from_json(Path(path).read_text())

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # ----- command line ------------------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, *, exclude: tuple[str, ...] = ()) -> None:
        """Add one ``--flag`` per scalar field, with the field's default and its type."""
        hints = typing.get_type_hints(cls)
        group = parser.add_argument_group(f"{cls.__name__} options")
        for field in dataclasses.fields(cls):
            if field.name in exclude or not field.init:
                continue
            tp = hints[field.name]
            default = _field_default(field)
            flag = "--" + field.name.replace("_", "-")
            # argparse %-formats help strings: a literal "10 %" in a help text would break --help.
            help_text = field.metadata.get("help", "").replace("%", "%%")
            base, optional = _strip_optional(tp)
            if base is bool:
                group.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction,
                                   default=default, help=f"{help_text} (default: {default})")
            elif get_origin(base) is Literal:
                choices = list(get_args(base))
                group.add_argument(flag, dest=field.name, choices=choices, default=default,
                                   type=type(choices[0]), help=f"{help_text} (default: {default})")
            elif base in (int, float, str):
                group.add_argument(flag, dest=field.name, type=_nullable(base) if optional else base,
                                   default=default, help=f"{help_text} (default: {default})")
            elif get_origin(base) is tuple:
                item_type = get_args(base)[0]
                # "*": the flag alone means the empty tuple (a tuple field may default to a non-empty one).
                group.add_argument(flag, dest=field.name, type=item_type, nargs="*", default=default,
                                   help=f"{help_text} (default: {default})")
            # Nested configs and other types are not exposed as flags.

    @classmethod
    def from_args(cls, namespace: argparse.Namespace, **overrides: Any) -> Self:
        """Build from the parsed flags made by :meth:`add_arguments` (plus explicit overrides)."""
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            if field.init and hasattr(namespace, field.name):
                value = getattr(namespace, field.name)
                values[field.name] = tuple(value) if isinstance(value, list) else value
        values.update(overrides)
        return cls(**values)

    def _check_types(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            tp = hints[field.name]
            if not _matches(tp, value):
                raise ConfigError(
                    f"{type(self).__name__}.{field.name} must be {_type_name(tp)}, got {value!r}"
                )


def _field_default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _nullable(base: type) -> Any:
    def parse(text: str) -> Any:
        return None if text.lower() in ("none", "null", "") else base(text)

    parse.__name__ = base.__name__
    return parse


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    if get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _matches(tp: Any, value: Any) -> bool:
    """A light runtime type check for the kinds of fields configs use."""
    if tp is Any:
        return True
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(arg, value) for arg in get_args(tp))
    if origin is Literal:
        return value in get_args(tp)
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is tuple:
        args = get_args(tp)
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(args[0], v) for v in value)
        return len(args) == len(value) and all(_matches(a, v) for a, v in zip(args, value, strict=True))
    if origin is not None:
        return isinstance(value, origin)
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    return getattr(tp, "__name__", None) or str(tp)


def _to_json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_to_json_value(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _from_json_value(tp: Any, value: Any) -> Any:
    base, _ = _strip_optional(tp)
    if value is None:
        return None
    if isinstance(base, type) and issubclass(base, Config):
        return base.from_dict(value)
    if get_origin(base) is tuple and isinstance(value, list):
        args = get_args(base)
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else None
        return tuple(_from_json_value(item, v) if item else v for v in value)
    if base is float and isinstance(value, int):
        return float(value)
    return value
