"""One training run (:func:`fit`): the outer minimisation over θ with the pool schedule, and
saving / loading the trained classifier (safetensors + JSON)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from methodzoo.attr_adv.config import AugMixConfig, InnerConfig, PGDConfig, TrainConfig
from methodzoo.attr_adv.data import SplitData, cifar10_split, digits_split, random_crop_flip
from methodzoo.attr_adv.methods import AGAT, TrainingMethod, build_method
from methodzoo.attr_adv.models import build_classifier
from methodzoo.attr_adv.pool import AugmentationPool, SliceRecord, pool_epochs, slice_size
from methodzoo.attr_adv.space import AttributeSpace
from methodzoo.shared.device import resolve_device
from methodzoo.shared.errors import UserError
from methodzoo.shared.io import atomic_write_text
from methodzoo.shared.progress import progress as progress_bar
from methodzoo.shared.seed import make_generator, seeded
from methodzoo.shared.train import load_weights, save_weights

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def resolve_space(config: TrainConfig) -> AttributeSpace:
    """The run's attribute space: ``space_file`` (JSON), else the ``space`` preset, else the dataset's."""
    if config.space_file is not None:
        path = Path(config.space_file)
        if not path.is_file():
            raise UserError(f"attribute space file {path} not found")
        try:
            return AttributeSpace.load(path)
        except json.JSONDecodeError as error:
            raise UserError(f"{path} is not JSON: {error}") from None
    return AttributeSpace.preset(config.space or config.default_space)


def load_training_data(config: TrainConfig) -> SplitData:
    """The run's train/test split (digits offline; CIFAR-10 from ``data_root``)."""
    if config.dataset == "cifar10":
        return cifar10_split(config.data_root, config.train_size, config.test_size, config.seed)
    return digits_split(config.train_size, config.test_size, config.seed, name=config.dataset)


@dataclass
class FitResult:
    """The trained model and what happened: per-epoch loss and pool size, the pool slices."""

    model: nn.Module
    config: TrainConfig
    space: AttributeSpace
    method_configs: dict[str, dict[str, Any]]
    data_shape: dict[str, Any]  # channels, image_size, num_classes, model: what rebuilds the network
    epoch_loss: list[float] = field(default_factory=list)
    pool_sizes: list[int] = field(default_factory=list)  # pool size during each epoch
    pool_slices: list[SliceRecord] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"method": self.config.method, "epochs": self.config.epochs, "final_loss": self.epoch_loss[-1],
                "pool_size": self.pool_sizes[-1] if self.pool_sizes else 0, "seconds": round(self.seconds, 2),
                "pool_slices": [vars(s) for s in self.pool_slices]}


def grow_pool(method: TrainingMethod, pool: AugmentationPool, images: torch.Tensor, labels: torch.Tensor,
              config: TrainConfig, epoch: int, generator: torch.Generator, device: torch.device) -> SliceRecord:
    """Perturb a random ``aug_percentage`` of the training set against the current model and pool it."""
    chosen = torch.randperm(len(labels), generator=generator)[:slice_size(config, len(labels))]
    attributes, starts, ends = [], [], []
    for chunk in chosen.split(config.aug_batch_size):
        x, y = images[chunk].to(device), labels[chunk].to(device)
        perturbed = method.inner_maximization(x, y)
        pool.add(perturbed.images.cpu(), y.cpu())
        if perturbed.attributes is not None:
            attributes.append(perturbed.attributes.cpu())
        if isinstance(method, AGAT) and method.last_objective:
            starts.append(method.last_objective[0])
            ends.append(method.last_objective[-1])
    record = SliceRecord(epoch, len(chosen))
    if attributes:
        u = torch.cat(attributes)  # (count, K)
        lower, upper = method.space.lower(u), method.space.upper(u)
        at_bound = ((u - lower).abs() < 1e-6) | ((u - upper).abs() < 1e-6)
        record.attribute_mean_abs = [round(float(v), 4) for v in u.abs().mean(dim=0)]
        record.at_bound_fraction = [round(float(v), 4) for v in at_bound.float().mean(dim=0)]
    if starts:
        record.objective_start = sum(starts) / len(chosen)
        record.objective_end = sum(ends) / len(chosen)
    pool.slices.append(record)
    return record


def fit(config: TrainConfig, *, inner: InnerConfig | None = None, pgd: PGDConfig | None = None,
        augmix: AugMixConfig | None = None, space: AttributeSpace | None = None, data: SplitData | None = None,
        progress: bool | None = None,
        on_epoch: Callable[[int, nn.Module], None] | None = None) -> FitResult:
    """Train ``config.method`` with the pool (or online) schedule; everything random derives from
    ``config.seed`` (split, initialisation, batches, pool slices, attributes, noise)."""
    start_time = time.perf_counter()
    inner, pgd, augmix = inner or InnerConfig(), pgd or PGDConfig(), augmix or AugMixConfig()
    space = space or resolve_space(config)
    device = resolve_device(config.device)
    data = data or load_training_data(config)
    model_name = config.model or ("resnet26" if config.dataset == "cifar10" else "small-cnn")
    with seeded(config.seed):
        model = build_classifier(model_name, data.num_classes, data.channels, data.image_size, config.width)
    model = model.to(device)
    method = build_method(config.method, model, space, inner=inner, pgd=pgd, augmix=augmix,
                          generator=make_generator(config.seed + 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    milestones = sorted({max(1, round(m * config.epochs)) for m in config.lr_milestones})
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, config.lr_gamma)
    batch_generator, pool_generator = make_generator(config.seed + 2), make_generator(config.seed + 3)
    crop_generator = make_generator(config.seed + 4)
    pool, slice_epochs = AugmentationPool(), set(pool_epochs(config))
    use_pool = method.perturbs and config.schedule == "pool"
    images, labels = data.train_images, data.train_labels
    result = FitResult(model, config, space, {"inner": inner.to_dict(), "pgd": pgd.to_dict(), "augmix": augmix.to_dict()},
                       {"channels": data.channels, "image_size": data.image_size, "num_classes": data.num_classes,
                        "model": model_name})
    for epoch in progress_bar(range(config.epochs), desc=f"attr-adv {config.method}", enabled=progress):
        if use_pool and epoch in slice_epochs:
            grow_pool(method, pool, images, labels, config, epoch, pool_generator, device)
        pooled = pool.tensors() if len(pool) else None
        order = torch.randperm(len(labels) + len(pool), generator=batch_generator)
        online = method.perturbs and config.schedule == "online" and epoch >= config.epochs_pre
        losses = []
        for batch in order.split(config.batch_size):
            x, y = _gather(batch, images, labels, pooled)
            if data.name == "cifar10":
                x = random_crop_flip(x, crop_generator)
            x, y = x.to(device), y.to(device)
            perturbed = method.inner_maximization(x, y).images if online else None
            loss = method.outer_loss(x, y, perturbed)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        scheduler.step()
        if not all(torch.isfinite(torch.tensor(losses))):
            raise UserError(f"training diverged at epoch {epoch} (non-finite loss); lower --lr")
        result.epoch_loss.append(sum(losses) / len(losses))
        result.pool_sizes.append(len(pool))
        if on_epoch is not None:
            on_epoch(epoch, model)
    result.pool_slices = list(pool.slices)
    result.seconds = time.perf_counter() - start_time
    return result


def _gather(batch: torch.Tensor, images: torch.Tensor, labels: torch.Tensor,
            pooled: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of the clean set (indices < N) and of the pool (indices ≥ N) as one batch."""
    clean = batch[batch < len(labels)]
    if pooled is None:
        return images[clean], labels[clean]
    extra = batch[batch >= len(labels)] - len(labels)
    return torch.cat([images[clean], pooled[0][extra]]), torch.cat([labels[clean], pooled[1][extra]])


@dataclass
class TrainedModel:
    """A classifier loaded from a folder written by :func:`save_trained`."""

    model: nn.Module
    config: TrainConfig
    space: AttributeSpace
    record: dict[str, Any]


def save_trained(folder: str | Path, result: FitResult) -> Path:
    """Write ``model.safetensors`` and ``config.json`` (configs, space, data shape, summary)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    record = {"train": result.config.to_dict(), "space": result.space.to_dict(), **result.method_configs,
              "data_shape": result.data_shape, "summary": result.summary()}
    save_weights(folder / WEIGHTS_FILE, result.model, config={"train": result.config.to_dict()})
    atomic_write_text(folder / CONFIG_FILE, json.dumps(record, indent=2, default=float) + "\n")
    return folder


def load_trained(folder: str | Path, device: str = "cpu") -> TrainedModel:
    """The classifier of a ``methodzoo attr-adv train --out`` folder (weights read as safetensors)."""
    folder = Path(folder)
    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not config_path.is_file() or not weights_path.is_file():
        raise UserError(f"{folder} is not a trained attr-adv model: expected {CONFIG_FILE} and {WEIGHTS_FILE}")
    record = json.loads(config_path.read_text())
    config = TrainConfig.from_dict(record["train"])
    shape = record["data_shape"]
    model = build_classifier(shape["model"], shape["num_classes"], shape["channels"], shape["image_size"],
                             config.width)
    load_weights(weights_path, model)
    model.to(resolve_device(device)).eval()
    return TrainedModel(model, config, AttributeSpace.from_dict(record["space"]), record)


__all__ = ["FitResult", "TrainedModel", "fit", "grow_pool", "load_trained", "load_training_data", "resolve_space",
           "save_trained"]
