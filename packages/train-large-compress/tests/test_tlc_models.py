import pytest
import torch

from methodzoo.shared.errors import UserError
from methodzoo.train_large_compress.config import ModelConfig
from methodzoo.train_large_compress.flops import parameter_count
from methodzoo.train_large_compress.models import (
    MaskedLanguageModel,
    Seq2SeqTransformer,
    SequenceClassifier,
    TokenEmbedding,
    load_encoder_into,
)
from methodzoo.train_large_compress.tokens import CLS_ID, PAD_ID, SEP_ID

TINY = ModelConfig(vocab_size=40, width=16, depth=2, heads=2, max_length=12, dropout=0.0)


def _ids(batch: int = 3, length: int = 10, seed: int = 0) -> torch.Tensor:
    ids = torch.randint(5, TINY.vocab_size, (batch, length), generator=torch.Generator().manual_seed(seed))
    ids[:, 0], ids[:, -1] = CLS_ID, SEP_ID
    return ids


@pytest.mark.parametrize("norm_first", [False, True])
def test_parameter_counts_match_the_closed_form(norm_first: bool) -> None:
    config = TINY.replace(norm_first=norm_first)
    mlm = MaskedLanguageModel(config)
    seq2seq = Seq2SeqTransformer(config.replace(decoder_depth=3))
    assert sum(p.numel() for p in mlm.parameters()) == parameter_count(config, "mlm")
    assert sum(p.numel() for p in seq2seq.parameters()) == parameter_count(config.replace(decoder_depth=3), "seq2seq")


def test_embedding_and_output_projection_are_one_tied_linear_matrix() -> None:
    model = MaskedLanguageModel(TINY)
    tokens = model.encoder.tokens
    assert isinstance(tokens, TokenEmbedding) and isinstance(tokens, torch.nn.Linear)
    ids = _ids()
    assert torch.equal(tokens.embed(ids), tokens.weight[ids])
    linear_weights = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert sum(w is tokens.weight for w in linear_weights) == 1


def test_padding_does_not_change_the_unpadded_positions() -> None:
    model = SequenceClassifier(TINY, num_classes=3).eval()
    ids = _ids(batch=2, length=8)
    padded = torch.cat([ids, torch.full((2, 4), PAD_ID)], dim=1)
    hidden = model.encoder(ids)
    hidden_padded = model.encoder(padded, padded.eq(PAD_ID))
    torch.testing.assert_close(hidden_padded[:, :8], hidden, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(model(padded), model(ids), atol=1e-5, rtol=1e-5)


def test_decoder_is_causal() -> None:
    model = Seq2SeqTransformer(TINY).eval()
    source, target = _ids(seed=1), _ids(seed=2)
    changed = target.clone()
    changed[:, 6:] = 7
    torch.testing.assert_close(model(source, changed)[:, :6], model(source, target)[:, :6])
    assert not torch.allclose(model(source, changed)[:, 6:], model(source, target)[:, 6:])


def test_losses_are_finite_and_backpropagate_to_every_parameter() -> None:
    model = MaskedLanguageModel(TINY)
    ids = _ids()
    labels = torch.full_like(ids, -100)
    labels[:, 3] = ids[:, 3]
    loss = model.loss(ids, labels)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters())
    seq2seq = Seq2SeqTransformer(TINY)
    assert torch.isfinite(seq2seq.loss(_ids(), _ids(seed=3)))


def test_a_classifier_takes_the_pretrained_encoder() -> None:
    pretrained = MaskedLanguageModel(TINY)
    classifier = load_encoder_into(SequenceClassifier(TINY, 2), pretrained)
    for name, value in pretrained.encoder.state_dict().items():
        assert torch.equal(classifier.encoder.state_dict()[name], value)


def test_too_long_inputs_are_a_clear_error() -> None:
    with pytest.raises(UserError, match="max_length"):
        MaskedLanguageModel(TINY)(_ids(length=13))


def test_heads_must_divide_the_width() -> None:
    with pytest.raises(UserError, match="multiple of heads"):
        ModelConfig(width=48, heads=5)
    assert ModelConfig(width=64).num_heads == 2 and ModelConfig(width=64).ffn_width == 256
