"""Where encoders come from and how our classifiers are saved.

Sources: a name from the core's pretrained registry (``minilm-l6``) or a local Hugging Face BERT
folder (``config.json``, weights, tokenizer files), always loaded offline. Saved classifiers are
one safetensors file whose metadata holds the architecture, the label names and the tokenizer
source; element masks are stored as the toolkit's mask buffers and restored on load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from methodzoo.cap_prune.classifier import (
    HeadInput,
    MaskableBertForSequenceClassification,
    Representation,
)
from methodzoo.cap_prune.encoder import EncoderConfig, MaskableBertModel
from methodzoo.shared.errors import UserError

WEIGHTS_FILE = "model.safetensors"


@dataclass
class Source:
    """A pre-trained Hugging Face encoder (eval mode) with its tokenizer and where it came from."""

    hf_model: Any
    tokenizer: Any
    name: str


def load_source(name_or_path: str) -> Source:
    """``minilm-l6`` (or another name of the core's pretrained registry) or a local BERT folder."""
    path = Path(name_or_path)
    if path.is_dir():
        try:
            import transformers
        except ImportError:  # pragma: no cover - a dependency of this package
            raise UserError("reading a model folder needs transformers") from None
        if not (path / "config.json").is_file():
            raise UserError(f"{path} is not a Hugging Face model folder: no config.json")
        try:
            model = transformers.AutoModel.from_pretrained(str(path), local_files_only=True).eval()
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as error:
            raise UserError(f"cannot load a BERT model and tokenizer from {path}: {error}") from None
        return Source(model, tokenizer, str(path.resolve()))
    from methodzoo.shared.pretrained import PRETRAINED, load_pretrained

    if name_or_path not in PRETRAINED.names():
        raise UserError(f"{name_or_path!r} is neither a folder nor a pretrained model name "
                        f"({', '.join(PRETRAINED.names())})")
    loaded = load_pretrained(name_or_path)
    return Source(loaded.model, loaded.tokenizer, name_or_path)


def classifier_from_source(source: Source, num_labels: int, representation: Representation = "cls",
                           seed: int = 0, head_input: HeadInput = "pooler") -> MaskableBertForSequenceClassification:
    """Our classifier on the source encoder, with a new head drawn from ``seed``."""
    from methodzoo.shared.seed import make_generator

    return MaskableBertForSequenceClassification.from_hf(source.hf_model, num_labels, representation,
                                                         head_input=head_input,
                                                         generator=make_generator(seed)).train()


def pretrained_encoder(source: Source) -> MaskableBertModel:
    return MaskableBertModel.from_hf(source.hf_model).eval()


def save_classifier(folder: str | Path, model: MaskableBertForSequenceClassification, *,
                    label_names: tuple[str, ...], tokenizer_source: str,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write ``folder/model.safetensors`` (atomic) with everything needed to rebuild the model."""
    from methodzoo.shared.train import save_weights

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {"encoder_config": model.config.to_json(indent=None), "num_labels": str(model.num_labels),
                "representation": model.representation, "head_input": model.head_input,
                "classifier_dropout": str(model.dropout.p),
                "label_names": json.dumps(list(label_names)), "tokenizer_source": tokenizer_source,
                "extra": json.dumps(extra or {})}
    return save_weights(folder / WEIGHTS_FILE, model, metadata=metadata)


@dataclass
class SavedClassifier:
    """A classifier read back by :func:`load_classifier`."""

    model: MaskableBertForSequenceClassification
    label_names: tuple[str, ...]
    tokenizer_source: str
    extra: dict[str, Any]


def load_classifier(folder: str | Path) -> SavedClassifier:
    """Rebuild a classifier saved by :func:`save_classifier` (element masks included)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from methodzoo.shared.compress import restore_masks_
    from methodzoo.shared.train import load_weights

    path = Path(folder) / WEIGHTS_FILE if Path(folder).is_dir() else Path(folder)
    if not path.is_file():
        raise UserError(f"no saved model at {path} (expected {WEIGHTS_FILE} written by 'methodzoo cap-prune')")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
        config = EncoderConfig.from_json(metadata["encoder_config"])
        model = MaskableBertForSequenceClassification(
            config, int(metadata["num_labels"]), float(metadata["classifier_dropout"]),
            metadata["representation"], metadata.get("head_input", "pooler"))  # type: ignore[arg-type]
    except (KeyError, ValueError, OSError) as error:
        raise UserError(f"{path} is not a cap-prune model file: {error}") from None
    restore_masks_(model, load_file(str(path)))
    load_weights(path, model)
    return SavedClassifier(model.eval(), tuple(json.loads(metadata["label_names"])),
                           metadata["tokenizer_source"], json.loads(metadata.get("extra", "{}")))


def load_tokenizer(source: str) -> Any:
    """The tokenizer of a saved model's source (a registry name or a folder)."""
    return load_source(source).tokenizer

