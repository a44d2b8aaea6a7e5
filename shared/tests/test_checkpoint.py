import json

import pytest
import torch

from methodzoo.shared.io import atomic_write, atomic_write_text
from methodzoo.shared.train import (
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    load_weights,
    save_checkpoint,
    save_weights,
)


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "file.txt"
    atomic_write_text(target, "old")

    def failing_write(temp):
        temp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, failing_write)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]  # no temporary left behind


def test_checkpoint_round_trip_with_optimizer_state(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "tuple": (1, 2.5, "x"), "nested": {3: torch.arange(4)}}
    path = save_checkpoint(tmp_path, 12, state, config={"lr": 0.1})
    assert latest_checkpoint(tmp_path) == path
    loaded = load_checkpoint(tmp_path)
    assert loaded.step == 12 and loaded.config == {"lr": 0.1}
    assert loaded.state["tuple"] == (1, 2.5, "x")
    assert torch.equal(loaded.state["nested"][3], torch.arange(4))
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state["model"][key], value)
    fresh = torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=0.5)
    fresh.load_state_dict(loaded.state["optimizer"])
    assert fresh.param_groups[0]["lr"] == 0.1
    original = optimizer.state_dict()["state"][0]["exp_avg"]
    assert torch.equal(fresh.state_dict()["state"][0]["exp_avg"], original)


def test_old_checkpoints_are_pruned(tmp_path):
    for step in range(5):
        save_checkpoint(tmp_path, step, {"x": torch.zeros(1)}, keep=2)
    assert sorted(p.name for p in tmp_path.glob("step-*.json")) == ["step-00000003.json", "step-00000004.json"]


def test_foreign_or_damaged_checkpoints_give_clear_errors(tmp_path):
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"hello": 1}))
    with pytest.raises(CheckpointError, match="not a methodzoo checkpoint"):
        load_checkpoint(foreign)
    path = save_checkpoint(tmp_path / "run", 1, {"x": torch.ones(3)})
    path.with_suffix(".safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(empty)


def test_weights_round_trip_and_mismatch(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    meta = save_weights(tmp_path / "w.safetensors", model, config={"width": 3})
    assert meta.exists()
    clone = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    info = load_weights(tmp_path / "w.safetensors", clone)
    assert json.loads(info["config"]) == {"width": 3}
    for a, b in zip(model.parameters(), clone.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_weights(tmp_path / "w.safetensors", torch.nn.Linear(5, 5))
