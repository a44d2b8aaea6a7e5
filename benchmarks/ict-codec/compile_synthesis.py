"""Decode-time effect of `compile_synthesis()` (torch.compile of g_s) at 512x768, one thread.

    uv run --frozen python benchmarks/ict-codec/compile_synthesis.py [--quality 3] [--out FILE]

Writes benchmarks/ict-codec/results/compile_synthesis.json (or FILE): the compile time and the decode time of
the shipped ICT with and without the compiled g_s, taking turns (core interleaved_timing).
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path

import torch

from methodzoo.ict_codec import compress, decompress, load_model, pretrained_path
from methodzoo.ict_codec.bench import timing_image
from methodzoo.shared.io import atomic_write_text
from methodzoo.shared.timing import interleaved_timing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quality", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "compile_synthesis.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    eager = load_model(pretrained_path(args.quality))
    compiled = load_model(pretrained_path(args.quality))
    image = timing_image()
    data = compress(eager, image)
    compiled.compile_synthesis()
    started = time.perf_counter()
    decompress(compiled, data)  # compiles for this size
    compile_s = time.perf_counter() - started
    times = interleaved_timing({"eager": partial(decompress, eager, data),
                                "compiled": partial(decompress, compiled, data)}, rounds=args.rounds, warmup=1).times_s
    median = {name: sorted(values)[len(values) // 2] * 1000 for name, values in times.items()}
    result = {"quality": args.quality, "parameters": sum(p.numel() for p in eager.parameters()), "size": list(image.shape[:2]), "threads": 1, "compile_s": compile_s,
              "decode_ms_eager": median["eager"], "decode_ms_compiled": median["compiled"],
              "speedup": median["eager"] / median["compiled"], "rounds": args.rounds}
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
