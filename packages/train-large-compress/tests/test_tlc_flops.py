import pytest
import torch

from methodzoo.shared.compress import count_flops
from methodzoo.train_large_compress.config import ModelConfig
from methodzoo.train_large_compress.flops import (
    encoder_layer_macs,
    forward_flops,
    forward_macs,
    training_step_flops,
)
from methodzoo.train_large_compress.models import (
    MaskedLanguageModel,
    Seq2SeqTransformer,
    SequenceClassifier,
)

CONFIG = ModelConfig(vocab_size=50, width=32, depth=2, max_length=16, dropout=0.0)


def _count(model: torch.nn.Module, *inputs: torch.Tensor) -> int:
    count = count_flops(model, *inputs)
    assert count.flops == 2 * count.macs
    return count.flops


def test_encoder_layer_formula_by_hand() -> None:
    # B=2, S=3, d=4, f=16: projections 2·3·4·16=384... written out term by term
    projections = 2 * 3 * 4 * 4 * 4
    feed_forward = 2 * 3 * 2 * 4 * 16
    attention = 2 * 2 * 3 * 3 * 4
    assert encoder_layer_macs(2, 3, 4, 16) == projections + feed_forward + attention


@pytest.mark.parametrize("train", [True, False])
def test_closed_form_equals_the_core_counter_attention_included(train: bool) -> None:
    ids = torch.randint(5, 50, (3, 16))
    mlm = MaskedLanguageModel(CONFIG).train(train)
    assert _count(mlm, ids) == forward_flops(CONFIG, "mlm", 3, 16)
    seq2seq = Seq2SeqTransformer(CONFIG.replace(decoder_depth=3)).train(train)
    assert _count(seq2seq, ids, ids[:, :11]) == forward_flops(CONFIG.replace(decoder_depth=3), "seq2seq", 3, 16, 11)
    classifier = SequenceClassifier(CONFIG, 3).train(train)
    assert _count(classifier, ids) == forward_flops(CONFIG, "classify", 3, 16, num_classes=3)


def test_units_and_training_multiplier() -> None:
    assert forward_flops(CONFIG, "mlm", 4, 16) == 2 * forward_macs(CONFIG, "mlm", 4, 16)
    assert training_step_flops(CONFIG, "mlm", 4, 16) == 3 * forward_flops(CONFIG, "mlm", 4, 16)


def test_attention_grows_quadratically_with_length() -> None:
    config = CONFIG.replace(depth=1)
    linear_part = forward_macs(config, "mlm", 1, 8) * 2
    doubled = forward_macs(config, "mlm", 1, 16)
    assert doubled - linear_part == 2 * (16**2 - 2 * 8**2) * 32
