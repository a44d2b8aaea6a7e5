"""Matplotlib on a headless machine: the Agg backend and one way to save figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` with the non-interactive Agg backend (works without a display)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure: Any, path: str | Path, *, dpi: int = 120) -> Path:
    """Save ``figure`` as PNG (atomically) and close it."""
    from methodzoo.shared.io import atomic_write

    target = Path(path)
    figure.tight_layout()
    atomic_write(target, lambda temp: figure.savefig(temp, dpi=dpi, format="png"))
    pyplot().close(figure)
    return target
