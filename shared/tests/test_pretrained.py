import socket
import time

import numpy as np
import pytest
import torch

from methodzoo.shared import pretrained as pretrained_module
from methodzoo.shared.errors import MissingExtraError
from methodzoo.shared.pretrained import (
    EFFICIENTNET_LITE0_PREPROCESSING,
    PRETRAINED,
    ImagePreprocessing,
    load_pretrained,
)
from methodzoo.shared.registry import RegistryError

IMAGENET_DOMESTIC_CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access while loading pretrained weights")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(RegistryError, match="valid names: efficientnet-lite0, minilm-l6, smollm2-135m"):
        load_pretrained("gpt2")


def test_a_missing_package_names_the_extra(monkeypatch):
    real = pretrained_module.importlib.util.find_spec
    monkeypatch.setattr(pretrained_module.importlib.util, "find_spec",
                        lambda name, *a: None if name == "gguf" else real(name, *a))
    with pytest.raises(MissingExtraError, match=r"pip install 'methodzoo-shared\[pretrained\]'"):
        load_pretrained("smollm2-135m")
    assert all(spec.extra == "pretrained" for _, spec in PRETRAINED.items())


def test_preprocessing_resizes_the_short_side_crops_the_centre_and_normalises():
    preprocess = ImagePreprocessing(resize=8, crop=4, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    image = np.zeros((16, 32, 3), dtype=np.uint8)
    image[:, 14:18] = 255  # a white vertical bar in the middle survives the centre crop
    x = preprocess(image)
    assert x.shape == (1, 3, 4, 4) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1 and x[0, :, :, 1:3].mean() > x[0, :, :, 0].mean()
    batch = preprocess([image, np.full((20, 10, 3), 255, np.uint8)])
    assert batch.shape == (2, 3, 4, 4) and torch.allclose(batch[1], torch.ones(3, 4, 4))


def test_minilm_embeds_paraphrases_closer_than_unrelated_sentences(no_network):
    start = time.perf_counter()
    model, tokenizer = load_pretrained("minilm-l6")
    seconds = time.perf_counter() - start
    assert type(model).__name__ == "BertModel" and not model.training
    assert sum(p.numel() for p in model.parameters()) == 22_713_216
    sentences = ["A cat sits on the mat.", "A kitten is resting on a rug.",
                 "Stock markets fell sharply today."]
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state  # (B, T, 384)
    mask = batch["attention_mask"].unsqueeze(-1).float()
    embeddings = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    similarity = embeddings @ embeddings.T
    assert hidden.shape[-1] == 384
    assert similarity[0, 1] > similarity[0, 2] + 0.3, similarity
    print(f"minilm-l6 loaded in {seconds:.1f} s")


def test_efficientnet_lite0_recognises_a_cat(no_network, monkeypatch):
    skimage_data = pytest.importorskip("skimage.data")
    loads: list[dict[str, object]] = []
    real_load = torch.load

    def watched_load(*args, **kwargs):
        loads.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", watched_load)
    start = time.perf_counter()
    classifier = load_pretrained("efficientnet-lite0")
    seconds = time.perf_counter() - start
    assert loads and all(kwargs.get("weights_only") is True for kwargs in loads)
    assert classifier.preprocess == EFFICIENTNET_LITE0_PREPROCESSING
    assert sum(p.numel() for p in classifier.model.parameters()) == 4_652_008
    with torch.no_grad():
        logits = classifier.model(classifier.preprocess(skimage_data.chelsea()))  # (1, 1000)
    top5 = logits.softmax(-1)[0].topk(5)
    assert set(top5.indices.tolist()) & set(IMAGENET_DOMESTIC_CATS), top5
    cat_probability = logits.softmax(-1)[0, list(IMAGENET_DOMESTIC_CATS)].sum()
    assert cat_probability > 0.5, cat_probability
    print(f"efficientnet-lite0 loaded in {seconds:.1f} s; P(domestic cat) = {cat_probability:.2f}")


@pytest.mark.slow
def test_smollm2_completes_a_fact(no_network):
    start = time.perf_counter()
    model, tokenizer = load_pretrained("smollm2-135m")
    seconds = time.perf_counter() - start
    assert type(model).__name__ == "LlamaForCausalLM" and model.dtype == torch.float32
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    ids = tokenizer("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        logits = model(**ids).logits[0, -1]
    top5 = [tokenizer.decode(int(i)).strip() for i in logits.topk(5).indices]
    assert "Paris" in top5, top5
    print(f"smollm2-135m loaded in {seconds:.1f} s")
