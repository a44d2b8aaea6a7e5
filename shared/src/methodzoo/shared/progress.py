"""Progress bars for people, silence for machines.

Bars show on an interactive terminal and are hidden when stderr is not a TTY or the ``CI``
environment variable is set (or ``METHODZOO_PROGRESS=0``; ``=1`` forces them on).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_enabled() -> bool:
    forced = os.environ.get("METHODZOO_PROGRESS")
    if forced is not None:
        return forced not in ("0", "false", "no", "")
    if os.environ.get("CI"):
        return False
    return sys.stderr.isatty()


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             enabled: bool | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar over ``iterable`` (or a manual one with ``total``), hidden when not wanted."""
    disable = not (progress_enabled() if enabled is None else enabled)
    return tqdm(iterable, total=total, desc=desc, disable=disable, dynamic_ncols=True,
                leave=False, **kwargs)
