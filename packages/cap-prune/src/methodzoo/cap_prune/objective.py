"""CAP's training objective (Xu et al. 2022, Eq. 9 and its unstructured variant):

    L = λ_ce·CE + λ_kd·T²·KL(softmax(t/T) ‖ softmax(s/T)) + Σ_{m ∈ {pre, fine, snap}} (L_unsup^m + L_sup^m)

The teacher's logits enter as a tensor (the teacher runs in eval mode, so its logits are a fixed
function of the example and can be computed once per training set).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from methodzoo.cap_prune.banks import RepresentationBank
from methodzoo.cap_prune.config import ContrastiveConfig, DistillConfig, Mode
from methodzoo.cap_prune.contrastive import contrastive_terms, normalize
from methodzoo.shared.errors import ConfigError


def knowledge_distillation(student_logits: torch.Tensor, teacher_logits: torch.Tensor | None,
                           labels: torch.Tensor, *, lambda_ce: float, lambda_kd: float,
                           temperature: float) -> dict[str, torch.Tensor]:
    """``{"ce": λ_ce·CE, "kd": λ_kd·T²·KL}`` (KL with batch-mean reduction, as the official code)."""
    from methodzoo.shared.compress import distillation_loss

    ce = F.cross_entropy(student_logits, labels)
    terms = {"ce": lambda_ce * ce}
    if lambda_kd:
        if teacher_logits is None:
            raise ConfigError("lambda_kd > 0 needs the teacher's logits")
        # The core's Hinton loss is (1 − w)·CE + w·T²·KL; with w = 1 it is the soft term alone.
        terms["kd"] = lambda_kd * distillation_loss(student_logits, teacher_logits, labels,
                                                    temperature=temperature, weight=1.0)
    return terms


class CAPObjective:
    """Cross-entropy, distillation and the contrastive terms of the enabled banks.

    ``banks`` maps ``"pre"``, ``"fine"`` and ``"snap"`` to their :class:`RepresentationBank`; a
    bank with no rows yet (SnC before the first snapshot) is skipped. ``generator`` draws the
    random bank examples of every step.
    """

    def __init__(self, contrastive: ContrastiveConfig, distill: DistillConfig, mode: Mode,
                 banks: Mapping[str, RepresentationBank], generator: torch.Generator) -> None:
        missing = [name for name in contrastive.banks if name not in banks]
        if missing:
            raise ConfigError(f"contrastive modules {missing} have no bank")
        self.contrastive = contrastive
        self.distill = distill
        self.mode = mode
        self.banks = dict(banks)
        self.generator = generator
        self.lambda_unsup, self.lambda_sup = contrastive.weights(mode)
        self.temperature = distill.temperature(mode)

    def contrastive_loss(self, name: str, anchors: torch.Tensor, indices: torch.Tensor,
                         labels: torch.Tensor) -> torch.Tensor:
        """L_unsup + L_sup against bank ``name`` (PrC, FiC or SnC)."""
        bank = self.banks[name]
        extra = bank.sample_extra(self.contrastive.bank_size, self.generator)
        candidates = bank.candidates(anchors, indices, labels, extra)
        terms = contrastive_terms(anchors, indices.to(anchors.device), labels, candidates,
                                  temperature=self.contrastive.temperature, lambda_unsup=self.lambda_unsup,
                                  lambda_sup=self.lambda_sup, normalization=self.contrastive.normalization)
        return terms.total

    def __call__(self, logits: torch.Tensor, representation: torch.Tensor, labels: torch.Tensor,
                 indices: torch.Tensor, teacher_logits: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """``{"loss": total, "ce": ..., "kd": ..., "pre": ..., "fine": ..., "snap": ...}``."""
        terms = knowledge_distillation(logits, teacher_logits, labels, lambda_ce=self.distill.lambda_ce,
                                       lambda_kd=self.distill.lambda_kd, temperature=self.temperature)
        if self.contrastive.banks:
            anchors = normalize(representation)
            for name in self.contrastive.banks:
                if self.banks[name].rows > 0:
                    terms[name] = self.contrastive_loss(name, anchors, indices, labels)
        terms["loss"] = torch.stack(list(terms.values())).sum()
        return terms
