import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models on a shared CPU: one thread avoids the thread hand-offs that make them
    many times slower than serial code when the cores are busy."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
