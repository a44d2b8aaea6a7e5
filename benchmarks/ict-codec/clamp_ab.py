"""A/B of the scale bounds: tfc's identity-if-towards gradient vs a plain clamp (same seed, data, steps).

    OPENCV_DOC=/usr/share/doc/opencv-doc/examples/data uv run --frozen python benchmarks/ict-codec/clamp_ab.py towards 300
    OPENCV_DOC=... uv run --frozen python benchmarks/ict-codec/clamp_ab.py clamp 300

Tiny ICT, λ = 0.0067 (CompressAI form), 64 px crops, batch 4, Adam 1e-3, one seed; prints one JSON
line: training loss (mean of the last 50 steps), eval-mode bpp / PSNR / loss on 16 fixed crops, and
the share of predicted scale indices outside [0, 63].
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

import methodzoo.ict_codec.entropy as entropy
import methodzoo.ict_codec.model as model_module
from methodzoo.ict_codec import CodecConfig, RandomCrops, TrainConfig, build_model, fit
from methodzoo.ict_codec.release import training_photos


def plain_clamp(x: torch.Tensor, lo: float, hi: float = float("inf")) -> torch.Tensor:
    return x.clamp(lo, hi)


def main(mode: str, steps: int) -> dict[str, float | str | int]:
    torch.set_num_threads(1)
    if mode == "clamp":
        entropy.bound_towards = plain_clamp
        model_module.bound_towards = plain_clamp
    torch.manual_seed(0)
    model = build_model(CodecConfig.tiny("ict"))
    photos = [image for _, image in training_photos(os.environ.get("OPENCV_DOC"))]
    config = TrainConfig(lmbda=0.0067, loss_form="compressai", steps=steps, batch_size=4, patch_size=64, lr=1e-3,
                         checkpoint_every=0, lr_drop_at=1.0)
    history = fit(model, photos, config, progress=False)
    batch = RandomCrops(photos, 64).batch(16, torch.Generator().manual_seed(7))
    model.eval()
    indices = []
    with torch.no_grad():
        y = model.analysis(batch)
        hyper_mu, hyper_sigma = model.hyper_synthesis(torch.round(model.hyper_analysis(y)))
        decoded: list[torch.Tensor] = []
        for i, y_i in enumerate(y.chunk(model.config.num_slices, 1)):
            mu, _, index = model.entropy_parameters(i, hyper_mu, hyper_sigma, decoded)
            indices.append(index.flatten())
            decoded.append(torch.round(y_i - mu) + mu)
        out = model(batch)
    index = torch.cat(indices)
    bpp = float(sum(-torch.log2(p).sum() for p in out["likelihoods"].values()) / (16 * 64 * 64))
    mse = float(((out["x_hat"] - batch) ** 2).mean())
    return {"mode": mode, "steps": steps, "train_loss_last50": float(np.mean(history.values["loss"][-50:])),
            "eval_bpp": bpp, "eval_psnr": float(10 * np.log10(255**2 / mse)), "eval_loss": bpp + 0.0067 * mse,
            "index_below_0": float((index < 0).float().mean()), "index_above_63": float((index > 63).float().mean())}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
