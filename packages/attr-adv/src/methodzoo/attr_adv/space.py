"""The attribute space A: declared ranges, normalised units, projection and sampling.

The search works in **normalised units** u, the same for every attribute: u = 0 is the neutral
value a₀ and u = ±1 the farther end of its range, raw = neutral + u·half_width. A step size then
means the same thing for degrees, pixels and noise levels (the released code steps raw values
with lr 1e-4, which barely moves them), and the paper's ‖a − a₀‖ terms weigh attributes equally.
A range need not be symmetric: blur σ ∈ [0, 1] is u ∈ [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from methodzoo.attr_adv.transforms import ATTRIBUTE_NAMES, NEUTRAL, apply_attributes
from methodzoo.shared.config import Config, check
from methodzoo.shared.errors import UserError

POSITIVE = ("scale", "contrast")  # multiplicative factors: must stay > 0
NON_NEGATIVE = ("blur", "noise")


@dataclass(frozen=True)
class AttributeRange(Config):
    """One attribute and the interval [low, high] (raw units) it may take during training."""

    name: str = field(default="rotation", metadata={"help": f"one of {', '.join(ATTRIBUTE_NAMES)}"})
    low: float = -30.0
    high: float = 30.0

    def validate(self) -> None:
        check(self.name in NEUTRAL, "unknown attribute {!r}; valid: {}", self.name, ", ".join(ATTRIBUTE_NAMES))
        check(self.low < self.high, "{}: low must be < high, got [{}, {}]", self.name, self.low, self.high)
        check(self.low <= self.neutral <= self.high, "{}: the range [{}, {}] must contain the neutral value {}",
              self.name, self.low, self.high, self.neutral)
        if self.name in POSITIVE:
            check(self.low > 0, "{}: a factor must stay > 0, got low = {}", self.name, self.low)
        if self.name in NON_NEGATIVE:
            check(self.low >= 0, "{}: must be >= 0, got low = {}", self.name, self.low)

    @property
    def neutral(self) -> float:
        """a₀, the value at which the transform is the identity."""
        return NEUTRAL[self.name]

    @property
    def half_width(self) -> float:
        """Raw units per normalised unit: the distance from a₀ to the farther end of the range."""
        return max(self.high - self.neutral, self.neutral - self.low)


@dataclass(frozen=True)
class AttributeSpace(Config):
    """A: the attributes G may change and their training ranges.

    ``u`` tensors are ``(N, K)`` in normalised units, columns in the order of ``attributes``.
    """

    attributes: tuple[AttributeRange, ...] = ()

    def validate(self) -> None:
        check(len(self.attributes) > 0, "an attribute space needs at least one attribute")
        names = [a.name for a in self.attributes]
        check(len(set(names)) == len(names), "attribute names must be unique, got {}", names)

    def to_dict(self) -> dict[str, Any]:
        # The core's Config.to_dict leaves configs nested inside a tuple as objects; JSON needs dicts.
        return {"attributes": [a.to_dict() for a in self.attributes]}

    # ----- presets (training ranges; evaluation grids go beyond them, see data.py) -------------
    @classmethod
    def digits_rts(cls) -> AttributeSpace:
        """Rotation ±30°, translation ±2 px, scale 0.85–1.15 (MNIST-RTS)."""
        return cls((AttributeRange("rotation", -30.0, 30.0), AttributeRange("translate_x", -2.0, 2.0),
                    AttributeRange("translate_y", -2.0, 2.0), AttributeRange("scale", 0.85, 1.15)))

    @classmethod
    def digits_c(cls) -> AttributeSpace:
        """Blur σ ≤ 1 px, noise std ≤ 0.2, contrast 0.6–1.4, brightness ±0.2 (digits-C)."""
        return cls((AttributeRange("blur", 0.0, 1.0), AttributeRange("noise", 0.0, 0.2),
                    AttributeRange("contrast", 0.6, 1.4), AttributeRange("brightness", -0.2, 0.2)))

    @classmethod
    def cifar_c(cls) -> AttributeSpace:
        """The released CIFAR-10-C attributes b = (blur σ, noise level): σ ≤ 1, std ≤ 0.1."""
        return cls((AttributeRange("blur", 0.0, 1.0), AttributeRange("noise", 0.0, 0.1)))

    @classmethod
    def preset(cls, name: str) -> AttributeSpace:
        presets = {"digits-rts": cls.digits_rts, "digits-c": cls.digits_c, "cifar-c": cls.cifar_c}
        if name not in presets:
            raise UserError(f"unknown attribute space {name!r}; valid: {', '.join(presets)}")
        return presets[name]()

    # ----- normalised units -------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes)

    @property
    def dim(self) -> int:
        return len(self.attributes)

    def _column(self, values: list[float], like: torch.Tensor | None) -> torch.Tensor:
        if like is None:
            return torch.tensor(values)
        return torch.tensor(values, dtype=like.dtype, device=like.device)

    def lower(self, like: torch.Tensor | None = None) -> torch.Tensor:
        """Lower bounds of A in normalised units ``(K,)``."""
        return self._column([(a.low - a.neutral) / a.half_width for a in self.attributes], like)

    def upper(self, like: torch.Tensor | None = None) -> torch.Tensor:
        """Upper bounds of A in normalised units ``(K,)``."""
        return self._column([(a.high - a.neutral) / a.half_width for a in self.attributes], like)

    def to_raw(self, u: torch.Tensor) -> dict[str, torch.Tensor]:
        """Normalised ``(N, K)`` → raw attribute values, a ``(N,)`` tensor per name (differentiable)."""
        self._check_shape(u)
        return {a.name: a.neutral + u[:, k] * a.half_width for k, a in enumerate(self.attributes)}

    def from_raw(self, raw: dict[str, torch.Tensor]) -> torch.Tensor:
        """Raw values per name (missing: neutral) → normalised ``(N, K)``."""
        if not raw:
            raise UserError("from_raw needs at least one attribute value")
        unknown = sorted(set(raw) - set(self.names))
        if unknown:
            raise UserError(f"attribute(s) {unknown} are not in this space ({', '.join(self.names)})")
        like = next(iter(raw.values()))
        columns = [(raw[a.name] - a.neutral) / a.half_width if a.name in raw else torch.zeros_like(like)
                   for a in self.attributes]
        return torch.stack(columns, dim=1)

    def project(self, u: torch.Tensor) -> torch.Tensor:
        """Π_A: the nearest point of A (a box, so a clamp per attribute)."""
        self._check_shape(u)
        return torch.maximum(torch.minimum(u, self.upper(u)), self.lower(u))

    def contains(self, u: torch.Tensor, atol: float = 0.0) -> bool:
        """Whether every row of ``u`` lies in A."""
        self._check_shape(u)
        return bool(((u >= self.lower(u) - atol) & (u <= self.upper(u) + atol)).all())

    def neutral(self, n: int, like: torch.Tensor | None = None) -> torch.Tensor:
        """a₀ for ``n`` images: zeros ``(n, K)``."""
        if like is None:
            return torch.zeros(n, self.dim)
        return torch.zeros(n, self.dim, dtype=like.dtype, device=like.device)

    def sample(self, n: int, generator: torch.Generator | None = None,
               like: torch.Tensor | None = None) -> torch.Tensor:
        """Attributes drawn uniformly from A ``(n, K)``, on the generator's device, then moved."""
        device = generator.device if generator is not None else None
        unit = torch.rand(n, self.dim, generator=generator, device=device,
                          dtype=like.dtype if like is not None else torch.float32)
        if like is not None:
            unit = unit.to(like.device)
        low, high = self.lower(unit), self.upper(unit)
        return low + unit * (high - low)

    def apply(self, images: torch.Tensor, u: torch.Tensor, *, noise: torch.Tensor | None = None,
              generator: torch.Generator | None = None, clip: bool = True) -> torch.Tensor:
        """G(x, u) with normalised attributes (see :func:`~methodzoo.attr_adv.transforms.apply_attributes`)."""
        return apply_attributes(images, self.to_raw(u), noise=noise, generator=generator, clip=clip)

    def _check_shape(self, u: torch.Tensor) -> None:
        if u.ndim != 2 or u.shape[1] != self.dim:
            raise UserError(f"normalised attributes must be (N, {self.dim}) for {', '.join(self.names)}, "
                            f"got shape {tuple(u.shape)}")


__all__ = ["AttributeRange", "AttributeSpace"]
