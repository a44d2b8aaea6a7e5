"""Batching the per-slice μ and σ transforms when decoding on a CPU: the bound and the measurement (issue 19).

    uv run --frozen python benchmarks/ict-codec/slice_overhead.py [--quality 3] [--rounds 7]

Decoding runs, per slice, the μ transform and the σ transform (two Swin stacks with their own
weights) on inputs of the same shape. Batching the two into one call (``ICT.batch_slice_transforms``,
:mod:`methodzoo.ict_codec.paired`) saves per-call work (Python, dispatch, small-kernel set-up) but
not arithmetic. This times, for the shipped ICT on one thread, in turns: the whole decode of a
512 x 768 image, the entropy parameters of all slices at that size (32 x 48 latents) and on a 1 x 1
latent (nearly all per-call work: an upper bound on what batching can remove), each with the
separate and with the batched transforms. Writes ``results/slice_overhead.json``.
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

    def batched(run, on: bool):  # type: ignore[no-untyped-def]
        def switched() -> None:
            model.batch_slice_transforms = on
            try:
                run()
            finally:
                model.batch_slice_transforms = False
        return switched

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
    cases = {"decode": lambda: decompress(model, data), "at_size": slices_at(h, w), "one_by_one": slices_at(1, 1)}
    # All take turns round by round (core interleaved_timing), so a slow spell hits them alike.
    timing = interleaved_timing({f"{name}_{way}": batched(run, way == "batched")
                                 for name, run in cases.items() for way in ("separate", "batched")},
                                rounds=args.rounds)
    model.batch_slice_transforms = True
    batched_data = compress(model, image)
    model.batch_slice_transforms = False
    report: dict[str, object] = {
        "model": f"shipped ICT quality {args.quality} ({config.num_slices} slices, M = {m})",
        "threads": 1, "rounds": args.rounds,
        "same_bitstream_batched": batched_data == data,
    }
    for way in ("separate", "batched"):
        report[f"decode_ms_512x768_{way}"] = timing.median_ms(f"decode_{way}")
        report[f"entropy_parameters_ms_{h}x{w}_latent_{way}"] = timing.median_ms(f"at_size_{way}")
        report[f"entropy_parameters_ms_1x1_latent_{way}"] = timing.median_ms(f"one_by_one_{way}")
    decode = timing.median_ms("decode_separate")
    report["slice_transforms_share_of_decode"] = timing.median_ms("at_size_separate") / decode
    # Batching μ with σ halves the number of calls: at most half the per-call time goes.
    report["batching_saves_at_most_ms"] = timing.median_ms("one_by_one_separate") / 2
    report["batching_saves_at_most_share_of_decode"] = report["batching_saves_at_most_ms"] / decode  # type: ignore[operator]
    report["batched_decode_speedup"] = decode / timing.median_ms("decode_batched")
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
