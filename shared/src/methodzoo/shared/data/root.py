"""Where datasets live on disk."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "METHODZOO_DATA"


def data_root(root: str | Path | None = None) -> Path:
    """``root`` if given, else ``$METHODZOO_DATA``, else ``$XDG_CACHE_HOME/methodzoo/data``."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "methodzoo" / "data"


def cache_dir(name: str) -> Path:
    """A folder for derived artefacts (trained feature networks…), created on demand."""
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "methodzoo" / name
    base.mkdir(parents=True, exist_ok=True)
    return base
