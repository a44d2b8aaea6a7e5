"""Accuracy under attribute shifts: evaluation grids that reach beyond the training ranges.

A :class:`ShiftPoint` sets one attribute (two directions per magnitude) and leaves the others
neutral. A point is *held out* when its value lies outside the training range the attribute has
in the attribute space: those points measure extrapolation to unseen, larger shifts. Reported:
clean accuracy, the mean over held-out points ("shift") and the worst point of the grid.
The noise ε of the noise points comes from a fixed seed, the same for every model compared.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from methodzoo.attr_adv.space import AttributeSpace
from methodzoo.attr_adv.transforms import NEUTRAL, apply_attributes
from methodzoo.shared.errors import UserError
from methodzoo.shared.modules import eval_mode
from methodzoo.shared.seed import make_generator

# One-sided attributes shift in one direction; contrast's magnitude is the loss 1 − c.
GRID_VALUES: dict[str, dict[str, tuple[float, ...]]] = {
    "digits-rts": {
        "rotation": (-60, -45, -30, -15, 15, 30, 45, 60),
        "translate_x": (-4, -3, -2, -1, 1, 2, 3, 4),
        "translate_y": (-4, -3, -2, -1, 1, 2, 3, 4),
        "scale": (0.7, 0.8, 0.9, 1.1, 1.2, 1.3),
    },
    "digits-c": {
        "blur": (0.5, 1.0, 1.5, 2.0, 2.5),
        "noise": (0.1, 0.2, 0.3, 0.4, 0.5),
        "contrast": (0.8, 0.6, 0.4, 0.3, 0.2),
        "brightness": (-0.4, -0.3, -0.2, -0.1, 0.1, 0.2, 0.3, 0.4),
    },
    "cifar-c": {
        "blur": (0.5, 1.0, 1.5, 2.0),
        "noise": (0.04, 0.08, 0.12, 0.16, 0.2),
    },
}


@dataclass(frozen=True)
class ShiftPoint:
    """One grid point: ``attribute`` at ``value`` (raw units), |value − neutral| = ``magnitude``."""

    attribute: str
    value: float
    held_out: bool

    @property
    def magnitude(self) -> float:
        return abs(self.value - NEUTRAL[self.attribute])


def shift_grid(name: str, space: AttributeSpace) -> tuple[ShiftPoint, ...]:
    """The evaluation grid ``name`` (digits-rts, digits-c, cifar-c), held-out flags from ``space``."""
    if name not in GRID_VALUES:
        raise UserError(f"unknown evaluation grid {name!r}; valid: {', '.join(GRID_VALUES)}")
    ranges = {a.name: a for a in space.attributes}
    points = []
    for attribute, values in GRID_VALUES[name].items():
        trained = ranges.get(attribute)
        for value in values:
            held_out = trained is None or not trained.low <= value <= trained.high
            points.append(ShiftPoint(attribute, float(value), held_out))
    return tuple(points)


@dataclass
class GridResult:
    """Accuracy on clean test images and at every grid point (same order as ``points``)."""

    clean: float
    points: list[ShiftPoint]
    accuracies: list[float]
    corruptions: dict[str, float] = field(default_factory=dict)  # "<name>@<severity>" → accuracy

    @property
    def shift(self) -> float:
        """Mean accuracy over the held-out (beyond the training range) points."""
        held = [a for p, a in zip(self.points, self.accuracies, strict=True) if p.held_out]
        return statistics.fmean(held) if held else float("nan")

    @property
    def in_range(self) -> float:
        """Mean accuracy over the points inside the training range."""
        inside = [a for p, a in zip(self.points, self.accuracies, strict=True) if not p.held_out]
        return statistics.fmean(inside) if inside else float("nan")

    @property
    def worst(self) -> float:
        """The lowest accuracy over the grid (clean included)."""
        return min([self.clean, *self.accuracies])

    def by_magnitude(self) -> dict[str, list[tuple[float, float, bool]]]:
        """Per attribute: (magnitude, accuracy averaged over directions, held out), magnitude 0 = clean."""
        curves: dict[str, dict[float, list[float]]] = {}
        held: dict[tuple[str, float], bool] = {}
        for point, accuracy in zip(self.points, self.accuracies, strict=True):
            curves.setdefault(point.attribute, {0.0: [self.clean]}).setdefault(point.magnitude, []).append(accuracy)
            held[(point.attribute, point.magnitude)] = held.get((point.attribute, point.magnitude), False) or point.held_out
        return {attribute: [(m, statistics.fmean(values), held.get((attribute, m), False))
                            for m, values in sorted(by.items())] for attribute, by in curves.items()}

    def to_dict(self) -> dict[str, object]:
        return {"clean": self.clean, "shift": self.shift, "in_range": self.in_range, "worst": self.worst,
                "points": [{"attribute": p.attribute, "value": p.value, "magnitude": p.magnitude,
                            "held_out": p.held_out, "accuracy": a}
                           for p, a in zip(self.points, self.accuracies, strict=True)],
                "corruptions": dict(self.corruptions)}


def accuracy_on(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy of ``model`` (eval mode, no gradients), in batches on the model's device."""
    if len(labels) == 0:
        raise UserError("cannot evaluate on an empty test set")
    device = next(model.parameters()).device
    correct = 0
    with eval_mode(model), torch.no_grad():
        for start in range(0, len(labels), batch_size):
            batch = images[start:start + batch_size].to(device)
            correct += int((model(batch).argmax(dim=1).cpu() == labels[start:start + batch_size]).sum())
    return correct / len(labels)


def shifted_images(images: torch.Tensor, point: ShiftPoint, noise_seed: int = 0) -> torch.Tensor:
    """The test images at one grid point (deterministic: the noise ε comes from ``noise_seed``)."""
    n = images.shape[0]
    value = torch.full((n,), point.value, dtype=images.dtype)
    noise = None
    if point.attribute == "noise":
        noise = torch.randn(images.shape, generator=make_generator(noise_seed), dtype=images.dtype)
    with torch.no_grad():
        return apply_attributes(images, {point.attribute: value}, noise=noise)


def evaluate_grid(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, points: Sequence[ShiftPoint],
                  *, noise_seed: int = 0, shifted: Sequence[torch.Tensor] | None = None) -> GridResult:
    """Clean accuracy and accuracy at each grid point. ``shifted`` reuses images made by
    :func:`shifted_images` (one tensor per point) when several models share a grid."""
    if shifted is not None and len(shifted) != len(points):
        raise UserError(f"got {len(shifted)} shifted image sets for {len(points)} grid points")
    accuracies = []
    for index, point in enumerate(points):
        moved = shifted[index] if shifted is not None else shifted_images(images, point, noise_seed)
        accuracies.append(accuracy_on(model, moved, labels))
    return GridResult(accuracy_on(model, images, labels), list(points), accuracies)


__all__ = ["GRID_VALUES", "GridResult", "ShiftPoint", "accuracy_on", "evaluate_grid", "shift_grid",
           "shifted_images"]
