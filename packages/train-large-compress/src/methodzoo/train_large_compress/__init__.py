"""methodzoo-train-large-compress: model size against convergence and robustness to compression.

Li, Wallace, Shen, Lin, Keutzer, Klein, Gonzalez, "Train Large, Then Compress: Rethinking Model
Size for Efficient Training and Inference of Transformers", ICML 2020 (arXiv 2002.11794).

Transformers of configurable width and depth (:class:`MaskedLanguageModel`,
:class:`Seq2SeqTransformer`, :class:`SequenceClassifier`) train on a seeded synthetic language
with unlimited data or on real text with a tokenizer trained here; :func:`sweep` trains a grid of
sizes under one budget of FLOPs or seconds, keeping checkpoints at equal-compute marks;
:func:`compress_sweep` prunes and quantizes those checkpoints through
``methodzoo.shared.compress``; :func:`summarize` states the paper's two claims.
"""

from methodzoo.train_large_compress.analysis import (
    CompressedPoint,
    best_within,
    crossing,
    pareto_front,
)
from methodzoo.train_large_compress.compression import (
    CompressionOutcome,
    Int8Latency,
    compression_sweep,
    int8_latency,
    prune_iterative,
    prune_one_shot,
    quantize_ptq,
    quantize_qat,
    storage_bits,
)
from methodzoo.train_large_compress.config import (
    CompressConfig,
    LanguageConfig,
    ModelConfig,
    SweepConfig,
    TrainConfig,
)
from methodzoo.train_large_compress.corpus import (
    corpus_sentences,
    load_text_folder,
    load_tokenizer,
    pack_blocks,
    train_tokenizer,
)
from methodzoo.train_large_compress.downstream import (
    ClassificationData,
    FineTuneConfig,
    fine_tune,
    movie_task,
    snli_task,
    topic_task,
)
from methodzoo.train_large_compress.flops import forward_flops, training_step_flops
from methodzoo.train_large_compress.masking import MaskedTokens, mask_tokens
from methodzoo.train_large_compress.models import (
    MaskedLanguageModel,
    Seq2SeqTransformer,
    SequenceClassifier,
    TokenEmbedding,
    TransformerEncoder,
)
from methodzoo.train_large_compress.runner import (
    Evaluation,
    MarkCheckpoint,
    RunResult,
    SweepResult,
    run_one,
    select_checkpoint,
    sweep,
)
from methodzoo.train_large_compress.study import (
    Summary,
    compress_sweep,
    load_compression,
    summarize,
)
from methodzoo.train_large_compress.synthetic import SyntheticLanguage, SyntheticTranslation
from methodzoo.train_large_compress.tasks import MaskedLMTask, TranslationTask

__all__ = [  # noqa: RUF022 (grouped by role, as the house style asks)
    # configuration
    "CompressConfig",
    "FineTuneConfig",
    "LanguageConfig",
    "ModelConfig",
    "SweepConfig",
    "TrainConfig",
    # models
    "MaskedLanguageModel",
    "Seq2SeqTransformer",
    "SequenceClassifier",
    "TokenEmbedding",
    "TransformerEncoder",
    # data and tasks
    "ClassificationData",
    "MaskedLMTask",
    "MaskedTokens",
    "SyntheticLanguage",
    "SyntheticTranslation",
    "TranslationTask",
    "corpus_sentences",
    "load_text_folder",
    "load_tokenizer",
    "mask_tokens",
    "movie_task",
    "pack_blocks",
    "snli_task",
    "topic_task",
    "train_tokenizer",
    # compute budget
    "Evaluation",
    "MarkCheckpoint",
    "RunResult",
    "SweepResult",
    "forward_flops",
    "run_one",
    "select_checkpoint",
    "sweep",
    "training_step_flops",
    # compression
    "CompressionOutcome",
    "Int8Latency",
    "compress_sweep",
    "compression_sweep",
    "int8_latency",
    "load_compression",
    "prune_iterative",
    "prune_one_shot",
    "quantize_ptq",
    "quantize_qat",
    "storage_bits",
    # the claims
    "CompressedPoint",
    "Summary",
    "best_within",
    "crossing",
    "fine_tune",
    "pareto_front",
    "summarize",
]
