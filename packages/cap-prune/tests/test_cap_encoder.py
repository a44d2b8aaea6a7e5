"""The maskable encoder against Hugging Face's BERT, its masks against independent constructions,
and compact() against the masked model."""

from __future__ import annotations

import copy

import pytest
import torch
import transformers

from methodzoo.cap_prune import (
    EncoderConfig,
    MaskableBertForSequenceClassification,
    MaskableBertModel,
)
from methodzoo.shared.errors import UserError


def _inputs(batch: int = 3, length: int = 9, vocab: int = 64, seed: int = 0) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, vocab, (batch, length), generator=generator)
    attention_mask = torch.ones(batch, length, dtype=torch.long)
    attention_mask[1, 6:] = 0  # padded examples
    attention_mask[2, 4:] = 0
    token_type_ids = torch.zeros(batch, length, dtype=torch.long)
    token_type_ids[:, 5:] = 1
    return input_ids, attention_mask, token_type_ids


def test_from_hf_matches_hugging_face_outputs(hf_bert: transformers.BertModel) -> None:
    ours = MaskableBertModel.from_hf(hf_bert)
    input_ids, attention_mask, token_type_ids = _inputs()
    with torch.no_grad():
        expected = hf_bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        got = ours(input_ids, attention_mask, token_type_ids)
    valid = attention_mask.bool()
    torch.testing.assert_close(got.last_hidden_state[valid], expected.last_hidden_state[valid], atol=1e-5, rtol=0)
    torch.testing.assert_close(got.pooler_output, expected.pooler_output, atol=1e-5, rtol=0)
    assert not ours.training and ours.config.heads == (4, 4) and ours.config.intermediate == (48, 48)


def test_default_masks_and_token_types_match_hugging_face(hf_bert: transformers.BertModel) -> None:
    ours = MaskableBertModel.from_hf(hf_bert)
    input_ids = _inputs()[0]
    with torch.no_grad():
        expected = hf_bert(input_ids=input_ids).pooler_output
        got = ours(input_ids).pooler_output
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_a_silenced_head_equals_zeroing_its_value_projection(hf_bert: transformers.BertModel) -> None:
    masked = MaskableBertModel.from_hf(hf_bert)
    head_mask = torch.ones(2, 4)
    head_mask[0, 1] = 0
    head_mask[1, 3] = 0
    masked.set_head_mask(head_mask)
    # Independent construction: a head whose values are zero contributes nothing to o_proj.
    reference = MaskableBertModel.from_hf(hf_bert)
    with torch.no_grad():
        for layer, head in ((0, 1), (1, 3)):
            rows = slice(head * 8, (head + 1) * 8)
            reference.layers[layer].attention.v_proj.weight[rows] = 0
            reference.layers[layer].attention.v_proj.bias[rows] = 0
    inputs = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(masked(*inputs).pooler_output, reference(*inputs).pooler_output, atol=1e-6, rtol=0)
        assert not torch.allclose(masked(*inputs).pooler_output, MaskableBertModel.from_hf(hf_bert)(*inputs).pooler_output)


def test_a_silenced_ffn_neuron_equals_zeroing_its_input_row(hf_bert: transformers.BertModel) -> None:
    masked = MaskableBertModel.from_hf(hf_bert)
    ffn_mask = torch.ones(2, 48)
    ffn_mask[0, [0, 5, 17]] = 0
    masked.set_ffn_mask(ffn_mask)
    reference = MaskableBertModel.from_hf(hf_bert)
    with torch.no_grad():  # GELU(0) = 0: a neuron with zero pre-activation outputs nothing
        reference.layers[0].ffn.ffn_in.weight[[0, 5, 17]] = 0
        reference.layers[0].ffn.ffn_in.bias[[0, 5, 17]] = 0
        inputs = _inputs()
        torch.testing.assert_close(masked(*inputs).pooler_output, reference(*inputs).pooler_output, atol=1e-6, rtol=0)


def test_mask_arguments_multiply_the_stored_masks_and_carry_gradients(hf_bert: transformers.BertModel) -> None:
    model = MaskableBertModel.from_hf(hf_bert)
    stored = torch.ones(2, 4)
    stored[0, 0] = 0
    model.set_head_mask(stored)
    head_mask = torch.ones(2, 4, requires_grad=True)
    ffn_mask = torch.ones(2, 48, requires_grad=True)
    model(*_inputs(), head_mask=head_mask, ffn_mask=ffn_mask).pooler_output.sum().backward()
    assert head_mask.grad is not None and ffn_mask.grad is not None
    assert head_mask.grad[0, 0] == 0  # a stored zero gate stops the gradient of the argument
    assert bool((head_mask.grad[1] != 0).all())


def test_compact_equals_the_masked_model_and_updates_sizes(hf_bert: transformers.BertModel) -> None:
    model = MaskableBertForSequenceClassification.from_hf(hf_bert, num_labels=3,
                                                          generator=torch.Generator().manual_seed(0)).eval()
    head_mask = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    ffn_mask = (torch.arange(48) % 3 != 0).float().repeat(2, 1)
    ffn_mask[1, :10] = 0
    model.bert.set_head_mask(head_mask)
    model.bert.set_ffn_mask(ffn_mask)
    small = model.compact()
    assert small.bert.config.heads == (2, 1)
    assert small.bert.config.intermediate == (32, 26)
    assert [layer.attention.num_heads for layer in small.bert.layers] == [2, 1]
    assert small.bert.layers[1].attention.q_proj.out_features == 8
    assert small.bert.layers[1].ffn.ffn_in.out_features == 26
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in model.parameters())
    inputs = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(small(*inputs).logits, model(*inputs).logits, atol=1e-5, rtol=0)


def test_compact_folds_fractional_gates_into_the_output_weights(hf_bert: transformers.BertModel) -> None:
    model = MaskableBertModel.from_hf(hf_bert)
    model.set_head_mask(torch.tensor([[0.5, 1.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0]]))
    model.set_ffn_mask(torch.rand(2, 48, generator=torch.Generator().manual_seed(1)))
    inputs = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(model.compact()(*inputs).pooler_output, model(*inputs).pooler_output,
                                   atol=1e-5, rtol=0)


def test_compact_keeps_a_copy_and_a_compacted_model_round_trips(hf_bert: transformers.BertModel) -> None:
    model = MaskableBertModel.from_hf(hf_bert)
    model.set_head_mask(torch.tensor([[1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]))
    small = model.compact()
    assert model.config.heads == (4, 4) and model.layers[0].attention.num_heads == 4
    rebuilt = MaskableBertModel(EncoderConfig.from_json(small.config.to_json())).eval()
    rebuilt.load_state_dict(small.state_dict())
    inputs = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(*inputs).pooler_output, small(*inputs).pooler_output)


def test_classifier_from_hf_copies_a_sequence_classification_head(make_bert_config) -> None:
    torch.manual_seed(0)
    hf = transformers.BertForSequenceClassification(make_bert_config(num_labels=3)).eval()
    ours = MaskableBertForSequenceClassification.from_hf(hf)
    inputs = _inputs()
    with torch.no_grad():
        expected = hf(input_ids=inputs[0], attention_mask=inputs[1], token_type_ids=inputs[2]).logits
        torch.testing.assert_close(ours(*inputs).logits, expected, atol=1e-5, rtol=0)


def test_mean_representation_averages_the_unpadded_tokens(hf_bert: transformers.BertModel) -> None:
    model = MaskableBertForSequenceClassification.from_hf(hf_bert, num_labels=2, representation="mean").eval()
    inputs = _inputs()
    with torch.no_grad():
        hidden = model.bert(*inputs).last_hidden_state
        expected = hidden[2, :4].mean(0)
        torch.testing.assert_close(model(*inputs).representation[2], expected)


def test_bad_inputs_are_clear_errors(hf_bert: transformers.BertModel, make_bert_config) -> None:
    model = MaskableBertModel.from_hf(hf_bert)
    with pytest.raises(UserError, match="one row per layer"):
        model.set_head_mask(torch.ones(3, 4))
    with pytest.raises(UserError, match="longer than"):
        model(torch.ones(1, 41, dtype=torch.long))
    relative = copy.deepcopy(make_bert_config())
    relative.position_embedding_type = "relative_key"
    with pytest.raises(UserError, match="absolute"):
        EncoderConfig.from_hf(relative)
    with pytest.raises(UserError, match="num_labels"):
        MaskableBertForSequenceClassification.from_hf(hf_bert)


def test_mean_head_input_classifies_the_mean_of_the_unpadded_tokens(hf_bert: transformers.BertModel) -> None:
    model = MaskableBertForSequenceClassification.from_hf(hf_bert, num_labels=2, head_input="mean").eval()
    inputs = _inputs()
    with torch.no_grad():
        hidden = model.bert(*inputs).last_hidden_state
        output = model(*inputs)
        expected = model.classifier(hidden[1, :6].mean(0))
        torch.testing.assert_close(output.logits[1], expected)
        torch.testing.assert_close(output.representation, model.bert(*inputs).pooler_output)  # cls: the pooler
    assert model.compact().head_input == "mean"
