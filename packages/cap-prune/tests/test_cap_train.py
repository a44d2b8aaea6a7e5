"""Tiny end-to-end runs: fine-tune, CAP unstructured pruning with exact resume, CAP-f."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import transformers

from methodzoo.cap_prune import (
    ContrastiveConfig,
    DistillConfig,
    FinetuneConfig,
    MaskableBertForSequenceClassification,
    MaskableBertModel,
    StructuredConfig,
    UnstructuredConfig,
    encode_representations,
    evaluate,
    finetune,
    load_classifier,
    prune_structured,
    prune_unstructured,
    save_classifier,
    teacher_outputs,
)


def _classifier(hf_bert: transformers.BertModel, seed: int = 0) -> MaskableBertForSequenceClassification:
    return MaskableBertForSequenceClassification.from_hf(hf_bert, num_labels=3,
                                                         generator=torch.Generator().manual_seed(seed)).train()


def _teacher(make_hf_bert, make_tiny_task) -> tuple:
    hf = make_hf_bert(0, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    train, test = make_tiny_task(60, seed=0), make_tiny_task(30, seed=1)
    teacher = _classifier(hf)
    result = finetune(teacher, train, FinetuneConfig(epochs=12, batch_size=12, lr=3e-3, warmup_ratio=0.1), seed=0,
                      test=test, show_progress=False)
    pretrained = encode_representations(MaskableBertForSequenceClassification.from_hf(hf, num_labels=3), train)
    return hf, train, test, teacher, result, pretrained


def test_finetuning_learns_the_tiny_task(make_hf_bert, make_tiny_task) -> None:
    _, _, test, teacher, result, _ = _teacher(make_hf_bert, make_tiny_task)
    assert result.accuracy is not None and result.accuracy >= 0.9  # chance is 1/3
    assert result.accuracy == evaluate(teacher, test)
    assert result.steps == 12 * 5 and result.step_ms is not None


def test_cap_prunes_to_the_target_and_keeps_accuracy(make_hf_bert, make_tiny_task) -> None:
    hf, train, test, teacher, _, pretrained = _teacher(make_hf_bert, make_tiny_task)
    outputs = teacher_outputs(teacher, train)
    student = _classifier(hf)
    student.load_state_dict(teacher.state_dict())
    config = UnstructuredConfig(pruner="magnitude", sparsity=0.7, epochs=4, batch_size=12, lr=1e-3,
                                warmup_ratio=0.1, initial_warmup=1, final_warmup=1)
    result = prune_unstructured(student, train, config, ContrastiveConfig(bank_size=16), DistillConfig(),
                                teacher=outputs, pretrained=pretrained, seed=0, test=test, show_progress=False)
    assert result.sparsity == pytest.approx(0.7, abs=0.01)
    assert result.details["snapshots"] == 3  # the start of epochs 1, 2 and 3
    assert set(result.losses) >= {"loss", "ce", "kd", "pre", "fine", "snap"}
    assert result.accuracy is not None and result.accuracy >= 0.8


def test_unstructured_run_resumes_exactly(make_hf_bert, make_tiny_task, tmp_path: Path) -> None:
    hf = make_hf_bert(0)
    train = make_tiny_task(36, seed=0)
    teacher = _classifier(hf, seed=1).eval()
    outputs = teacher_outputs(teacher, train)
    pretrained = encode_representations(teacher, train)
    config = UnstructuredConfig(pruner="movement", sparsity=0.5, epochs=3, batch_size=12, warmup_ratio=0.1,
                                initial_warmup=1, final_warmup=1, lr=1e-3)
    contrastive = ContrastiveConfig(bank_size=8)

    def run(folder: Path, resume: bool) -> list[float]:
        model = _classifier(hf, seed=2)
        result = prune_unstructured(model, train, config, contrastive, teacher=outputs, pretrained=pretrained, seed=3,
                                    checkpoint_dir=folder, resume=resume, checkpoint_every=3, show_progress=False)
        return result.losses["loss"]

    uninterrupted = run(tmp_path, resume=False)
    # Simulate a crash after the step-6 checkpoint: drop the newer one and resume a fresh run.
    for suffix in ("json", "safetensors"):
        (tmp_path / f"step-00000009.{suffix}").unlink()
    (tmp_path / "latest.json").write_text(json.dumps({"checkpoint": "step-00000006.json"}))
    resumed = run(tmp_path, resume=True)
    assert len(uninterrupted) == len(resumed) == 9
    torch.testing.assert_close(torch.tensor(resumed), torch.tensor(uninterrupted), rtol=1e-5, atol=1e-6)


def test_structured_cap_keeps_heads_and_shrinks_the_encoder(make_hf_bert, make_tiny_task, tmp_path: Path) -> None:
    hf = make_hf_bert(0)
    train, test = make_tiny_task(36, seed=0), make_tiny_task(12, seed=1)
    teacher = _classifier(hf, seed=1).eval()
    outputs = teacher_outputs(teacher, train)
    model = _classifier(hf, seed=1)
    seen: list[float] = []
    steps = prune_structured(model, train, StructuredConfig(ratios=(0.5, 0.9), epochs_per_step=1, batch_size=12,
                                                            importance_examples=24),
                             ContrastiveConfig(bank_size=8), DistillConfig(), teacher=outputs,
                             pretrained=encode_representations(teacher, train), test=test, show_progress=False,
                             on_step=lambda step, m: seen.append(step.ratio))
    assert seen == [0.5, 0.9]
    assert [s.heads_kept for s in steps] == [4, 2]  # 8 heads: 4 pruned, then 7 capped at one per layer
    assert bool((model.bert.head_mask.sum(1) >= 1).all())
    assert [s.neurons_kept for s in steps] == [48, round(0.1 * 96)]
    assert steps[0].encoder_parameters > steps[1].encoder_parameters
    small = model.compact().eval()
    batch = test.batch(torch.arange(12))
    with torch.no_grad():
        torch.testing.assert_close(small(*batch.inputs).logits, model.eval()(*batch.inputs).logits, atol=1e-5, rtol=0)
    save_classifier(tmp_path / "small", small, label_names=test.label_names, tokenizer_source="none")
    loaded = load_classifier(tmp_path / "small")
    assert loaded.model.config.heads == small.config.heads
    assert isinstance(loaded.model.bert, MaskableBertModel)


def test_saved_pruned_models_keep_their_masks(make_hf_bert, make_tiny_task, tmp_path: Path) -> None:
    hf = make_hf_bert(0)
    train = make_tiny_task(24, seed=0)
    model = _classifier(hf)
    result = prune_unstructured(model, train, UnstructuredConfig(pruner="movement", sparsity=0.6, epochs=1,
                                                                 batch_size=12, warmup_ratio=0.0, initial_warmup=0,
                                                                 final_warmup=0),
                                ContrastiveConfig(modules=("none",)), DistillConfig(lambda_kd=0.0, lambda_ce=1.0),
                                teacher=None, pretrained=None, show_progress=False)
    assert result.sparsity == pytest.approx(0.6, abs=0.01)
    save_classifier(tmp_path, model, label_names=train.label_names, tokenizer_source="none", extra={"a": 1})
    loaded = load_classifier(tmp_path)
    batch = train.batch(torch.arange(6))
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(*batch.inputs).logits, model.eval()(*batch.inputs).logits)
    assert loaded.extra == {"a": 1} and loaded.label_names == train.label_names


def test_runs_do_not_depend_on_the_global_random_state(make_hf_bert, make_tiny_task) -> None:
    hf = make_hf_bert(0)  # dropout 0.1: the draws come from the global RNG, re-seeded per step
    train = make_tiny_task(24, seed=0)
    losses = []
    for noise in (1, 5):
        torch.rand(noise)  # move the global RNG between the two runs
        result = finetune(_classifier(hf), train, FinetuneConfig(epochs=2, batch_size=8, lr=1e-3), seed=4,
                          show_progress=False)
        losses.append(result.losses["loss"])
    assert losses[0] == losses[1]
