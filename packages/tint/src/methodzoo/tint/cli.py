"""``methodzoo tint ...``: evaluate TinT on held-out text, or count a TinT's parameters."""

from __future__ import annotations

import argparse
from typing import Any

from methodzoo.shared.cli import add_common_arguments, emit
from methodzoo.shared.errors import UserError
from methodzoo.tint.config import TinTConfig

PRESETS: dict[str, dict[str, Any]] = {
    # family, D, layers, heads, D_ff, vocab, context
    "gpt2": {"family": "gpt2", "hidden": 768, "layers": 12, "heads": 12, "intermediate": 3072, "vocab": 50257, "positions": 1024},
    "gpt2-medium": {"family": "gpt2", "hidden": 1024, "layers": 24, "heads": 16, "intermediate": 4096, "vocab": 50257, "positions": 1024},
    "opt-125m": {"family": "opt", "hidden": 768, "layers": 12, "heads": 12, "intermediate": 3072, "vocab": 50272, "positions": 2048},
    "opt-1.3b": {"family": "opt", "hidden": 2048, "layers": 24, "heads": 32, "intermediate": 8192, "vocab": 50272, "positions": 2048},
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tint", help="Trainable Transformer in Transformer (Panigrahi et al., ICML 2024)")
    sub = parser.add_subparsers(dest="tint_command", metavar="COMMAND", parser_class=type(parser))
    sub.required = True

    ev = sub.add_parser("eval", help="perplexity before/after TinT's internal step vs dynamic evaluation")
    ev.add_argument("--model-dir", default=None,
                    help="local folder of a transformers GPT-2/OPT causal LM with its tokenizer "
                         "(default: train a byte-level GPT-2 here on pydoc_data.topics)")
    ev.add_argument("--pretrain-steps", type=int, default=300, help="training steps of the default byte-level model")
    ev.add_argument("--sequences", type=int, default=16, help="held-out windows to evaluate")
    ev.add_argument("--length", type=int, default=64, help="window length T (train part: the first half)")
    ev.add_argument("--batch-size", type=int, default=8)
    ev.add_argument("--reference-sequences", type=int, default=2,
                    help="windows also checked against the torch.func reference and exact SGD")
    add_common_arguments(ev)
    TinTConfig.add_arguments(ev)
    ev.set_defaults(handler=_eval)

    count = sub.add_parser("count", help="TinT parameter count for an auxiliary shape (formula; with --sparse-projections one block of each kind is built, never the TinT)")
    count.add_argument("--preset", choices=sorted(PRESETS), default="opt-125m")
    add_common_arguments(count, seed=False, device=False)
    TinTConfig.add_arguments(count)
    count.set_defaults(handler=_count)


def _config(args: argparse.Namespace) -> TinTConfig:
    return TinTConfig.from_args(args)


def _eval(args: argparse.Namespace) -> int:
    import torch

    from methodzoo.shared.device import resolve_device
    from methodzoo.shared.progress import progress
    from methodzoo.tint.evaluation import evaluate_tint
    from methodzoo.tint.text import (
        encode_bytes,
        encode_documents,
        pretrain,
        sample_windows,
        split_documents,
        tiny_gpt2,
    )

    config = _config(args)
    for name in ("pretrain_steps", "sequences", "batch_size"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be >= 1")
    if args.length < 4:
        raise UserError("--length must be >= 4")
    device = resolve_device(args.device)
    train_docs, held_docs = split_documents()
    encode = encode_bytes
    if args.model_dir:
        from pathlib import Path

        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder = Path(args.model_dir)
        if not folder.is_dir():
            raise UserError(f"--model-dir {folder} is not a folder")
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval().to(device)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)

        def encode(text: str) -> torch.Tensor:
            return torch.tensor(tokenizer(text).input_ids, dtype=torch.long)
    else:
        model = tiny_gpt2(context=max(64, args.length), seed=args.seed).to(device)
        pretrain(model, encode_documents(train_docs), steps=args.pretrain_steps, length=min(64, args.length), seed=args.seed,
                 progress=progress)
    windows = sample_windows(encode_documents(held_docs, encode), args.length, args.sequences,
                             torch.Generator().manual_seed(args.seed))
    result = evaluate_tint(model, windows, config, batch_size=args.batch_size,
                           reference_sequences=args.reference_sequences, progress=progress)
    result["config"] = config.to_dict()
    emit(result, as_json=args.json, text=_format_eval)
    return 0


def _format_eval(result: dict[str, Any]) -> str:
    lines = [f"{'metric':<26} value"]
    for key in ("ppl_before", "ppl_after", "ppl_dynamic_eval", "max_abs_err_vs_reference",
                "cosine_vs_sgd_mean", "cosine_vs_sgd_min", "sequences", "eval_tokens"):
        value = result[key]
        lines.append(f"{key:<26} {value:.6g}" if isinstance(value, float) else f"{key:<26} {value}")
    return "\n".join(lines)


def _count(args: argparse.Namespace) -> int:
    from methodzoo.tint.auxiliary import AuxSpec
    from methodzoo.tint.model import tint_dims, tint_parameter_count

    config = _config(args)
    p = PRESETS[args.preset]
    spec = AuxSpec(p["family"], p["hidden"], p["layers"], p["heads"], p["heads"], p["hidden"] // p["heads"],
                   p["intermediate"], p["vocab"], p["positions"], "layernorm", 1e-5,
                   "relu" if p["family"] == "opt" else "gelu_new", "plain", "learned",
                   position_offset=2 if p["family"] == "opt" else 0)
    dims = tint_dims(spec, config)
    result = {"preset": args.preset, "aux_params": spec.parameter_count(),
              "tint_params": tint_parameter_count(spec, config), "hidden_H": dims.H, "prefixes_K": dims.K,
              "rows_per_prefix_S": dims.S, "position_dim_P": dims.P}
    emit(result, as_json=args.json,
         text=lambda r: "\n".join(f"{k:<18} {v:,}" if isinstance(v, int) else f"{k:<18} {v}" for k, v in r.items()))
    return 0
