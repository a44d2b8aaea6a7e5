"""The LeNet-5 part of ``methodzoo bench compress``: one representative of each of the survey's
families against the same dense LeNet-5 on real MNIST digits, plus our masks and int8 path next
to ``torch.nn.utils.prune``, torch's dynamic quantization and Torch-Pruning.

Every arm starts from the dense model of its seed (or, for the families trained from scratch,
from the same initialisation seed) and is fine-tuned with the same optimiser for the same steps.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.shared.compress.accounting import CompressionReport, report
from methodzoo.shared.compress.bench_settings import BenchSettings
from methodzoo.shared.compress.binary import Binarize
from methodzoo.shared.compress.compact import compact
from methodzoo.shared.compress.distill import distillation_loss
from methodzoo.shared.compress.fakequant import FakeQuant, calibrate
from methodzoo.shared.compress.int8 import Int8Dynamic, int_mm_available, torch_ao_available
from methodzoo.shared.compress.lenet import LeNet5
from methodzoo.shared.compress.lowrank import LowRank, factorize_
from methodzoo.shared.compress.masks import masked_tensors
from methodzoo.shared.compress.prune import MagnitudePruning, prune_
from methodzoo.shared.compress.quantize import quantize_
from methodzoo.shared.compress.schedules import PruningSchedule, ScheduledPruning
from methodzoo.shared.compress.sharing import WeightSharing
from methodzoo.shared.compress.structured import StructuredPruning
from methodzoo.shared.data.offline import mnist_digits
from methodzoo.shared.modules import count_parameters, eval_mode
from methodzoo.shared.seed import make_generator, seeded
from methodzoo.shared.timing import interleaved_timing
from methodzoo.shared.train import EpochBatches, Trainer, TrainerOptions

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


@dataclass(frozen=True)
class Digits:
    """Normalised ``(N, 1, 28, 28)`` digits split into train and test."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def load_digits(test_size: int, seed: int) -> Digits:
    """The 5,000 real MNIST digits, shuffled with ``seed`` and split (the last ``test_size`` for test)."""
    data = mnist_digits()
    order = torch.randperm(len(data), generator=make_generator(seed))
    images = (data.as_float()[order] - MNIST_MEAN) / MNIST_STD
    labels = data.labels[order]
    return Digits(images[:-test_size], labels[:-test_size], images[-test_size:], labels[-test_size:])


@torch.no_grad()
def accuracy(model: nn.Module, data: Digits) -> float:
    with eval_mode(model):
        return float((model(data.test_x).argmax(1) == data.test_y).float().mean())


def train(model: nn.Module, data: Digits, steps: int, lr: float, batch_size: int, seed: int,
          loss: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
          callback: Callable[[Trainer, dict[str, float]], None] | None = None) -> nn.Module:
    """Adam on cross-entropy (or ``loss``) with the core Trainer; batches depend only on (seed, step)."""
    batches = EpochBatches(len(data.train_y), batch_size, seed=seed)
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=lr), options=TrainerOptions(progress=False))

    def step_loss(step: int) -> torch.Tensor:
        index = batches.batch(step)
        x, y = data.train_x[index], data.train_y[index]
        return loss(model, x, y) if loss is not None else F.cross_entropy(model(x), y)

    trainer.fit(step_loss, steps, callback=callback)
    return model


@dataclass
class Arm:
    """One compressed model: its family, accuracy per seed, the seed-0 model and its report."""

    name: str
    family: str
    accuracy: list[float] = field(default_factory=list)
    model: nn.Module | None = None
    report: CompressionReport | None = None
    note: str = ""


class LeNetExperiment:
    """All arms for one seed; ``arms`` accumulates over seeds."""

    def __init__(self, settings: BenchSettings, data: Digits) -> None:
        self.settings = settings
        self.data = data
        self.arms: dict[str, Arm] = {}
        self.dense_accuracy: list[float] = []
        self.dense: nn.Module | None = None
        self.peers: dict[str, Any] = {}

    # ----- helpers --------------------------------------------------------------------------------
    def _fit(self, model: nn.Module, steps: int, lr: float, seed: int, **kwargs: Any) -> nn.Module:
        s = self.settings
        return train(model, self.data, steps, lr, s.batch_size, seed, **kwargs)

    def _finetune(self, model: nn.Module, seed: int, steps: int | None = None, **kwargs: Any) -> nn.Module:
        s = self.settings
        return self._fit(model, steps if steps is not None else s.finetune_steps, s.finetune_lr,
                         seed + 1, **kwargs)

    def _record(self, name: str, family: str, model: nn.Module, seed: int, note: str = "") -> nn.Module:
        arm = self.arms.setdefault(name, Arm(name, family, note=note))
        arm.accuracy.append(accuracy(model, self.data))
        if arm.model is None:
            arm.model = model
        return model

    # ----- the seed -----------------------------------------------------------------------------------
    def run_seed(self, seed: int) -> None:
        s = self.settings
        with seeded(seed):
            dense = LeNet5()
        self._fit(dense, s.train_steps, s.lr, seed)
        self.dense_accuracy.append(accuracy(dense, self.data))
        if self.dense is None:
            self.dense = dense
        self._record("dense + fine-tuning (control)", "control", self._finetune(copy.deepcopy(dense), seed), seed,
                     note="what the fine-tuning steps alone give the dense model")
        self._pruning(dense, seed)
        self._quantization(dense, seed)
        self._low_rank(dense, seed)
        self._from_scratch(dense, seed)

    def _pruning(self, dense: nn.Module, seed: int) -> None:
        s = self.settings
        for sparsity in (0.5, 0.8, 0.9, 0.95):
            model = prune_(copy.deepcopy(dense), MagnitudePruning(sparsity=sparsity, scope="global"))
            self._record(f"magnitude {sparsity:.0%} one-shot", "pruning", self._finetune(model, seed), seed)
        model = copy.deepcopy(dense)
        steps = s.finetune_steps
        schedule = PruningSchedule(kind="cubic", final_sparsity=0.9, start_step=0, end_step=2 * steps // 3,
                                   frequency=max(1, steps // 15))
        pruning = ScheduledPruning(model, MagnitudePruning(scope="global"), schedule)
        pruning.step(0)
        iterative = self._record("magnitude 90% cubic", "pruning", self._finetune(model, seed, callback=pruning), seed)
        deep = quantize_(copy.deepcopy(iterative), WeightSharing(bits=s.sharing_bits))
        self._record("Deep Compression", "pruning + sharing", self._finetune(deep, seed, steps // 2), seed,
                     note=f"magnitude 90% cubic, then {s.sharing_bits}-bit k-means (fine-tuned centroids) and Huffman")
        filters = prune_(copy.deepcopy(dense), StructuredPruning(amount=0.5, unit="filter"))
        self._finetune(filters, seed)
        self._record("L1 filters 50% + compact", "pruning (structured)", compact(filters), seed)

    def _quantization(self, dense: nn.Module, seed: int) -> None:
        data = self.data
        for bits in (2, 3, 4, 5):
            shared = quantize_(copy.deepcopy(dense), WeightSharing(bits=bits))
            self._record(f"k-means {bits}-bit", "sharing", self._finetune(shared, seed, self.settings.finetune_steps // 2),
                         seed)
        ptq = quantize_(copy.deepcopy(dense), FakeQuant(bits=8, activation_bits=8))
        calibrate(ptq, [data.train_x[i:i + 256] for i in range(0, 1024, 256)])
        self._record("fake-quant 8-bit PTQ", "quantization", ptq, seed, note="weights and activations, min/max calibration")
        qat = quantize_(copy.deepcopy(dense), FakeQuant(bits=4, activation_bits=8))
        self._record("fake-quant 4-bit QAT", "quantization", self._finetune(qat, seed), seed,
                     note="4-bit weights, 8-bit activations, straight-through fine-tuning")
        binary = quantize_(copy.deepcopy(dense), Binarize(include=("fc*",)))
        self._record("XNOR binary FC", "binarization", self._finetune(binary, seed), seed,
                     note="FC layers binary with per-row scales; convolutions fp32")
        if int_mm_available():
            self._record("int8 (ours, torch._int_mm)", "quantization (real)",
                         quantize_(copy.deepcopy(dense), Int8Dynamic(engine="int_mm")), seed,
                         note="FC layers int8; convolutions fp32")
        if torch_ao_available():
            self._record("int8 (torch.ao dynamic)", "quantization (real, peer)",
                         quantize_(copy.deepcopy(dense), Int8Dynamic(engine="torch.ao")), seed,
                         note="peer: torch.ao.quantization.quantize_dynamic")

    def _low_rank(self, dense: nn.Module, seed: int) -> None:
        for energy in (0.9, 0.95, 0.99):
            model = factorize_(copy.deepcopy(dense), LowRank(energy=energy, include=("fc*",)))
            self._record(f"SVD FC energy {energy}", "low rank", self._finetune(model, seed), seed)
        model = factorize_(copy.deepcopy(dense), LowRank(energy=0.9, include=("conv2",)))
        self._record("Tucker-2 conv2 energy 0.9", "low rank", self._finetune(model, seed), seed)

    def _from_scratch(self, dense: nn.Module, seed: int) -> None:
        s = self.settings
        with seeded(seed):
            separable = LeNet5(separable=True)
        self._record("depthwise-separable LeNet", "compact filters",
                     self._fit(separable, s.train_steps, s.lr, seed), seed)
        with seeded(seed):
            hashed = LeNet5(hashed=0.125)
        self._record("HashedNets FC (1/8)", "sharing (hashing)", self._fit(hashed, s.train_steps, s.lr, seed), seed,
                     note="FC layers hashed to 1/8 of their weights, trained from scratch")
        with seeded(seed):
            student = LeNet5(width=0.5)
        scratch = copy.deepcopy(student)
        teacher = dense.eval()

        def kd(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                teacher_logits = teacher(x)
            return distillation_loss(model(x), teacher_logits, y, s.kd_temperature, s.kd_weight)

        self._record("KD student (half width)", "distillation", self._fit(student, s.train_steps, s.lr, seed, loss=kd), seed,
                     note="Hinton KD from the dense LeNet-5")
        self._record("scratch student (half width)", "distillation (baseline)",
                     self._fit(scratch, s.train_steps, s.lr, seed), seed)

    # ----- accounting and peers (seed 0's models) ----------------------------------------------------
    def account(self, rounds: int) -> None:
        assert self.dense is not None
        x = self.data.test_x[:64]
        for arm in self.arms.values():
            assert arm.model is not None
            huffman = arm.name == "Deep Compression"
            arm.report = report(self.dense, arm.model, x, rounds=rounds, warmup=max(3, rounds // 10),
                                huffman=huffman)

    def peers_pruning(self, rounds: int) -> dict[str, Any]:
        """Our global magnitude masks vs ``torch.nn.utils.prune.global_unstructured`` at 90 %, no fine-tuning."""
        from torch.nn.utils import prune as torch_prune

        assert self.dense is not None
        ours = prune_(copy.deepcopy(self.dense), MagnitudePruning(sparsity=0.9, scope="global"))
        peer = copy.deepcopy(self.dense)
        layers = [(m, "weight") for m in peer.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        torch_prune.global_unstructured(layers, pruning_method=torch_prune.L1Unstructured, amount=0.9)
        ours_masks = masked_tensors(ours)
        peer_masks = {f"{name}.weight": m.weight_mask.bool() for name, m in peer.named_modules()
                      if hasattr(m, "weight_mask")}
        differing = sum(int((ours_masks[k] != peer_masks[k]).sum()) for k in peer_masks)
        x = self.data.test_x[:64]
        with torch.no_grad(), eval_mode(ours, peer):
            timing = interleaved_timing({"ours": lambda: ours(x), "peer": lambda: peer(x)}, rounds=rounds,
                                        warmup=max(3, rounds // 10))
        return {"differing_mask_entries": differing, "acc_ours": accuracy(ours, self.data),
                "acc_peer": accuracy(peer, self.data), "time_ratio": timing.ratio("ours", "peer"),
                "ms_ours": timing.median_ms("ours"), "ms_peer": timing.median_ms("peer")}

    def peers_int8(self, rounds: int) -> dict[str, Any]:
        """Our int8 layers vs torch.ao's dynamic quantization (and torchao's where it runs), batch 64."""
        arms = {"ours": self.arms.get("int8 (ours, torch._int_mm)"), "torch.ao": self.arms.get("int8 (torch.ao dynamic)")}
        models = {k: a.model for k, a in arms.items() if a is not None and a.model is not None}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from torchao.quantization import Int8DynamicActivationInt8WeightConfig
                from torchao.quantization import quantize_ as torchao_quantize

                assert self.dense is not None
                torchao_model = copy.deepcopy(self.dense)
                torchao_quantize(torchao_model, Int8DynamicActivationInt8WeightConfig())
                models["torchao"] = torchao_model
        except Exception as error:  # torchao is optional and its CPU support varies by version
            self.peers["torchao_error"] = f"{type(error).__name__}: {error}"
        x = self.data.test_x[:64]
        assert self.dense is not None
        calls = {"dense": self.dense, **models}
        with torch.no_grad(), eval_mode(*calls.values()):
            timing = interleaved_timing({k: partial(m, x) for k, m in calls.items()}, rounds=rounds,
                                        warmup=max(3, rounds // 10))
        return {name: {"acc": accuracy(m, self.data), "ms": timing.median_ms(name),
                       "delta": timing.ratio("dense", name)} for name, m in calls.items()}

    def peers_structured(self, rounds: int) -> dict[str, Any]:
        """Our compact() after 50 % L1 filter pruning vs Torch-Pruning's MetaPruner (no fine-tuning)."""
        assert self.dense is not None
        ours = compact(prune_(copy.deepcopy(self.dense), StructuredPruning(amount=0.5, unit="filter")))
        result: dict[str, Any] = {"params_ours": count_parameters(ours)}
        try:
            import torch_pruning as tp
        except ImportError:
            result["torch_pruning"] = "not installed (extra 'compress')"
            return result
        peer = copy.deepcopy(self.dense)
        pruner = tp.pruner.MetaPruner(peer, torch.randn(1, 1, 28, 28), importance=tp.importance.MagnitudeImportance(p=1),
                                      pruning_ratio=0.5, ignored_layers=[peer.fc1, peer.fc2, peer.fc3])
        pruner.step()
        x = self.data.test_x[:64]
        with torch.no_grad(), eval_mode(ours, peer):
            timing = interleaved_timing({"ours": lambda: ours(x), "peer": lambda: peer(x)}, rounds=rounds,
                                        warmup=max(3, rounds // 10))
        result.update({"params_peer": count_parameters(peer), "acc_ours": accuracy(ours, self.data),
                       "acc_peer": accuracy(peer, self.data), "time_ratio": timing.ratio("ours", "peer")})
        return result
