"""Under torchrun only plain cross-entropy trains; MW-Net and FaMUS refuse with a reason."""

from __future__ import annotations

import pytest
import torch

from methodzoo.famus import TrainConfig, fit
from methodzoo.famus.train import check_data_parallel
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.train import DistributedContext

TWO_PROCESSES = DistributedContext(rank=0, world_size=2, local_rank=0, device=torch.device("cpu"), backend="gloo")


@pytest.mark.parametrize("method", ["mwnet", "famus"])
def test_meta_methods_refuse_several_processes_before_any_work(method: str) -> None:
    with pytest.raises(ConfigError, match="virtual SGD step on the whole batch"):
        fit(TrainConfig(method=method, device="cpu"), distributed=TWO_PROCESSES)
    with pytest.raises(ConfigError, match="only --method ce"):
        check_data_parallel(method)
