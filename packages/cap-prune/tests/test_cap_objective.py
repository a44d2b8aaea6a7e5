"""Knowledge distillation and the assembled CAP objective."""

from __future__ import annotations

import pytest
import torch

from methodzoo.cap_prune import (
    CAPObjective,
    ContrastiveConfig,
    DistillConfig,
    RepresentationBank,
    knowledge_distillation,
)
from methodzoo.shared.errors import ConfigError


def test_kd_is_zero_when_the_student_is_the_teacher() -> None:
    logits = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 3, (8,), generator=torch.Generator().manual_seed(1))
    terms = knowledge_distillation(logits, logits.clone(), labels, lambda_ce=0.1, lambda_kd=0.9, temperature=2.0)
    assert float(terms["kd"]) == pytest.approx(0.0, abs=1e-6)
    assert float(terms["ce"]) == pytest.approx(0.1 * float(torch.nn.functional.cross_entropy(logits, labels)))


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0])
def test_kd_is_t_squared_times_the_batch_mean_kl(temperature: float) -> None:
    generator = torch.Generator().manual_seed(2)
    student, teacher = torch.randn(5, 3, generator=generator), torch.randn(5, 3, generator=generator)
    labels = torch.zeros(5, dtype=torch.long)
    p_teacher = (teacher / temperature).softmax(-1)
    kl = (p_teacher * (p_teacher.log() - (student / temperature).log_softmax(-1))).sum(1).mean()
    terms = knowledge_distillation(student, teacher, labels, lambda_ce=0.0, lambda_kd=0.9, temperature=temperature)
    assert float(terms["kd"]) == pytest.approx(0.9 * temperature**2 * float(kl), rel=1e-5)


def test_objective_sums_its_terms_and_skips_an_empty_snapshot_bank() -> None:
    labels = torch.tensor([0, 1, 0, 1, 2, 2])
    banks = {name: RepresentationBank(labels, 8) for name in ("pre", "fine", "snap")}
    banks["pre"].append(torch.randn(6, 8))
    banks["fine"].append(torch.randn(6, 8))
    objective = CAPObjective(ContrastiveConfig(bank_size=4), DistillConfig(), "unstructured", banks,
                             torch.Generator().manual_seed(0))
    assert (objective.lambda_unsup, objective.lambda_sup, objective.temperature) == (0.1, 10.0, 2.0)
    indices = torch.tensor([0, 3, 4])
    logits = torch.randn(3, 3, requires_grad=True)
    representation = torch.randn(3, 8, requires_grad=True)
    terms = objective(logits, representation, labels[indices], indices, torch.randn(3, 3))
    assert set(terms) == {"ce", "kd", "pre", "fine", "loss"}
    total = terms["ce"] + terms["kd"] + terms["pre"] + terms["fine"]
    torch.testing.assert_close(terms["loss"], total)
    terms["loss"].backward()
    assert representation.grad is not None and logits.grad is not None
    banks["snap"].append(torch.randn(6, 8))
    assert "snap" in objective(logits, representation, labels[indices], indices, torch.randn(3, 3))


def test_structured_mode_defaults_and_missing_banks() -> None:
    labels = torch.tensor([0, 1])
    objective = CAPObjective(ContrastiveConfig(modules=("none",)), DistillConfig(), "structured", {},
                             torch.Generator())
    assert (objective.lambda_unsup, objective.lambda_sup, objective.temperature) == (0.3, 3.0, 1.0)
    with pytest.raises(ConfigError, match="no bank"):
        CAPObjective(ContrastiveConfig(modules=("pre",)), DistillConfig(), "unstructured",
                     {"fine": RepresentationBank(labels, 2)}, torch.Generator())
    with pytest.raises(ConfigError, match="teacher"):
        knowledge_distillation(torch.zeros(2, 2), None, labels, lambda_ce=0.1, lambda_kd=0.9, temperature=2.0)
    with pytest.raises(ConfigError, match="unknown contrastive"):
        ContrastiveConfig(modules=("pre", "prc"))
