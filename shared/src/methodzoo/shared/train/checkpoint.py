"""Checkpoints as safetensors plus a JSON of config, step and the non-tensor state.

Files for step 120 in ``folder``::

    step-00000120.safetensors   every tensor (model, EMA, optimizer moments, RNG states)
    step-00000120.json          config, step, metrics and the skeleton that places the tensors
    latest.json                 names the newest complete checkpoint; written last

Each file is written atomically (temporary file + rename) and ``latest.json`` only after both,
so an interrupted save never leaves a checkpoint that loads half-written. Loading never unpickles.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from methodzoo.shared.errors import UserError
from methodzoo.shared.io import atomic_write, atomic_write_text, to_jsonable
from methodzoo.shared.train.state import flatten_state, unflatten_state

FORMAT = "methodzoo-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(UserError):
    """A checkpoint is missing, incomplete or not one of ours."""


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` returns."""

    step: int
    state: dict[str, Any]
    config: dict[str, Any] | None
    metadata: dict[str, Any]
    path: Path


def save_checkpoint(folder: str | Path, step: int, state: Mapping[str, Any], *,
                    config: Mapping[str, Any] | None = None,
                    metadata: Mapping[str, Any] | None = None, keep: int | None = 2) -> Path:
    """Write ``state`` (nested dicts of tensors and plain values) for ``step``; return its JSON path.

    ``keep`` old checkpoints are kept (``None`` keeps all).
    """
    folder = Path(folder)
    stem = f"step-{step:08d}"
    tensors: dict[str, torch.Tensor] = {}
    skeleton = flatten_state(dict(state), "", tensors)
    atomic_write(folder / f"{stem}.safetensors", lambda temp: save_file(tensors, str(temp)))
    record = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "step": step,
        "tensors": f"{stem}.safetensors",
        "config": to_jsonable(dict(config)) if config is not None else None,
        "metadata": to_jsonable(dict(metadata or {})),
        "state": skeleton,
    }
    json_path = folder / f"{stem}.json"
    atomic_write_text(json_path, json.dumps(record, indent=1, sort_keys=True))
    atomic_write_text(folder / "latest.json", json.dumps({"checkpoint": json_path.name}) + "\n")
    if keep is not None:
        _prune(folder, keep)
    return json_path


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The newest complete checkpoint in ``folder``, or ``None`` when there is none."""
    pointer = Path(folder) / "latest.json"
    if not pointer.exists():
        return None
    name = json.loads(pointer.read_text())["checkpoint"]
    return Path(folder) / name


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint from its JSON file or from a folder (its newest checkpoint)."""
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise CheckpointError(f"no checkpoint in {path} (expected latest.json and step-*.json)")
        path = found
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not a methodzoo checkpoint: {error}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a methodzoo checkpoint (no '{FORMAT}' header)")
    if record.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {record['format_version']}, newer than this "
            f"version of methodzoo-shared understands ({FORMAT_VERSION}); upgrade methodzoo-shared"
        )
    tensor_path = path.parent / record["tensors"]
    try:
        tensors = load_file(str(tensor_path), device=str(map_location))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"cannot read {tensor_path}: {error}") from None
    state = unflatten_state(record["state"], tensors)
    return Checkpoint(step=int(record["step"]), state=state, config=record.get("config"),
                      metadata=record.get("metadata", {}), path=path)


def _prune(folder: Path, keep: int) -> None:
    records = sorted(folder.glob("step-*.json"))
    for old in records[: max(0, len(records) - keep)]:
        old.unlink(missing_ok=True)
        old.with_suffix(".safetensors").unlink(missing_ok=True)


def save_weights(path: str | Path, module: torch.nn.Module, *, config: Mapping[str, Any] | None = None,
                 metadata: Mapping[str, str] | None = None) -> Path:
    """Save a module's ``state_dict`` as one safetensors file (config as JSON in its metadata)."""
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}
    meta = {k: str(v) for k, v in (metadata or {}).items()}
    if config is not None:
        meta["config"] = json.dumps(to_jsonable(dict(config)), sort_keys=True)
    return atomic_write(path, lambda temp: save_file(tensors, str(temp), metadata=meta))


def load_weights(path: str | Path, module: torch.nn.Module, *, strict: bool = True) -> dict[str, str]:
    """Load weights written by :func:`save_weights` into ``module``; return the file's metadata."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = dict(handle.metadata() or {})
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"cannot read weights from {path}: {error}") from None
    try:
        module.load_state_dict(tensors, strict=strict)
    except RuntimeError as error:
        raise CheckpointError(f"weights in {path} do not fit this model: {error}") from None
    return meta
