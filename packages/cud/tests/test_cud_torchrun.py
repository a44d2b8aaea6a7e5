"""`methodzoo cud train` under torchrun: two CPU processes reproduce one process with the same micro-batches."""

from __future__ import annotations

import json

import torch

from methodzoo.shared.cli import main
from methodzoo.shared.testing.torchrun import run_torchrun
from methodzoo.shared.train import load_checkpoint

# The tiny 2-D configuration; dropout stays on (0.13) so the per-micro-batch seeding is exercised.
TINY = ["--data", "8gaussians", "--steps", "12", "--width", "32", "--depth", "2", "--batch-size", "64",
        "--ema-decay", "0.9", "--lr", "2e-3", "--checkpoint-every", "6", "--device", "cpu", "--json"]


def test_two_processes_equal_one_process_with_the_same_global_batch(tmp_path, capsys):
    two = tmp_path / "two-processes"
    completed = run_torchrun(["-m", "methodzoo.shared.testing.torchrun", str(tmp_path), "cud", "train",
                              "--out", str(two), *TINY], processes=2, timeout=240)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads(completed.stdout)["step"] == 12  # one JSON document: only rank 0 reports
    assert (tmp_path / "checkpoint-writes-rank0.txt").read_text().split() == ["6", "12"]
    assert (tmp_path / "checkpoint-writes-rank1.txt").read_text() == ""  # rank 1 never wrote

    one = tmp_path / "one-process"
    # One process computing the same two micro-batches of 32 one after the other.
    assert main(["cud", "train", "--out", str(one), "--accumulate", "2", *TINY]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 12

    reference, distributed = load_checkpoint(one), load_checkpoint(two)
    assert distributed.config == reference.config and reference.config["micro_batches"] == 2
    torch.testing.assert_close(distributed.state["history"]["values"]["loss"],
                               reference.state["history"]["values"]["loss"], rtol=1e-5, atol=1e-6)
    for part in ("model", "ema"):
        weights = reference.state[part] if part == "model" else reference.state[part]["model"]
        other = distributed.state[part] if part == "model" else distributed.state[part]["model"]
        assert weights.keys() == other.keys()
        for name, value in weights.items():
            torch.testing.assert_close(other[name], value, rtol=1e-5, atol=1e-6, msg=f"{part} {name}")
    # training moved the weights, so the runs agree on more than their initialisation
    halfway = load_checkpoint(two / "step-00000006.json").state["model"]
    assert not torch.equal(halfway["encoder.out.weight"], distributed.state["model"]["encoder.out.weight"])
