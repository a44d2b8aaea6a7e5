"""The training methods, one API: ERM, uniform random attributes, AGAT, CE ascent, AugMix, PGD.

Every method is a class with the min–max of the paper as overridable steps:

- :meth:`TrainingMethod.inner_maximization` (x, y) → perturbed batch: a* ≈ argmax_{a ∈ A} J and
  x' = G(x, a*) for AGAT; a uniform a for random augmentation; an ℓ∞ PGD example for PGD.
- :meth:`TrainingMethod.outer_loss` (x, y[, x']): what θ minimises,
  ℓ(f(x), y) + ℓ(f(x'), y) when x' is given (the paper's outer objective), ℓ(f(x), y) alone
  otherwise; AugMix adds its Jensen–Shannon consistency term.

The training loop (:mod:`~methodzoo.attr_adv.train`) decides when the inner maximisation runs:
into the growing augmentation pool of the released code, or online on every batch.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.attr_adv.attacks import AttributeAttack, LinfPGD
from methodzoo.attr_adv.augmix import augmix, jensen_shannon
from methodzoo.attr_adv.config import AugMixConfig, InnerConfig, PGDConfig
from methodzoo.attr_adv.space import AttributeSpace
from methodzoo.attr_adv.transforms import draw_noise
from methodzoo.shared.errors import UserError
from methodzoo.shared.seed import make_generator


class Perturbed(NamedTuple):
    """A perturbed batch; ``attributes`` are the normalised a* (None for pixel-space methods)."""

    images: torch.Tensor
    attributes: torch.Tensor | None


class TrainingMethod:
    """ERM: the base of all methods (no inner maximisation; the outer loss is plain CE)."""

    name: ClassVar[str] = "erm"
    perturbs: ClassVar[bool] = False  # whether inner_maximization produces training examples

    def __init__(self, model: nn.Module, space: AttributeSpace, *, inner: InnerConfig | None = None,
                 pgd: PGDConfig | None = None, augmix: AugMixConfig | None = None,
                 generator: torch.Generator | int | None = None) -> None:
        self.model = model
        self.space = space
        self.inner = inner or InnerConfig()
        self.pgd = pgd or PGDConfig()
        self.augmix = augmix or AugMixConfig()
        self.generator = make_generator(generator)
        self.setup()

    def setup(self) -> None:
        """Build what the method needs beyond the model (its attack); called by ``__init__``."""

    def inner_maximization(self, images: torch.Tensor, labels: torch.Tensor) -> Perturbed:
        raise UserError(f"method {self.name!r} generates no perturbed examples")

    def outer_loss(self, images: torch.Tensor, labels: torch.Tensor,
                   perturbed: torch.Tensor | None = None) -> torch.Tensor:
        loss = F.cross_entropy(self.model(images), labels)
        if perturbed is not None:
            loss = loss + F.cross_entropy(self.model(perturbed), labels)
        return loss


class ERM(TrainingMethod):
    """Empirical risk minimisation on clean images."""


class RandomAttributes(TrainingMethod):
    """Uniform random-attribute augmentation: a ~ U(A), x' = G(x, a). What the released AGAT code
    actually does, since its search steps a stale tensor."""

    name = "random"
    perturbs = True

    def inner_maximization(self, images: torch.Tensor, labels: torch.Tensor) -> Perturbed:
        u = self.space.sample(images.shape[0], self.generator, like=images)
        noise = draw_noise(images, self.generator) if "noise" in self.space.names else None
        with torch.no_grad():
            return Perturbed(self.space.apply(images, u, noise=noise), u)


class AGAT(TrainingMethod):
    """Attribute-guided adversarial training: the inner maximisation searches A (:class:`AttributeAttack`)."""

    name = "agat"
    perturbs = True
    objective: ClassVar[str] = "agat"

    def setup(self) -> None:
        self.attack = AttributeAttack(self.model, self.space, self.inner.replace(objective=self.objective),
                                      generator=self.generator)
        self.last_objective: list[float] = []

    def inner_maximization(self, images: torch.Tensor, labels: torch.Tensor) -> Perturbed:
        result = self.attack.run(images, labels)
        self.last_objective = result.objective
        return Perturbed(result.images, result.attributes)


class CEAscent(AGAT):
    """The classic worst case over A: maximise CE(f(G(x, a)), y) instead of AGAT's J."""

    name = "ce_ascent"
    objective = "ce_ascent"


class PGDTraining(TrainingMethod):
    """ℓ∞ PGD adversarial training in pixel space (the attribute space is not used)."""

    name = "pgd"
    perturbs = True

    def setup(self) -> None:
        self.attack = LinfPGD(self.model, self.pgd, generator=self.generator)

    def inner_maximization(self, images: torch.Tensor, labels: torch.Tensor) -> Perturbed:
        return Perturbed(self.attack(images, labels), None)


class AugMix(TrainingMethod):
    """AugMix: CE on the clean image + λ_JSD · JS(p(x), p(augmix₁(x)), p(augmix₂(x)))."""

    name = "augmix"

    def outer_loss(self, images: torch.Tensor, labels: torch.Tensor,
                   perturbed: torch.Tensor | None = None) -> torch.Tensor:
        views = [augmix(images, self.space, self.augmix, self.generator) for _ in range(2)]
        logits = self.model(torch.cat([images, *views]))  # (3N, classes)
        clean, first, second = logits.chunk(3)
        return F.cross_entropy(clean, labels) + self.augmix.jsd_weight * jensen_shannon(clean, first, second)


METHOD_CLASSES: dict[str, type[TrainingMethod]] = {
    cls.name: cls for cls in (ERM, RandomAttributes, AGAT, CEAscent, AugMix, PGDTraining)}


def build_method(name: str, model: nn.Module, space: AttributeSpace, *, inner: InnerConfig | None = None,
                 pgd: PGDConfig | None = None, augmix: AugMixConfig | None = None,
                 generator: torch.Generator | int | None = None) -> TrainingMethod:
    """The method called ``name`` (erm, random, agat, ce_ascent, augmix, pgd) around ``model``."""
    if name not in METHOD_CLASSES:
        raise UserError(f"unknown method {name!r}; valid: {', '.join(METHOD_CLASSES)}")
    return METHOD_CLASSES[name](model, space, inner=inner, pgd=pgd, augmix=augmix, generator=generator)


__all__ = ["AGAT", "ERM", "METHOD_CLASSES", "AugMix", "CEAscent", "PGDTraining", "Perturbed", "RandomAttributes",
           "TrainingMethod", "build_method"]
