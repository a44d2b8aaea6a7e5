"""Presets plus command-line flags: start from a named configuration, then apply the flags the
user changed.

:meth:`~methodzoo.shared.config.Config.add_arguments` gives every flag the class default, so a
flag left alone cannot be told from one set to the default; :func:`apply_changed_flags` applies
those whose value differs from the class default, which keeps a preset's own values unless the
user asks for something else::

    config = apply_changed_flags(EncodingConfig.gaf(), args)
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import TypeVar

from methodzoo.shared.config import Config

C = TypeVar("C", bound=Config)


def changed_flags(cls: type[Config], namespace: argparse.Namespace) -> dict[str, object]:
    """The fields of ``cls`` whose parsed flag differs from the field's default (lists from
    ``nargs`` flags compared as tuples)."""
    changes: dict[str, object] = {}
    for field in dataclasses.fields(cls):
        if not field.init or not hasattr(namespace, field.name):
            continue
        value = getattr(namespace, field.name)
        value = tuple(value) if isinstance(value, list) else value
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = dataclasses.MISSING
        if value != default:
            changes[field.name] = value
    return changes


def apply_changed_flags(preset: C, namespace: argparse.Namespace) -> C:
    """``preset`` with every flag that differs from the class default applied on top (and the
    result validated again)."""
    return preset.replace(**changed_flags(type(preset), namespace))


__all__ = ["apply_changed_flags", "changed_flags"]
