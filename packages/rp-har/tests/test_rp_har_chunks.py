"""Chunked work shared out to threads: every row once, in order within a part, errors raised."""

from __future__ import annotations

import threading

import pytest
import torch

from methodzoo.rp_har.chunks import GRAIN_SIZE, rows_per_chunk, run_in_chunks


@pytest.mark.parametrize("threads, total, rows", [(1, 10, 3), (3, 10, 3), (4, 2, 5), (2, 7, 0)])
def test_every_row_is_worked_once(threads, total, rows, monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(start: int, stop: int) -> None:
        assert stop - start <= (rows or total)
        with lock:
            seen.append((start, stop))

    run_in_chunks(total, rows, work)
    covered = sorted(i for start, stop in seen for i in range(start, stop))
    assert covered == list(range(total))


def test_errors_in_a_thread_reach_the_caller(monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)

    def work(start: int, stop: int) -> None:
        if start >= 4:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_in_chunks(8, 2, work)


def test_chunks_stay_below_the_grain_on_the_cpu_and_whole_elsewhere():
    assert rows_per_chunk(127 * 127, torch.device("cpu")) * 127 * 127 < GRAIN_SIZE
    assert rows_per_chunk(300 * 300, torch.device("cpu")) == 1
    assert rows_per_chunk(100, torch.device("cuda")) == 0
