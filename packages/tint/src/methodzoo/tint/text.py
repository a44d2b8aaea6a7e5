"""Offline English text and a small byte-level causal LM to act as the auxiliary model.

The text is the Python language reference shipped with CPython (``pydoc_data.topics``, about
470 KB of English prose with code), split by topic into training and held-out documents.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from methodzoo.shared.seed import seeded
from methodzoo.shared.train import WarmupCosine

BYTE_VOCAB = 256


def pydoc_documents() -> list[tuple[str, str]]:
    """``(topic, text)`` pairs of the Python reference, sorted by topic name."""
    from pydoc_data.topics import topics

    return sorted(topics.items())


def split_documents(every: int = 5) -> tuple[list[str], list[str]]:
    """Training and held-out documents: every ``every``-th topic is held out."""
    docs = pydoc_documents()
    held = [text for i, (_, text) in enumerate(docs) if i % every == 0]
    train = [text for i, (_, text) in enumerate(docs) if i % every != 0]
    return train, held


def encode_bytes(text: str) -> Tensor:
    """Byte-level tokens (vocabulary 256)."""
    return torch.tensor(list(text.encode("utf-8")), dtype=torch.long)


def encode_documents(docs: list[str], encode: Callable[[str], Tensor] = encode_bytes) -> list[Tensor]:
    """Token tensors of the documents (encode once, sample many windows)."""
    return [encode(d) for d in docs]


def sample_windows(tokens: list[Tensor], length: int, count: int, generator: torch.Generator) -> Tensor:
    """``count`` windows ``(count, length)`` drawn uniformly from documents long enough to hold one."""
    tokens = [t for t in tokens if len(t) > length]
    if not tokens:
        from methodzoo.shared.errors import UserError

        raise UserError(f"no document has more than {length} tokens")
    weights = torch.tensor([len(t) - length for t in tokens], dtype=torch.float)
    which = torch.multinomial(weights, count, replacement=True, generator=generator)
    out = torch.empty(count, length, dtype=torch.long)
    for row, d in enumerate(which.tolist()):
        start = int(torch.randint(0, len(tokens[d]) - length, (1,), generator=generator))
        out[row] = tokens[d][start:start + length]
    return out


def tiny_gpt2(hidden: int = 64, layers: int = 3, heads: int = 4, context: int = 64,
              vocab: int = BYTE_VOCAB, seed: int = 0) -> nn.Module:
    """A randomly initialised GPT-2 built from a local config (no hub access), in eval mode."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(n_embd=hidden, n_layer=layers, n_head=heads, n_positions=context, vocab_size=vocab,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)
    with seeded(seed):  # transformers initialises from the global generator; leave it untouched
        return GPT2LMHeadModel(config).eval()


def pretrain(model: nn.Module, tokens: list[Tensor], *, steps: int, batch_size: int = 32, length: int = 64,
             learning_rate: float = 3e-3, seed: int = 0, progress: Callable | None = None) -> list[float]:
    """Train a causal LM on byte windows with AdamW and a cosine schedule; returns the losses."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    # linear warm-up over 5 % of the steps, then cosine decay to 10 %
    schedule = WarmupCosine(total_steps=max(1, steps), warmup_steps=max(1, steps // 20), floor=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    device = next(model.parameters()).device
    model.train()
    losses = []
    iterator = range(steps) if progress is None else progress(range(steps), desc="pretrain")
    for _ in iterator:
        batch = sample_windows(tokens, length, batch_size, generator).to(device)
        loss = model(batch, labels=batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    model.eval()
    return losses
