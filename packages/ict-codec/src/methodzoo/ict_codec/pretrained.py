"""The weights shipped inside the package: ``weights/<kind>-q<N>.safetensors``.

ICT (the codec used by default) and AICT at qualities 1..4, trained by the same recipe
(``benchmarks/ict-codec/train_release.sh release``; see the package README's model card).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

import torch

from methodzoo.ict_codec import bitstream
from methodzoo.ict_codec.model import ChannelWiseCodec, model_fingerprint
from methodzoo.shared.errors import UserError

DEFAULT_QUALITY = 3
_NAME = re.compile(r"^(?P<kind>[a-z-]+)-q(?P<quality>\d+)\.safetensors$")


def weights_folder() -> Path:
    """Folder of the shipped weights."""
    return Path(str(resources.files("methodzoo.ict_codec") / "weights"))


def available() -> dict[tuple[str, int], Path]:
    """``{(kind, quality): file}`` of the shipped weights."""
    folder = weights_folder()
    found = {}
    if folder.is_dir():
        for path in folder.iterdir():
            match = _NAME.match(path.name)
            if match:
                found[(match["kind"], int(match["quality"]))] = path
    return dict(sorted(found.items()))


def pretrained_path(quality: int = DEFAULT_QUALITY, kind: str = "ict") -> Path:
    """The shipped weights file of ``kind`` at ``quality``; a clear error listing what exists."""
    files = available()
    if (kind, quality) not in files:
        listing = ", ".join(f"{k} q{q}" for k, q in files) or "none (the package was built without weights)"
        raise UserError(f"no shipped {kind} weights at quality {quality}; available: {listing}")
    return files[(kind, quality)]


@cache
def _load_cached(path: Path) -> ChannelWiseCodec:
    from methodzoo.ict_codec.api import load_model

    return load_model(path)


def load_pretrained(quality: int = DEFAULT_QUALITY, kind: str = "ict",
                    device: str | torch.device = "cpu") -> ChannelWiseCodec:
    """A shipped model, ready to code (loaded once per process on the CPU; moved if ``device`` asks).

    The returned model is shared between calls: do not train it in place (load a copy with
    :func:`methodzoo.ict_codec.load_model` and :func:`pretrained_path` instead).
    """
    model = _load_cached(pretrained_path(quality, kind))
    return model if torch.device(device).type == "cpu" else model.to(device)


def model_for_bitstream(data: bytes) -> ChannelWiseCodec:
    """The shipped model whose fingerprint the bitstream's header carries."""
    header = bitstream.peek(data)
    for (kind, _), path in available().items():
        if kind == header.kind:
            model = _load_cached(path)
            if model_fingerprint(model) == header.fingerprint:
                return model
    raise UserError(f"the bitstream was made by a {header.kind} model that is not shipped with this package "
                    f"(fingerprint {header.fingerprint.hex()}); pass the weights that encoded it (--weights)")
