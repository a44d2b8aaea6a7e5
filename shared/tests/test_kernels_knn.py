"""The blocked k-NN search: reference against brute force, Triton kernel against the reference."""

from __future__ import annotations

import pytest
import torch

from methodzoo.shared.errors import UserError
from methodzoo.shared.kernels import triton_importable
from methodzoo.shared.kernels.knn import knn, knn_reference
from methodzoo.shared.testing import run_in_triton_interpreter


def brute_force(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Full float64 distance matrix, self excluded, ordered by (distance, index) with a lexsort."""
    n = x.shape[0]
    dist = torch.cdist(x.double(), x.double())
    dist.fill_diagonal_(float("inf"))
    indices = torch.empty((n, k), dtype=torch.int64)
    for i in range(n):
        order = sorted(range(n), key=lambda j: (dist[i, j].item(), j))[:k]
        indices[i] = torch.tensor(order)
    return torch.gather(dist, 1, indices), indices


@pytest.mark.parametrize("block_rows", [7, 64, 1024])
def test_reference_matches_brute_force(block_rows: int) -> None:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(90, 6, generator=generator, dtype=torch.float64)
    expected_dist, expected_idx = brute_force(x, 8)
    result = knn_reference(x, 8, block_rows=block_rows)
    assert torch.equal(result.indices, expected_idx)
    torch.testing.assert_close(result.distances, expected_dist, rtol=1e-10, atol=1e-10)


def test_ties_lower_index_wins() -> None:
    # Points on a small integer grid: squared distances are exact, so many distances are equal.
    generator = torch.Generator().manual_seed(2)
    x = torch.randint(0, 3, (60, 2), generator=generator).to(torch.float32)
    _, expected_idx = brute_force(x, 9)
    result = knn_reference(x, 9, block_rows=11)
    assert torch.equal(result.indices, expected_idx)
    # Explicit case: point 0 at the origin, points 1..4 all at distance 1, point 5 at distance 2.
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [2.0, 0.0]])
    assert knn_reference(x, 2).indices[0].tolist() == [1, 2]
    assert knn_reference(x, 4).indices[0].tolist() == [1, 2, 3, 4]


def test_duplicates_never_self() -> None:
    x = torch.zeros(5, 3, dtype=torch.float64)
    result = knn_reference(x, 4)
    for i in range(5):
        assert i not in result.indices[i].tolist()
        assert result.indices[i].tolist() == [j for j in range(5) if j != i]
    assert torch.all(result.distances == 0)


def test_dispatcher_on_cpu_uses_reference_and_rejects_bad_k() -> None:
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(30, 4, generator=generator, dtype=torch.float64)
    assert torch.equal(knn(x, 5).indices, knn_reference(x, 5).indices)
    with pytest.raises(UserError, match="k must be in"):
        knn(x, 30)
    with pytest.raises(UserError, match="2-D"):
        knn(x[0], 2)


def test_triton_kernel_matches_reference_in_interpreter() -> None:
    if not triton_importable():
        pytest.skip("Triton is not installed (it ships with Linux x86-64 CUDA builds of torch)")
    output = run_in_triton_interpreter(
        """
        import torch
        from methodzoo.shared.kernels import use_triton
        from methodzoo.shared.kernels.knn import knn, knn_reference, knn_triton

        assert use_triton("cpu")
        g = torch.Generator().manual_seed(0)
        # Random data: several row and column tiles, d not a multiple of the feature block.
        x = torch.randn(75, 37, generator=g)
        ref = knn_reference(x, 6, block_rows=16)
        tri = knn_triton(x, 6, block_m=16, block_n=32, block_d=16)
        assert torch.equal(ref.indices, tri.indices), (ref.indices, tri.indices)
        torch.testing.assert_close(ref.distances, tri.distances, rtol=1e-4, atol=1e-4)
        # Integer data: exact distances with many ties, so the tie rule must agree exactly.
        xi = torch.randint(0, 3, (50, 3), generator=g).float()
        ref = knn_reference(xi, 7)
        tri = knn(xi, 7)
        assert torch.equal(ref.indices, tri.indices)
        assert torch.equal(ref.distances, tri.distances)
        print("ok")
        """,
        timeout=300,
    )
    assert "ok" in output
