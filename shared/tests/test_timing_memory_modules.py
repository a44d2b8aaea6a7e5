import json
import time

import numpy as np
import pytest
import torch
from torch import nn

from methodzoo.shared.errors import ConfigError
from methodzoo.shared.io import to_jsonable, write_json
from methodzoo.shared.memory import PeakTensorMemory, peak_memory
from methodzoo.shared.modules import count_parameters, eval_mode
from methodzoo.shared.plotting import image_grid, save_image_grid
from methodzoo.shared.seed import seeded
from methodzoo.shared.timing import interleaved_timing, time_call, timed_call


class FakeClock:
    """Stands in for the ``time`` module inside methodzoo.shared.timing: the timed calls advance it
    by set amounts, so the timings are exact whatever the load of the machine."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    def call(self, seconds: list[float]):
        """A function that advances the clock by the next of ``seconds`` at each call."""
        remaining = iter(seconds)

        def fn() -> None:
            self.now += next(remaining)

        return fn


@pytest.fixture
def clock(monkeypatch):
    from methodzoo.shared import timing

    fake = FakeClock()
    monkeypatch.setattr(timing, "time", fake)
    return fake


def test_time_call_warms_up_then_takes_the_median(clock):
    timing = time_call(clock.call([5.0, 2.0, 3.0, 1.0]), repeats=3, warmup=1)  # a slow first call
    assert timing.times_s == (2.0, 3.0, 1.0)
    assert timing.median_s == 2.0  # the slow first call was the untimed warm-up


def test_timed_call_returns_the_result_and_the_time_of_one_call():
    value, seconds = timed_call(lambda: time.sleep(0.01) or 7)
    assert value == 7 and 0.01 <= seconds < 1.0


def test_interleaved_ratio_is_the_median_of_per_round_ratios(clock):
    # A slow spell over rounds 4 and 5 hits both calls; one alone in round 3 hits "fast" only.
    order: list[str] = []
    slow, fast = clock.call([3, 3, 3, 30, 30]), clock.call([1, 1, 9, 10, 10])
    timing = interleaved_timing({"slow": lambda: order.append("slow") or slow(),
                                 "fast": lambda: order.append("fast") or fast()}, rounds=5, warmup=0)
    assert timing.times_s == {"slow": (3, 3, 3, 30, 30), "fast": (1, 1, 9, 10, 10)}
    assert order[:4] == ["slow", "fast", "fast", "slow"]  # the first call rotates round by round
    assert timing.ratio("slow", "fast") == 3.0  # per-round ratios 3, 3, 1/3, 3, 3
    assert timing.median_s("slow") / timing.median_s("fast") == pytest.approx(1 / 3)  # what it avoids
    with pytest.raises(KeyError, match="timed: slow, fast"):
        timing.median_s("other")
    with pytest.raises(ConfigError):
        interleaved_timing({}, rounds=3)


def test_peak_tensor_memory_counts_what_the_block_allocates():
    with PeakTensorMemory() as tracker:
        a = torch.empty(1000, dtype=torch.float32)  # 4,000 bytes
        b = torch.empty(500, dtype=torch.float64)  # 4,000 bytes, both alive
        del a, b
        c = torch.empty(100, dtype=torch.float32)  # after both were freed
        del c
    assert tracker.peak == 8000


def test_peak_memory_on_cpu_reports_tensor_and_rss_peaks():
    with peak_memory("cpu") as peak:
        x = torch.ones(256, 1024)  # 1 MiB
        del x
    assert peak.tensor_bytes == 256 * 1024 * 4
    assert peak.process_peak_rss_bytes > 0


def test_count_parameters_counts_tied_weights_once_and_trainable_only():
    embedding = nn.Embedding(10, 4)
    head = nn.Linear(4, 10, bias=False)
    head.weight = embedding.weight  # tied, as in language models
    model = nn.ModuleDict({"embedding": embedding, "head": head, "frozen": nn.Linear(4, 4)})
    model["frozen"].requires_grad_(False)
    assert count_parameters(model) == 40 + 20
    assert count_parameters(model, trainable_only=True) == 40


def test_eval_mode_leaves_a_model_already_in_eval_mode_alone():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout()).eval()
    with eval_mode(model):
        assert not any(m.training for m in model.modules())
    assert not any(m.training for m in model.modules())


def test_eval_mode_restores_each_submodules_flag():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Dropout())
    model[1].eval()  # frozen BatchNorm inside a training model
    with eval_mode(model):
        assert not any(m.training for m in model.modules())
    assert model.training and model[0].training and not model[1].training and model[2].training


def test_seeded_gives_the_same_weights_and_leaves_the_callers_stream_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    with seeded(7):
        first = nn.Linear(3, 3).weight.detach().clone()
    with seeded(7):
        second = nn.Linear(3, 3).weight.detach().clone()
    assert torch.equal(first, second)
    assert torch.equal(torch.rand(3), expected_next)
    with seeded(7, devices=[torch.device("cpu")]):  # a CPU device is skipped, not an error
        third = nn.Linear(3, 3).weight.detach().clone()
    assert torch.equal(first, third)


def test_image_grid_places_images_row_major(tmp_path):
    images = torch.stack([torch.full((1, 2, 2), v, dtype=torch.uint8) for v in (10, 20, 30)])
    grid = image_grid(images, columns=2, padding=1)
    assert grid.shape == (2 * 3 + 1, 2 * 3 + 1, 1)
    assert grid[1, 1, 0] == 10 and grid[1, 4, 0] == 20 and grid[4, 1, 0] == 30 and grid[4, 4, 0] == 0
    path = save_image_grid(images, tmp_path / "grid.png", scale=2)
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="uint8"):
        image_grid(images.float())


def test_to_jsonable_writes_non_finite_numbers_as_null(tmp_path):
    data = {"nan": float("nan"), "inf": np.float64("inf"), "tensor": torch.tensor([1.0, -float("inf")]),
            "array": np.array([np.nan, 2.0]), "scalar": torch.tensor(float("nan"))}
    assert to_jsonable(data) == {"nan": None, "inf": None, "tensor": [1.0, None], "array": [None, 2.0],
                                 "scalar": None}
    path = write_json(tmp_path / "out.json", data)
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
    assert json.loads(path.read_text())["tensor"] == [1.0, None]


def test_cpu_seconds_counts_this_process_and_finished_children() -> None:
    import subprocess
    import sys

    from methodzoo.shared.timing import cpu_seconds

    start = cpu_seconds()
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:  # busy in this process
        pass
    after_own = cpu_seconds()
    assert after_own - start >= 0.15
    subprocess.run([sys.executable, "-c", "import time\nt = time.process_time() + 0.3\nwhile time.process_time() < t: pass"],
                   check=True)
    assert cpu_seconds() - after_own >= 0.25  # the waited-for child's CPU time is included
