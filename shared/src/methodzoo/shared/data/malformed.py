"""Warnings for records that a loader skipped because the file breaks its own format."""

from __future__ import annotations

import warnings
from pathlib import Path


class MalformedRecordsWarning(UserWarning):
    """Some lines of a data file did not parse and were skipped (the message says how many)."""


def warn_skipped(path: str | Path, skipped: int, total: int, what: str = "records") -> None:
    """Warn once per file when ``skipped`` of ``total`` records were dropped."""
    if skipped:
        warnings.warn(f"{path}: skipped {skipped} malformed {what} of {total}",
                      MalformedRecordsWarning, stacklevel=3)
