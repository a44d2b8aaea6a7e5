import torch

from methodzoo.shared.testing import binomial_band
from methodzoo.train_large_compress.masking import mask_tokens
from methodzoo.train_large_compress.tokens import CLS_ID, MASK_ID, NUM_SPECIAL, PAD_ID, SEP_ID

VOCAB = 60


def _tokens() -> torch.Tensor:
    tokens = torch.randint(NUM_SPECIAL, VOCAB, (400, 50), generator=torch.Generator().manual_seed(0))
    tokens[:, 0], tokens[:, 40] = CLS_ID, SEP_ID
    tokens[:, 41:] = PAD_ID
    return tokens


def test_fifteen_percent_are_chosen_and_split_80_10_10() -> None:
    tokens = _tokens()
    inputs, labels = mask_tokens(tokens, VOCAB, torch.Generator().manual_seed(1))
    eligible = tokens >= NUM_SPECIAL
    chosen = labels != -100
    low, high = binomial_band(int(eligible.sum()), 0.15, confidence=0.999)
    assert low <= int(chosen.sum()) <= high
    n = int(chosen.sum())
    words = VOCAB - NUM_SPECIAL
    masked = int((inputs[chosen] == MASK_ID).sum())
    unchanged = int((inputs[chosen] == tokens[chosen]).sum())
    random_other = n - masked - unchanged
    assert binomial_band(n, 0.8, 0.999)[0] <= masked <= binomial_band(n, 0.8, 0.999)[1]
    # a random replacement can draw the original word: unchanged = 10 % + 10 %/W
    p_unchanged = 0.1 + 0.1 / words
    assert binomial_band(n, p_unchanged, 0.999)[0] <= unchanged <= binomial_band(n, p_unchanged, 0.999)[1]
    p_other = 0.1 * (1 - 1 / words)
    assert binomial_band(n, p_other, 0.999)[0] <= random_other <= binomial_band(n, p_other, 0.999)[1]
    assert bool((inputs[chosen & (inputs != MASK_ID)] >= NUM_SPECIAL).all())  # random draws are words


def test_special_tokens_are_never_chosen_or_changed() -> None:
    tokens = _tokens()
    inputs, labels = mask_tokens(tokens, VOCAB, torch.Generator().manual_seed(2), probability=0.9)
    special = tokens < NUM_SPECIAL
    assert bool((labels[special] == -100).all())
    assert torch.equal(inputs[special], tokens[special])
    assert torch.equal(labels[~special & (labels != -100)], tokens[~special & (labels != -100)])


def test_labels_are_the_original_tokens_and_a_tiny_batch_still_has_one() -> None:
    tokens = torch.tensor([[CLS_ID, 7, 8, SEP_ID]])
    _, labels = mask_tokens(tokens, VOCAB, torch.Generator().manual_seed(3), probability=1e-9)
    assert int((labels != -100).sum()) == 1 and labels[0, 1] == 7


def test_same_generator_same_masks() -> None:
    tokens = _tokens()
    a = mask_tokens(tokens, VOCAB, torch.Generator().manual_seed(4))
    b = mask_tokens(tokens, VOCAB, torch.Generator().manual_seed(4))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.labels, b.labels)
