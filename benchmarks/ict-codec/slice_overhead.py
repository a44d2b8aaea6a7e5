"""What batching the per-slice μ and σ transforms could save when decoding on a CPU (issue 19).

    uv run --frozen python benchmarks/ict-codec/slice_overhead.py [--quality 3] [--rounds 7]

Decoding runs, per slice, the μ transform and the σ transform (two Swin stacks with their own
weights) on inputs of the same shape. Batching the two into one call saves per-call work (Python,
dispatch, small-kernel set-up) but not arithmetic. This measures, for the shipped ICT on one thread:
the whole decode of a 512 x 768 image, the entropy parameters of all slices at that size (32 x 48
latents), and the same calls on a 1 x 1 latent, where nearly all of the time is per-call work: an
upper bound on what batching μ with σ could remove. Writes ``results/slice_overhead.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    import torch

    from methodzoo.ict_codec import compress, decompress, load_model, pretrained_path
    from methodzoo.ict_codec.bench import timing_image
    from methodzoo.shared.io import atomic_write_text
    from methodzoo.shared.timing import interleaved_timing

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "slice_overhead.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_model(pretrained_path(args.quality)).eval()
    image = timing_image()
    data = compress(model, image)
    config = model.config
    m, c, s = config.latent_channels, config.slice_channels, config.num_slices

    def slices_at(h: int, w: int):  # type: ignore[no-untyped-def]
        generator = torch.Generator().manual_seed(0)
        hyper_mu, hyper_sigma = (torch.randn(1, m, h, w, generator=generator) for _ in range(2))
        decoded = [torch.randn(1, c, h, w, generator=generator) for _ in range(s)]

        @torch.no_grad()
        def run() -> None:
            for i in range(s):
                model.entropy_parameters(i, hyper_mu, hyper_sigma, decoded)
        return run

    h, w = image.shape[0] // 16, image.shape[1] // 16
    # The three take turns round by round (core interleaved_timing), so a slow spell hits them alike.
    timing = interleaved_timing({"decode": lambda: decompress(model, data), "at_size": slices_at(h, w),
                                 "one_by_one": slices_at(1, 1)}, rounds=args.rounds)
    report = {
        "model": f"shipped ICT quality {args.quality} ({config.num_slices} slices, M = {m})",
        "threads": 1, "rounds": args.rounds,
        "decode_ms_512x768": timing.median_ms("decode"),
        f"entropy_parameters_ms_{h}x{w}_latent": timing.median_ms("at_size"),
        "entropy_parameters_ms_1x1_latent": timing.median_ms("one_by_one"),
    }
    at_size = report[f"entropy_parameters_ms_{h}x{w}_latent"]
    report["slice_transforms_share_of_decode"] = at_size / report["decode_ms_512x768"]
    # Batching μ with σ halves the number of calls: at most half the per-call time goes.
    report["batching_saves_at_most_ms"] = report["entropy_parameters_ms_1x1_latent"] / 2
    report["batching_saves_at_most_share_of_decode"] = report["batching_saves_at_most_ms"] / report["decode_ms_512x768"]
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
