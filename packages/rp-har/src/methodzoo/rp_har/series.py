"""Input handling shared by every encoder: shapes, dtypes and the delay embedding.

Every encoder accepts a single series ``(T,)``, a batch ``(N, T)`` or multichannel windows
``(N, C, T)``, as a NumPy array or a tensor on any device, and returns images with the same
leading shape: ``(T', T')``, ``(N, T', T')`` or ``(N, C, T', T')``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from methodzoo.shared.errors import UserError

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def as_batch(x: Any, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, tuple[int, ...]]:
    """``x`` as a ``(B, T)`` tensor of ``dtype`` on its own device, and the leading shape
    (``()``, ``(N,)`` or ``(N, C)``) that the images get back."""
    if isinstance(x, torch.Tensor):
        tensor = x.detach()
    else:
        array = np.asarray(x)
        if array.dtype == object or not np.issubdtype(array.dtype, np.number):
            raise UserError(f"expected numbers, got an array of {array.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.ndim not in (1, 2, 3):
        raise UserError(f"expected a series (T,), a batch (N, T) or windows (N, C, T), got shape "
                        f"{tuple(tensor.shape)}")
    if tensor.is_complex():
        raise UserError("expected real-valued series, got complex values")
    tensor = tensor.to(dtype)
    if tensor.numel() and not bool(torch.isfinite(tensor).all()):
        raise UserError("the series contain NaN or infinite values; impute or drop them first")
    lead = tuple(tensor.shape[:-1])
    return tensor.reshape(-1, tensor.shape[-1]), lead


def restore(images: torch.Tensor, lead: tuple[int, ...]) -> torch.Tensor:
    """``(B, H, W)`` images back to ``lead + (H, W)``."""
    return images.reshape(*lead, *images.shape[-2:])


def state_count(length: int, dimension: int, time_delay: int) -> int:
    """Number of phase-space states T' = T − (m − 1)τ, with a clear error when it is not positive."""
    if dimension < 1 or time_delay < 1:
        raise UserError(f"dimension and time_delay must be >= 1, got {dimension} and {time_delay}")
    count = length - (dimension - 1) * time_delay
    if count < 1:
        raise UserError(f"a series of length {length} has no state of dimension {dimension} with "
                        f"time delay {time_delay}: need T > (m − 1)τ = {(dimension - 1) * time_delay}")
    return count


def delay_embedding(x: torch.Tensor, dimension: int, time_delay: int) -> torch.Tensor:
    """States ``s_i = (x_i, x_{i+τ}, …, x_{i+(m−1)τ})``: ``(B, T)`` → ``(B, T', m)`` (a view)."""
    state_count(x.shape[-1], dimension, time_delay)
    span = (dimension - 1) * time_delay + 1
    return x.unfold(-1, span, 1)[..., ::time_delay]  # (B, T', m)
