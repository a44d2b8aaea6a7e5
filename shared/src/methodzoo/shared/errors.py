"""Exceptions that mean "the user asked for something we cannot do".

The CLI turns any :class:`UserError` into one line on stderr and exit status 2; every other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input: a bad value, a missing file, an unknown name."""


class ConfigError(UserError, ValueError):
    """A configuration value is out of range or inconsistent with another one."""


class DataNotFoundError(UserError, FileNotFoundError):
    """A dataset's files are not where the loader looks for them."""


class MissingExtraError(UserError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""


def missing_extra(module: str, distribution: str, extra: str) -> MissingExtraError:
    """Build the error raised when an optional import fails."""
    return MissingExtraError(
        f"{module!r} is not installed; install it with `pip install '{distribution}[{extra}]'`"
    )
