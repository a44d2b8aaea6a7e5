"""A trained run on disk: ``model.safetensors`` (weights, MMTM running gates included, configs in
its metadata) and ``run.json`` (configs and per-epoch history); and rebuilding it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from methodzoo.greedy_mm.architectures import build_network
from methodzoo.greedy_mm.config import BalanceConfig, DataConfig, ModelConfig, TrainConfig
from methodzoo.greedy_mm.data.paired import TwoModalityData
from methodzoo.greedy_mm.data.registry import load_two_modality
from methodzoo.greedy_mm.network import MultimodalNetwork
from methodzoo.greedy_mm.training import EpochLog
from methodzoo.shared.device import resolve_device
from methodzoo.shared.errors import DataNotFoundError, UserError
from methodzoo.shared.io import write_json
from methodzoo.shared.seed import seeded
from methodzoo.shared.train import load_weights, save_weights

WEIGHTS = "model.safetensors"
RUN = "run.json"


@dataclass(frozen=True)
class RunConfigs:
    """Everything needed to rebuild a run's data and network."""

    data: DataConfig
    model: ModelConfig
    balance: BalanceConfig
    train: TrainConfig

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data.to_dict(), "model": self.model.to_dict(), "balance": self.balance.to_dict(),
                "train": self.train.to_dict()}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> RunConfigs:
        return cls(DataConfig.from_dict(state["data"]), ModelConfig.from_dict(state["model"]),
                   BalanceConfig.from_dict(state["balance"]), TrainConfig.from_dict(state["train"]))


def build_run(configs: RunConfigs) -> tuple[TwoModalityData, MultimodalNetwork]:
    """The data set and a freshly initialised network (weights drawn from the train seed)."""
    data = load_two_modality(configs.data, seed=configs.train.seed)
    with seeded(configs.train.seed):
        model = build_network(configs.model, data.example_inputs(), data.num_classes)
    return data, model


def save_run(folder: str | Path, model: nn.Module, configs: RunConfigs, history: list[EpochLog]) -> Path:
    """Write the weights and the run description into ``folder``."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    save_weights(target / WEIGHTS, model, config=configs.to_dict())
    write_json(target / RUN, {"configs": configs.to_dict(), "history": [log.to_dict() for log in history]})
    return target


def load_run(folder: str | Path, device: str | torch.device = "auto") -> tuple[RunConfigs, TwoModalityData,
                                                                           MultimodalNetwork, list[dict[str, Any]]]:
    """Rebuild a saved run: configs, data, the trained network (eval mode) and its history."""
    source = Path(folder)
    if not (source / WEIGHTS).is_file() or not (source / RUN).is_file():
        raise DataNotFoundError(f"{source} is not a greedy-mm run: expected {WEIGHTS} and {RUN} "
                                "(written by `methodzoo greedy-mm train --out DIR`)")
    try:
        description = json.loads((source / RUN).read_text())
        configs = RunConfigs.from_dict(description["configs"])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise UserError(f"{source / RUN} is not a greedy-mm run description: {error}") from None
    data, model = build_run(configs)
    load_weights(source / WEIGHTS, model)
    model.to(resolve_device(device)).eval()
    return configs, data, model, list(description.get("history", []))
