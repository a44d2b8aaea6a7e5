"""process_map: results in order, exceptions surface, worker threads limited."""

from __future__ import annotations

import pytest

from methodzoo.shared.errors import ConfigError
from methodzoo.shared.parallel import cpu_count, process_map
from methodzoo.shared.testing.jobs import fail_on_three, square_and_thread_count


def test_results_come_back_in_item_order_with_one_thread_per_worker() -> None:
    finished: list[int] = []
    results = process_map(square_and_thread_count, [5, 1, 4, 2], workers=2, threads_per_worker=1,
                          on_done=finished.append)
    assert [r[0] for r in results] == [25, 1, 16, 4]
    assert all(r[1] == 1 for r in results)
    assert sorted(finished) == [0, 1, 2, 3]


def test_a_failing_job_raises_its_error() -> None:
    with pytest.raises(ValueError, match="three"):
        process_map(fail_on_three, [1, 2, 3, 4], workers=2)


def test_one_worker_runs_in_process_and_bad_counts_are_refused() -> None:
    assert process_map(fail_on_three, [1, 2], workers=1) == [1, 2]
    assert cpu_count() >= 1
    with pytest.raises(ConfigError, match="workers"):
        process_map(fail_on_three, [1], workers=0)


def test_torch_threads_restores_the_count_even_after_an_error():
    import torch

    from methodzoo.shared.parallel import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    try:
        with torch_threads(1):
            raise RuntimeError("inside")
    except RuntimeError:
        pass
    assert torch.get_num_threads() == before
