"""Training and evaluating a classifier on encoded windows (or, for ``raw1d``, on the series).

:func:`fit` encodes the windows once (or batch by batch when the images would not fit in
memory), trains with mixup and the configured augmentation, and keeps the weights of the epoch
with the best accuracy on a validation split cut from the training data (ties: lower
validation loss). The test split is never looked at. :class:`RPHarClassifier` bundles the
encoder with the network, so it classifies raw windows, and saves as safetensors + JSON.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.rp_har.augment import random_resized_crop_flip
from methodzoo.rp_har.config import EncodingConfig, TrainConfig
from methodzoo.rp_har.containers import LabeledSeries
from methodzoo.rp_har.data import validation_split
from methodzoo.rp_har.encoder import ImageEncoder
from methodzoo.rp_har.mixup import mixup
from methodzoo.rp_har.networks import RawCNN1d, build_network
from methodzoo.shared.device import resolve_device
from methodzoo.shared.errors import UserError
from methodzoo.shared.io import atomic_write_text
from methodzoo.shared.metrics.confusion import confusion_matrix, macro_f1
from methodzoo.shared.progress import progress
from methodzoo.shared.seed import seeded
from methodzoo.shared.train import EpochBatches, load_weights, save_weights

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
CACHE_LIMIT_BYTES = 1 << 30  # encode batch by batch when all images would take more


class RPHarClassifier(nn.Module):
    """An encoder and a network: raw windows ``(N, C, T)`` in, class logits out.

    ``encoding`` is None for the ``raw1d`` baseline, which sees the series themselves.
    """

    def __init__(self, network: nn.Module, encoding: EncodingConfig | None, config: TrainConfig,
                 class_names: tuple[str, ...], channel_names: tuple[str, ...], length: int) -> None:
        super().__init__()
        if config.uses_images and encoding is None:
            raise UserError(f"backbone {config.backbone!r} needs an encoding")
        self.network = network
        self.encoding = encoding if config.uses_images else None
        self.config = config
        self.class_names = tuple(class_names)
        self.channel_names = tuple(channel_names)
        self.length = length

    def prepare(self, series: torch.Tensor) -> torch.Tensor:
        """The network's input for windows ``(N, C, T)``: images ``(N, K, S, S)``, or the series."""
        if series.ndim != 3 or series.shape[1] != len(self.channel_names):
            raise UserError(f"expected windows (N, {len(self.channel_names)}, T) with channels "
                            f"{', '.join(self.channel_names)}, got shape {tuple(series.shape)}")
        if self.encoding is None:
            return series.float()
        return ImageEncoder(self.encoding)(series)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.network(inputs)  # type: ignore[no-any-return]

    @torch.no_grad()
    def predict_logits(self, series: torch.Tensor, batch_size: int = 128) -> torch.Tensor:
        """Logits ``(N, classes)`` on the CPU for windows ``(N, C, T)``, in eval mode."""
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        try:
            parts = [self(self.prepare(series[start:start + batch_size].to(device))).float().cpu()
                     for start in range(0, series.shape[0], batch_size)]
        finally:
            self.train(was_training)
        return torch.cat(parts)

    def predict(self, series: torch.Tensor, batch_size: int = 128) -> torch.Tensor:
        """Predicted class indices ``(N,)``."""
        return self.predict_logits(series, batch_size).argmax(dim=1)

    # ----- files ----------------------------------------------------------------------------
    def description(self) -> dict[str, Any]:
        return {"encoding": None if self.encoding is None else self.encoding.to_dict(),
                "train": self.config.to_dict(), "class_names": list(self.class_names),
                "channel_names": list(self.channel_names), "length": self.length,
                "in_channels": _network_channels(self.encoding, len(self.channel_names))}

    def save(self, folder: str | Path) -> Path:
        """``folder/model.safetensors`` (its metadata and ``config.json`` describe the model)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        description = self.description()
        atomic_write_text(folder / CONFIG_FILE, json.dumps(description, indent=2, sort_keys=True) + "\n")
        return save_weights(folder / WEIGHTS_FILE, self.network, config=description)

    @classmethod
    def load(cls, folder: str | Path, device: str | torch.device = "cpu") -> RPHarClassifier:
        """A classifier saved by :meth:`save` (weights read as safetensors, never unpickled)."""
        folder = Path(folder)
        path = folder / CONFIG_FILE
        if not path.is_file() or not (folder / WEIGHTS_FILE).is_file():
            raise UserError(f"{folder} is not a saved rp-har model: expected {CONFIG_FILE} and {WEIGHTS_FILE}")
        description = json.loads(path.read_text())
        config = TrainConfig.from_dict(description["train"]).replace(pretrained=False, weights_path=None)
        encoding = None if description["encoding"] is None else EncodingConfig.from_dict(description["encoding"])
        network = build_network(config, description["in_channels"], len(description["class_names"]))
        load_weights(folder / WEIGHTS_FILE, network)
        model = cls(network, encoding, config, tuple(description["class_names"]),
                    tuple(description["channel_names"]), int(description["length"]))
        return model.to(resolve_device(device)).eval()


def _network_channels(encoding: EncodingConfig | None, series_channels: int) -> int:
    return series_channels if encoding is None else encoding.out_channels(series_channels)


class _Inputs:
    """Network inputs for a split: encoded once when they fit in memory, else batch by batch."""

    def __init__(self, model: RPHarClassifier, series: torch.Tensor, device: torch.device) -> None:
        self.model = model
        self.series = series
        self.device = device
        size = model.encoding.image_size if model.encoding is not None else None
        channels = _network_channels(model.encoding, series.shape[1])
        side = size if size is not None else series.shape[2]
        self.cached: torch.Tensor | None = None
        if series.shape[0] * channels * side * side * 4 <= CACHE_LIMIT_BYTES:
            self.cached = torch.cat([model.prepare(series[start:start + 256].to(device))
                                     for start in range(0, series.shape[0], 256)])

    def batch(self, index: torch.Tensor) -> torch.Tensor:
        if self.cached is not None:
            return self.cached[index.to(self.cached.device)]
        return self.model.prepare(self.series[index].to(self.device))


@dataclass
class FitResult:
    """A trained classifier (best validation epoch) and its training record."""

    classifier: RPHarClassifier
    best_epoch: int
    best_val_accuracy: float
    history: dict[str, list[float]] = field(default_factory=dict)
    train_size: int = 0
    val_size: int = 0
    seconds: float = 0.0


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


@torch.no_grad()
def _validate(model: RPHarClassifier, inputs: _Inputs, labels: torch.Tensor) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) on a split, in eval mode."""
    model.eval()
    logits = torch.cat([model(inputs.batch(torch.arange(start, min(start + 256, len(labels))))).float().cpu()
                        for start in range(0, len(labels), 256)])
    model.train()
    return float((logits.argmax(1) == labels).float().mean()), float(F.cross_entropy(logits, labels))


def fit(train: LabeledSeries, config: TrainConfig | None = None, encoding: EncodingConfig | None = None, *,
        validation: LabeledSeries | None = None, device: str | torch.device = "auto",
        show_progress: bool | None = None, description: str = "rp-har") -> FitResult:
    """Train a classifier on ``train`` windows ``(N, C, T)``.

    ``encoding`` defaults to rp-har's image (ignored by ``raw1d``); ``validation`` defaults to
    a split of ``train`` (:func:`~methodzoo.rp_har.data.validation_split`, whole subjects when
    subject ids exist). Returns the weights of the best validation epoch.
    """
    config = config or TrainConfig()
    encoding = (encoding or EncodingConfig()) if config.uses_images else None
    device = resolve_device(device)
    if validation is None:
        train, validation = validation_split(train, config.val_fraction, config.split, config.seed)
    num_classes = len(train.class_names)
    if train.values.shape[1:] != validation.values.shape[1:]:
        raise UserError(f"train windows {tuple(train.values.shape[1:])} and validation windows "
                        f"{tuple(validation.values.shape[1:])} differ in shape")
    start_time = time.perf_counter()
    with seeded(config.seed):
        network = build_network(config, _network_channels(encoding, train.values.shape[1]), num_classes)
    if isinstance(network, RawCNN1d):
        network.set_input_statistics(train.values.float())
    model = RPHarClassifier(network, encoding, config, train.class_names, train.channel_names,
                            train.values.shape[2]).to(device)
    train_inputs = _Inputs(model, train.values, device)
    val_inputs = _Inputs(model, validation.values, device)
    optimizer = _optimizer(model, config)
    scheduler = (torch.optim.lr_scheduler.StepLR(optimizer, config.lr_step, config.lr_gamma)
                 if config.lr_step > 0 else None)
    batch_size = min(config.batch_size, len(train))
    batches = EpochBatches(len(train), batch_size, seed=config.seed)
    generator = torch.Generator().manual_seed(config.seed + 1)  # mixup and augmentation draws
    augmentation = config.augmentation_for(encoding) if encoding is not None else "none"
    labels = train.labels.to(device)
    history: dict[str, list[float]] = {"loss": [], "val_accuracy": [], "val_loss": []}
    best: tuple[float, float] = (-1.0, float("inf"))
    best_state: dict[str, torch.Tensor] = {}
    best_epoch = 0
    step = 0
    model.train()
    bar = progress(range(config.epochs), desc=description, enabled=show_progress)
    for epoch in bar:
        losses = []
        for _ in range(batches.batches_per_epoch):
            index = batches.batch(step)
            step += 1
            inputs = train_inputs.batch(index)
            if augmentation == "flip_crop":
                inputs = random_resized_crop_flip(inputs, generator)
            targets = F.one_hot(labels[index.to(device)], num_classes).to(inputs.dtype)
            if config.mixup_alpha > 0:
                inputs, targets, _ = mixup(inputs, targets, config.mixup_alpha, generator, take_max=config.mixup_max)
            loss = F.cross_entropy(model(inputs), targets)
            if not torch.isfinite(loss):
                raise UserError(f"the training loss became {float(loss)} at epoch {epoch + 1}; lower --lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach().item())
        if scheduler is not None:
            scheduler.step()
        accuracy, val_loss = _validate(model, val_inputs, validation.labels)
        history["loss"].append(sum(losses) / len(losses))
        history["val_accuracy"].append(accuracy)
        history["val_loss"].append(val_loss)
        if (accuracy, -val_loss) > (best[0], -best[1]):
            best, best_epoch = (accuracy, val_loss), epoch + 1
            best_state = copy.deepcopy(model.network.state_dict())
        bar.set_postfix(val_acc=f"{accuracy:.3f}", best=f"{best[0]:.3f}")
    model.network.load_state_dict(best_state)
    model.eval()
    return FitResult(model, best_epoch, best[0], history, len(train), len(validation),
                     time.perf_counter() - start_time)


def evaluate(classifier: RPHarClassifier, data: LabeledSeries, batch_size: int = 128) -> dict[str, Any]:
    """Accuracy, macro-F1 and the confusion matrix (rows: true class) on ``data``."""
    if tuple(data.class_names) != classifier.class_names:
        raise UserError(f"the data's classes {list(data.class_names)} are not the model's "
                        f"{list(classifier.class_names)}")
    predicted = classifier.predict(data.values, batch_size)
    classes = len(classifier.class_names)
    return {"accuracy": float((predicted == data.labels).float().mean()),
            "macro_f1": macro_f1(predicted, data.labels, classes),
            "confusion": confusion_matrix(predicted, data.labels, classes).tolist(),
            "n": len(data), "predicted": predicted}


__all__ = ["FitResult", "RPHarClassifier", "evaluate", "fit"]
