"""Settings of ``methodzoo bench compress`` per profile (quick: minutes on 2 CPU cores)."""

from __future__ import annotations

from dataclasses import dataclass

from methodzoo.shared.bench import Profiles
from methodzoo.shared.config import Config, check


@dataclass(frozen=True)
class BenchSettings(Config):
    """How much the compression benchmark trains, times and calibrates.

    ``threads``: torch threads for the LeNet part (training and timing). LeNet-5 is far too small
    to gain from more than one thread, and on a shared machine extra threads only wait.
    """

    seeds: int = 2
    train_steps: int = 400
    finetune_steps: int = 150
    batch_size: int = 64
    lr: float = 2e-3
    finetune_lr: float = 5e-4
    test_size: int = 1000
    timing_rounds: int = 50
    sharing_bits: int = 5
    kd_temperature: float = 4.0
    kd_weight: float = 0.9
    photos: int = 17
    calibration_crops: int = 8
    efficientnet_sparsities: tuple[float, ...] = (0.3,)
    sequential_one_shot: bool = False
    sparsegpt: bool = False
    threads: int = 1

    def validate(self) -> None:
        check(self.seeds >= 1, "seeds must be >= 1, got {}", self.seeds)
        check(self.train_steps >= 1 and self.finetune_steps >= 2, "need train_steps >= 1 and finetune_steps >= 2")
        check(1 <= self.photos <= 17, "photos must be in 1..17 (the offline photos), got {}", self.photos)
        check(self.threads >= 1, "threads must be >= 1, got {}", self.threads)
        check(all(0 < s < 1 for s in self.efficientnet_sparsities), "efficientnet_sparsities must be in (0, 1)")


PROFILES = Profiles(
    quick=BenchSettings(),
    full=BenchSettings(seeds=3, train_steps=2000, finetune_steps=600, timing_rounds=100, calibration_crops=64,
                       efficientnet_sparsities=(0.3, 0.5),
                       sequential_one_shot=True, sparsegpt=True),
)
