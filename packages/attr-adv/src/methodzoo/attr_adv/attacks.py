"""The inner maximisation as attacks with torchattacks' calling convention: ``attack(x, y)``.

:class:`AttributeAttack` searches the attribute space A by projected gradient ascent on J (the
AGAT inner loop); :class:`LinfPGD` is the pixel-space ℓ∞ baseline (the same steps as
``torchattacks.PGD``, which a test checks against it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.attr_adv.config import InnerConfig, PGDConfig
from methodzoo.attr_adv.models import features_and_logits
from methodzoo.attr_adv.objectives import (
    CleanReference,
    agat_objective,
    ce_ascent_objective,
    clean_reference,
)
from methodzoo.attr_adv.space import AttributeSpace
from methodzoo.attr_adv.transforms import draw_noise
from methodzoo.shared.modules import eval_mode
from methodzoo.shared.seed import make_generator


@dataclass
class AttackResult:
    """x' = G(x, a*), the normalised a* ``(N, K)`` and where the search started."""

    images: torch.Tensor
    attributes: torch.Tensor
    start: torch.Tensor
    noise: torch.Tensor | None
    objective: list[float] = field(default_factory=list)  # Σ_i J after 0, 1, …, steps updates


class AttributeAttack:
    """a* ≈ argmax_{a ∈ A} J(θ; x, y, a): ``inner_steps`` SGD-ascent steps on a, each followed by Π_A.

    The attributes are **one leaf tensor** that the optimiser steps in place and that G reads at
    every step (the released code rebinds the variable after building its optimiser, which then
    steps a stale tensor, and converts the noise level to a float, which cuts its gradient).
    The noise ε is drawn once per call, so J is a deterministic function of a during the search.
    The model is put in eval mode for the search and its parameters get no gradient.

        attack = AttributeAttack(model, AttributeSpace.digits_rts(), InnerConfig(), generator=0)
        x_adv, a = attack(x, y)
    """

    def __init__(self, model: nn.Module, space: AttributeSpace, config: InnerConfig | None = None, *,
                 generator: torch.Generator | int | None = None) -> None:
        self.model = model
        self.space = space
        self.config = config or InnerConfig()
        self.generator = make_generator(generator)

    def __call__(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        result = self.run(images, labels)
        return result.images, result.attributes

    def initial_attributes(self, images: torch.Tensor) -> torch.Tensor:
        """The search's start: uniform over A (released code) or a₀."""
        if self.config.start == "neutral":
            return self.space.neutral(images.shape[0], like=images)
        return self.space.sample(images.shape[0], self.generator, like=images)

    def objective(self, images: torch.Tensor, labels: torch.Tensor, u: torch.Tensor,
                  noise: torch.Tensor | None, clean: CleanReference) -> torch.Tensor:
        """J per image at normalised attributes ``u`` (differentiable in ``u``)."""
        features, logits = features_and_logits(self.model, self.space.apply(images, u, noise=noise))
        if self.config.objective == "ce_ascent":
            return ce_ascent_objective(logits, labels)
        return agat_objective(logits, features, labels, u, clean, self.config.lam, self.config.feature_squash)

    def run(self, images: torch.Tensor, labels: torch.Tensor) -> AttackResult:
        start = self.initial_attributes(images)
        noise = draw_noise(images, self.generator) if "noise" in self.space.names else None
        with eval_mode(self.model):
            clean = clean_reference(self.model, images, self.config.feature_squash)
            attributes = start.clone().requires_grad_(True)  # the one leaf G reads and SGD steps
            optimizer = torch.optim.SGD([attributes], lr=self.config.step_size, maximize=True)
            trace = []
            for _ in range(self.config.inner_steps):
                optimizer.zero_grad(set_to_none=True)
                value = self.objective(images, labels, attributes, noise, clean).sum()
                trace.append(float(value.detach()))
                value.backward(inputs=[attributes])
                optimizer.step()
                with torch.no_grad():
                    attributes.copy_(self.space.project(attributes))
            with torch.no_grad():
                final = attributes.detach().clone()
                if self.config.inner_steps:
                    trace.append(float(self.objective(images, labels, final, noise, clean).sum()))
                adversarial = self.space.apply(images, final, noise=noise)
        return AttackResult(adversarial, final, start, noise, trace)


class LinfPGD:
    """ℓ∞ PGD (Madry et al., ICLR 2018) with torchattacks' update, on inputs in [0, 1]:
    x ← clip_[0,1](x₀ + clip_ε(x + α·sign ∇ₓ CE − x₀)), from a uniform start in the ε-ball."""

    def __init__(self, model: nn.Module, config: PGDConfig | None = None, *,
                 generator: torch.Generator | int | None = None) -> None:
        self.model = model
        self.config = config or PGDConfig()
        self.generator = make_generator(generator)

    def __call__(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        eps, alpha = self.config.pgd_eps, self.config.pgd_alpha
        original = images.detach()
        adversarial = original.clone()
        if self.config.pgd_random_start:
            unit = torch.rand(original.shape, generator=self.generator, dtype=original.dtype,
                              device=self.generator.device).to(original.device)
            adversarial = (adversarial + (2 * unit - 1) * eps).clamp(0, 1)
        with eval_mode(self.model):
            for _ in range(self.config.pgd_steps):
                adversarial.requires_grad_(True)
                loss = F.cross_entropy(self.model(adversarial), labels)
                (grad,) = torch.autograd.grad(loss, adversarial)
                adversarial = adversarial.detach() + alpha * grad.sign()
                delta = (adversarial - original).clamp(-eps, eps)
                adversarial = (original + delta).clamp(0, 1).detach()
        return adversarial


__all__ = ["AttackResult", "AttributeAttack", "LinfPGD"]
