"""`methodzoo train-large-compress sweep` under torchrun: two CPU processes reproduce one process
that computes the same two micro-batches one after the other."""

import json

import pytest

from methodzoo.shared.cli import main
from methodzoo.shared.testing.torchrun import run_torchrun
from methodzoo.train_large_compress.runner import SweepResult

TINY = ["--widths", "8", "--depths", "1", "--budget", "3e7", "--marks", "1", "--length", "12", "--vocab-size", "40",
        "--dropout", "0.1", "--batch-size", "8", "--warmup-steps", "2", "--eval-every", "5", "--eval-batches", "1",
        "--states", "4", "--device", "cpu", "--json"]


@pytest.mark.slow
def test_two_processes_equal_one_process_with_two_micro_batches(tmp_path, capsys) -> None:
    two = tmp_path / "two"
    completed = run_torchrun(["-m", "methodzoo.shared.testing.torchrun", str(tmp_path), "train-large-compress",
                              "sweep", "--out", str(two), *TINY], processes=2, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert len(json.loads(completed.stdout)["runs"]) == 1  # one JSON document: only rank 0 reports
    one = tmp_path / "one"
    assert main(["train-large-compress", "sweep", "--out", str(one), "--accumulation", "2", "--workers", "1",
                 *TINY]) == 0
    capsys.readouterr()
    reference, distributed = SweepResult.load(one).runs[0], SweepResult.load(two).runs[0]
    assert distributed.steps == reference.steps
    for a, b in zip(reference.evaluations, distributed.evaluations, strict=True):
        assert a.step == b.step and a.val_loss == pytest.approx(b.val_loss, abs=1e-5)
