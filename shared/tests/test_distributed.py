"""Two gloo processes under torchrun train a model data-parallel and end with identical weights."""

import subprocess
import sys
import textwrap

import torch
from safetensors.torch import load_file

SCRIPT = textwrap.dedent(
    """
    import sys
    import torch
    from torch import nn
    from safetensors.torch import save_file
    from methodzoo.shared.train import (Trainer, TrainerOptions, setup_distributed, shard,
                                        teardown_distributed, unwrap_model, wrap_model)

    context = setup_distributed("cpu")
    assert context.world_size == 2 and context.backend == "gloo"
    torch.manual_seed(context.rank)  # different initial weights: DDP must broadcast rank 0's
    model = wrap_model(nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)), context)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = torch.randn(32, 3, generator=torch.Generator().manual_seed(0))
    target = data.sum(1, keepdim=True)

    def loss_fn(step):
        index = shard(torch.arange(step * 8, step * 8 + 8) % 32, context)  # 4 rows per rank
        return nn.functional.mse_loss(model(data[index]), target[index])

    trainer = Trainer(model, optimizer, options=TrainerOptions(progress=False),
                      is_main_process=context.is_main)
    trainer.fit(loss_fn, 10)
    state = {k: v.contiguous() for k, v in unwrap_model(model).state_dict().items()}
    save_file(state, f"{sys.argv[1]}/rank{context.rank}.safetensors")
    teardown_distributed(context)
    """
)


def test_two_gloo_ranks_end_with_identical_weights(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    completed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(script), str(tmp_path)],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    rank0 = load_file(str(tmp_path / "rank0.safetensors"))
    rank1 = load_file(str(tmp_path / "rank1.safetensors"))
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    # and training moved the weights away from rank 0's initialisation
    torch.manual_seed(0)
    initial = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    assert not torch.equal(initial.state_dict()["0.weight"], rank0["0.weight"])


TRAINER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    from torch import nn
    from safetensors.torch import save_file
    from methodzoo.shared.train import EarlyStopping, Trainer, TrainerOptions, distributed_session

    out, accumulation = sys.argv[1], int(sys.argv[2])
    with distributed_session("cpu") as context:
        torch.manual_seed(context.rank)  # different initial weights: the Trainer must broadcast rank 0's
        model = nn.ModuleDict({"a": nn.Linear(3, 1), "b": nn.Linear(3, 1), "unused": nn.Linear(3, 1)})
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        data = torch.randn(32, 3, generator=torch.Generator().manual_seed(0))
        target = data.sum(1, keepdim=True)

        def loss_fn(step, micro):
            rows = micro.select(torch.arange(step * 8, step * 8 + 8) % 32)
            # branch b only for odd micro-batches: under torchrun rank 0 has no gradient for it
            branch = model["b"] if micro.index % 2 else model["a"]
            return nn.functional.mse_loss(branch(data[rows]), target[rows])

        def evaluate(trainer):
            return {"rank_seen": float(context.rank), "step": float(trainer.step)}

        trainer = Trainer(model, optimizer, distributed=context, checkpoint_dir=f"{out}/rank{context.rank}",
                          options=TrainerOptions(progress=False, accumulation=accumulation, checkpoint_every=5,
                                                 eval_every=5),
                          evaluate=evaluate, early_stopping=EarlyStopping("step", mode="max"))
        trainer.fit(loss_fn, 10)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  f"{out}/weights-rank{context.rank}.safetensors")
        with open(f"{out}/history-rank{context.rank}.json", "w") as handle:
            json.dump({"loss": trainer.history.loss, "evaluations": trainer.evaluations.values}, handle)
    """
)


def test_trainer_over_two_processes_equals_one_process_with_two_micro_batches(tmp_path, monkeypatch):
    """The Trainer's own gradient averaging (no DDP wrapper), with a branch only one rank uses."""
    import json
    import runpy

    from methodzoo.shared.testing.torchrun import run_torchrun

    script = tmp_path / "train.py"
    script.write_text(TRAINER_SCRIPT)
    (tmp_path / "two").mkdir()
    (tmp_path / "one").mkdir()
    completed = run_torchrun([str(script), str(tmp_path / "two"), "1"], processes=2, timeout=240)
    assert completed.returncode == 0, completed.stderr[-3000:]
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path / "one"), "2"])
    with torch.random.fork_rng():
        runpy.run_path(str(script), run_name="__main__")  # the same script in one process

    reference = load_file(str(tmp_path / "one" / "weights-rank0.safetensors"))
    for rank in (0, 1):
        weights = load_file(str(tmp_path / "two" / f"weights-rank{rank}.safetensors"))
        for key, value in reference.items():
            torch.testing.assert_close(weights[key], value, rtol=1e-5, atol=1e-6, msg=key)
    torch.manual_seed(0)  # rank 0's initialisation
    initial = {name: torch.nn.Linear(3, 1).weight for name in ("a", "b", "unused")}
    assert not torch.equal(initial["a"], reference["a.weight"])  # training moved both branches
    assert not torch.equal(initial["b"], reference["b.weight"])
    assert torch.equal(initial["unused"], reference["unused.weight"])  # no gradient anywhere, no step
    one = json.loads((tmp_path / "one" / "history-rank0.json").read_text())
    for rank in (0, 1):
        two = json.loads((tmp_path / "two" / f"history-rank{rank}.json").read_text())
        torch.testing.assert_close(two["loss"], one["loss"], rtol=1e-5, atol=1e-6)
        assert two["evaluations"]["rank_seen"] == [0.0, 0.0]  # every rank follows rank 0's evaluation
    assert (tmp_path / "two" / "rank0").is_dir() and not (tmp_path / "two" / "rank1").exists()


TEARDOWN_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from datetime import timedelta
    from pathlib import Path
    import torch.distributed as dist
    from methodzoo.shared.train import distributed_session

    out = Path(sys.argv[1])
    with distributed_session("cpu") as context:
        dist.set_timeout(timedelta(seconds=1))  # the wait to leave must not be bound by it
        if context.is_main:  # rank 0 still works (a last checkpoint) when rank 1 is done
            time.sleep(3.0)
            (out / "rank0-finished").write_text("")
    # every process leaves the session only once rank 0 has finished its work
    (out / f"rank{context.rank}-left").write_text(str((out / "rank0-finished").exists()))
    """
)


def test_leaving_the_session_waits_for_every_process(tmp_path):
    from methodzoo.shared.testing.torchrun import run_torchrun

    script = tmp_path / "leave.py"
    script.write_text(TEARDOWN_SCRIPT)
    completed = run_torchrun([str(script), str(tmp_path)], processes=2, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert (tmp_path / "rank1-left").read_text() == "True"  # rank 1 waited for rank 0
    assert (tmp_path / "rank0-left").read_text() == "True"
