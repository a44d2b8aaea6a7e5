"""The recipe that trains the shipped weights: one model kind at several λ, chained.

``methodzoo ict-codec train-release --out DIR`` trains the highest λ from scratch, then fine-tunes
each lower λ from the previous one's weights (a documented deviation: the paper trains every λ
from scratch for 2M steps). Each finished λ is written at once as ``DIR/<kind>-q<N>.safetensors``
(quality ``N`` = 1 for the lowest λ) and the stage in progress checkpoints every
``checkpoint_every`` steps, so the run can be stopped at any time and resumed with the same command.

Data: the offline photos (:func:`methodzoo.shared.data.offline_photos`) and, when present, the
photos of Debian's ``opencv-doc`` examples (``apt-get install opencv-doc``), minus the held-out
photos the benchmark evaluates on.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from methodzoo.shared.config import Config, check

# Held out from training: the benchmark's test photos (offline) and two opencv-doc photos.
HELD_OUT_OFFLINE: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "china")
HELD_OUT_OPENCV: tuple[str, ...] = ("baboon", "fruits")
OPENCV_DOC_FOLDER = Path("/usr/share/doc/opencv-doc/examples/data")
# The natural colour photos of opencv-doc's examples (renders, logos, charts and calibration boards left out).
OPENCV_PHOTOS: tuple[str, ...] = (
    "aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "board.jpg", "building.jpg", "butterfly.jpg",
    "ela_original.jpg", "fruits.jpg", "graf1.png", "home.jpg", "left.jpg", "leuvenA.jpg", "licenseplate_motion.jpg",
    "messi5.jpg", "orange.jpg", "pca_test1.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg",
    "starry_night.jpg", "stuff.jpg",
)
# CompressAI's λ for its qualities 1, 3, 4 and 6 (loss bpp + λ·255²·MSE_[0,1]).
COMPRESSAI_LAMBDAS: tuple[float, ...] = (0.0018, 0.0067, 0.0130, 0.0483)


@dataclass(frozen=True)
class ReleaseRecipe(Config):
    """How the shipped weights are trained (CompressAI loss form; λ listed lowest first)."""

    kind: str = field(default="ict", metadata={"help": "model kind"})
    preset: str = field(default="tiny", metadata={"help": "model size (CodecConfig preset)"})
    lambdas: tuple[float, ...] = field(default=COMPRESSAI_LAMBDAS,
                                       metadata={"help": "λ of qualities 1..N (CompressAI form), lowest first"})
    base_steps: int = field(default=2500, metadata={"help": "steps of the highest λ, from scratch"})
    finetune_steps: int = field(default=500, metadata={"help": "steps of each lower λ, from the previous one"})
    batch_size: int = field(default=4, metadata={"help": "crops per step"})
    patch_size: int = field(default=128, metadata={"help": "side of the random crops"})
    base_lr: float = field(default=1e-3, metadata={"help": "Adam lr of the first λ (×0.1 for its last 10 %)"})
    finetune_lr: float = field(default=3e-4, metadata={"help": "Adam lr of the fine-tuning stages (×0.1 at 80 %)"})
    seed: int = field(default=0, metadata={"help": "seed of the initialisation, crops and noise"})
    checkpoint_every: int = field(default=50, metadata={"help": "steps between checkpoints"})

    def validate(self) -> None:
        check(len(self.lambdas) >= 1 and all(x > 0 for x in self.lambdas), "lambdas must be positive")
        check(list(self.lambdas) == sorted(self.lambdas), "lambdas must be listed lowest first")
        check(self.base_steps >= 1 and self.finetune_steps >= 1, "steps must be >= 1")

    def stages(self) -> list[tuple[int, float, int, float, float]]:
        """``(quality, λ, steps, lr, lr_drop_at)`` in training order: highest λ first."""
        n = len(self.lambdas)
        out = []
        for order, quality in enumerate(range(n, 0, -1)):
            first = order == 0
            out.append((quality, self.lambdas[quality - 1], self.base_steps if first else self.finetune_steps,
                        self.base_lr if first else self.finetune_lr, 0.9 if first else 0.8))
        return out


def weights_name(kind: str, quality: int) -> str:
    """File name of the weights of ``kind`` at ``quality`` (1 = lowest rate)."""
    return f"{kind}-q{quality}.safetensors"


def training_photos(opencv_doc: str | Path | None = None) -> list[tuple[str, np.ndarray]]:
    """Training photos: offline photos and opencv-doc's photos (if the folder exists), held-out ones excluded."""
    from methodzoo.shared.data import load_image, offline_photos
    from methodzoo.shared.data.offline import PHOTO_NAMES

    photos = [(p.name, p.image) for p in offline_photos([n for n in PHOTO_NAMES if n not in HELD_OUT_OFFLINE])]
    folder = Path(opencv_doc) if opencv_doc is not None else OPENCV_DOC_FOLDER
    if folder.is_dir():
        for name in OPENCV_PHOTOS:
            if Path(name).stem not in HELD_OUT_OPENCV and (folder / name).is_file():
                photos.append((f"opencv:{Path(name).stem}", load_image(folder / name)))
    return photos


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stdout, flush=True)


def train_release(out: str | Path, recipe: ReleaseRecipe, photos: Sequence[np.ndarray], *,
                  device: str = "cpu", log: Callable[[str], None] = _log, log_every: int = 25) -> list[Path]:
    """Train (or resume) every stage of ``recipe`` into ``out``; return the weights files in quality order."""
    from methodzoo.ict_codec.api import load_model, save_model
    from methodzoo.ict_codec.config import CodecConfig, TrainConfig
    from methodzoo.ict_codec.model import build_model, parameter_count
    from methodzoo.ict_codec.train import fit

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    recipe.save(out / f"{recipe.kind}-recipe.json")
    torch.manual_seed(recipe.seed)
    model = build_model(CodecConfig.preset(recipe.preset, recipe.kind))  # type: ignore[arg-type]
    log(f"{recipe.kind} ({recipe.preset}, {parameter_count(model)} parameters) on {len(photos)} photos")
    files: dict[int, Path] = {}
    for order, (quality, lmbda, steps, lr, drop) in enumerate(recipe.stages()):
        path = out / weights_name(recipe.kind, quality)
        files[quality] = path
        if path.is_file():
            model = load_model(path, device).train()
            log(f"q{quality} (λ={lmbda}) already trained: {path}")
            continue
        config = TrainConfig(lmbda=lmbda, loss_form="compressai", steps=steps, batch_size=recipe.batch_size,
                             patch_size=recipe.patch_size, lr=lr, lr_drop_at=drop, seed=recipe.seed + order,
                             checkpoint_every=recipe.checkpoint_every)
        started = time.time()

        def report(step: int, scalars: dict[str, float], quality: int = quality, started: float = started,
                   steps: int = steps) -> None:
            if step % log_every == 0:
                log(f"q{quality} step {step}/{steps} " + " ".join(f"{k}={v:.4g}" for k, v in scalars.items())
                    + f" ({time.time() - started:.0f} s)")

        fit(model, photos, config, checkpoint_dir=out / "checkpoints" / f"{recipe.kind}-q{quality}", resume=True,
            progress=False, device=device, description=f"{recipe.kind} q{quality}", callback=report)
        save_model(path, model.cpu(), metadata={"lmbda": str(lmbda), "quality": str(quality),
                                                "recipe": recipe.to_json(indent=None)})
        model.to(device).train()
        log(f"q{quality} (λ={lmbda}) done in {time.time() - started:.0f} s: {path}")
    return [files[q] for q in sorted(files)]


def main(argv: list[str] | None = None) -> int:
    """``python -m methodzoo.ict_codec.release --out DIR [--kind ict] [--preset small] [--threads 1] ...``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", required=True)
    parser.add_argument("--opencv-doc", default=None, help=f"opencv-doc examples folder (default {OPENCV_DOC_FOLDER})")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    ReleaseRecipe.add_arguments(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = ReleaseRecipe.from_args(args)
    named = training_photos(args.opencv_doc)
    _log("photos: " + ", ".join(name for name, _ in named))
    files = train_release(args.out, recipe, [image for _, image in named], device=args.device)
    print(json.dumps({"weights": [str(f) for f in files]}))
    return 0


def describe(recipe: ReleaseRecipe) -> dict[str, Any]:
    """The recipe as the model card states it."""
    return {"kind": recipe.kind, "preset": recipe.preset, "stages": [
        {"quality": q, "lmbda": lmbda, "steps": steps, "lr": lr} for q, lmbda, steps, lr, _ in recipe.stages()]}


if __name__ == "__main__":
    raise SystemExit(main())
