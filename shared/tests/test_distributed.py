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
