"""The steps shared by the command line and the benchmark: data for a source model, the fixed
teacher and pre-trained representations, a student to prune."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch

from methodzoo.cap_prune.banks import encode_representations
from methodzoo.cap_prune.classifier import MaskableBertForSequenceClassification
from methodzoo.cap_prune.config import ContrastiveConfig, DataConfig, DistillConfig
from methodzoo.cap_prune.data import TokenizedTexts, load_tokenized
from methodzoo.cap_prune.models import Source, classifier_from_source
from methodzoo.cap_prune.train import TeacherOutputs, teacher_outputs


@dataclass
class TaskData:
    """Tokenized training and test sets of one task."""

    train: TokenizedTexts
    test: TokenizedTexts


def load_data(tokenizer: object, data: DataConfig, *, archive: str | Path | None = None) -> TaskData:
    """The task's training and test splits, tokenized by ``tokenizer``."""
    train = load_tokenized(data.task, "train", tokenizer, data.max_length, limit=data.train_limit,
                           data_root=data.data_root, archive=archive)
    test = load_tokenized(data.task, "test", tokenizer, data.max_length, limit=data.test_limit,
                          data_root=data.data_root, archive=archive)
    return TaskData(train, test)


def pretrained_representations(source: Source, train: TokenizedTexts, contrastive: ContrastiveConfig,
                               device: torch.device | str = "cpu",
                               show_progress: bool | None = None) -> torch.Tensor:
    """The pre-trained encoder's representations of the training set (the PrC bank)."""
    from methodzoo.shared.progress import progress

    model = classifier_from_source(source, train.num_labels, contrastive.representation).to(device).eval()
    return encode_representations(model, train, batch_size=contrastive.bank_batch_size,
                                  dropout=contrastive.bank_dropout,
                                  progress=lambda it, desc: progress(it, desc=desc, enabled=show_progress))


def fixed_targets(teacher: MaskableBertForSequenceClassification, source: Source, train: TokenizedTexts,
                  contrastive: ContrastiveConfig, distill: DistillConfig, *,
                  show_progress: bool | None = None) -> tuple[TeacherOutputs | None, torch.Tensor | None]:
    """What the pruned model is trained against and never changes: the teacher's logits and
    representations (KD, FiC) and the pre-trained representations (PrC), each only if used."""
    device = next(teacher.parameters()).device
    teacher.representation = contrastive.representation
    outputs = (teacher_outputs(teacher, train, show_progress=show_progress)
               if distill.lambda_kd or "fine" in contrastive.banks else None)
    pretrained = (pretrained_representations(source, train, contrastive, device, show_progress)
                  if "pre" in contrastive.banks else None)
    return outputs, pretrained


def make_student(init_from: str, teacher: MaskableBertForSequenceClassification, source: Source,
                 contrastive: ContrastiveConfig, seed: int) -> MaskableBertForSequenceClassification:
    """A copy of the teacher (``finetuned``) or the pre-trained encoder with a new head."""
    if init_from == "finetuned":
        student = copy.deepcopy(teacher)
    else:
        student = classifier_from_source(source, teacher.num_labels, contrastive.representation, seed=seed,
                                         head_input=teacher.head_input)
    student.representation = contrastive.representation
    return student.to(next(teacher.parameters()).device).train()
