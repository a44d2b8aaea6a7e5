"""methodzoo.cap_prune — Contrastive Pruning (CAP) of pre-trained language models.

Xu, Luo, Wang, Chang, Huang, Huang, Huang, "From Dense to Sparse: Contrastive Pruning for Better
Pre-trained Language Model Compression", AAAI 2022 (arXiv 2112.07198). A clean-room
reimplementation: the official code has no licence.

The pruned model learns, besides cross-entropy and distillation from the fine-tuned teacher,
three contrastive objectives on its sentence representation: PrC against the pre-trained model,
FiC against the fine-tuned teacher and SnC against snapshots of its own earlier pruned states,
each unsupervised (same example) and supervised (same label). Pruning goes through
:mod:`methodzoo.shared.compress` on our own maskable BERT encoder.

Importing this package loads no model and touches no device.
"""

from methodzoo.cap_prune.banks import RepresentationBank, encode_representations
from methodzoo.cap_prune.classifier import ClassifierOutput, MaskableBertForSequenceClassification
from methodzoo.cap_prune.config import (
    ContrastiveConfig,
    DataConfig,
    DistillConfig,
    FinetuneConfig,
    StructuredConfig,
    UnstructuredConfig,
)
from methodzoo.cap_prune.contrastive import (
    Candidates,
    ContrastiveTerms,
    contrastive_terms,
    log_probabilities,
    normalize,
    positive_mask,
)
from methodzoo.cap_prune.data import TokenizedTexts, load_task, load_tokenized, tokenize
from methodzoo.cap_prune.encoder import EncoderConfig, EncoderOutput, MaskableBertModel
from methodzoo.cap_prune.models import load_classifier, load_source, save_classifier
from methodzoo.cap_prune.objective import CAPObjective, knowledge_distillation
from methodzoo.cap_prune.structured import (
    StructuredBudget,
    choose_head_mask,
    choose_neuron_mask,
    mask_importance,
    structured_budget,
)
from methodzoo.cap_prune.train import (
    RunResult,
    StructuredStep,
    TeacherOutputs,
    evaluate,
    finetune,
    prune_structured,
    prune_unstructured,
    teacher_outputs,
)
from methodzoo.cap_prune.unstructured import (
    SoftMovementMask,
    SparsityCount,
    UnstructuredPruner,
    cubic_schedule,
    encoder_sparsity,
)

__all__ = [  # noqa: RUF022 (grouped by role, as the house style asks)
    # configs
    "ContrastiveConfig",
    "DataConfig",
    "DistillConfig",
    "EncoderConfig",
    "FinetuneConfig",
    "StructuredConfig",
    "UnstructuredConfig",
    # models
    "ClassifierOutput",
    "EncoderOutput",
    "MaskableBertForSequenceClassification",
    "MaskableBertModel",
    "load_classifier",
    "load_source",
    "save_classifier",
    # the method: contrastive terms, banks, objective
    "CAPObjective",
    "Candidates",
    "ContrastiveTerms",
    "RepresentationBank",
    "contrastive_terms",
    "encode_representations",
    "knowledge_distillation",
    "log_probabilities",
    "normalize",
    "positive_mask",
    # pruning
    "SoftMovementMask",
    "SparsityCount",
    "StructuredBudget",
    "UnstructuredPruner",
    "choose_head_mask",
    "choose_neuron_mask",
    "cubic_schedule",
    "encoder_sparsity",
    "mask_importance",
    "structured_budget",
    # data
    "TokenizedTexts",
    "load_task",
    "load_tokenized",
    "tokenize",
    # verbs
    "RunResult",
    "StructuredStep",
    "TeacherOutputs",
    "evaluate",
    "finetune",
    "prune_structured",
    "prune_unstructured",
    "teacher_outputs",
]
