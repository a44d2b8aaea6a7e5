"""FLOP counting: a Transformer layer against its closed form in train and eval mode (where
torch's fused fast path would count 0), convolutions against H·W·C_out·C_in·k²/groups MACs."""

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from methodzoo.shared import compress as C


def transformer_layer_macs(batch: int, tokens: int, d: int, ff: int) -> int:
    """Projections q, k, v, o (4·T·d²), scores QKᵀ and values AV (2·T²·d), FFN (2·T·d·ff)."""
    return batch * (4 * tokens * d * d + 2 * tokens * tokens * d + 2 * tokens * d * ff)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("batch_first", [True, False])
def test_transformer_layer_matches_the_closed_form(train: bool, batch_first: bool) -> None:
    d, heads, ff, tokens, batch = 64, 4, 256, 24, 3
    layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, batch_first=batch_first).train(train)
    x = torch.randn(batch, tokens, d) if batch_first else torch.randn(tokens, batch, d)
    count = C.count_flops(layer, x)
    expected = transformer_layer_macs(batch, tokens, d, ff)
    assert count.macs == pytest.approx(expected, rel=0.01)
    assert count.flops == 2 * count.macs


def test_torch_alone_misses_the_fused_eval_path() -> None:
    layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True).eval()
    x = torch.randn(2, 8, 32)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        layer(x)
    assert counter.get_total_flops() == 0  # the gap count_flops closes
    assert C.count_flops(layer, x).macs == transformer_layer_macs(2, 8, 32, 64)


def test_fused_attention_op_called_directly_is_counted() -> None:
    d, heads, tokens, batch = 32, 4, 10, 2

    class Fused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Parameter(torch.randn(3 * d, d))
            self.proj = nn.Parameter(torch.randn(d, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch._native_multi_head_attention(x, x, x, d, heads, self.qkv, torch.zeros(3 * d), self.proj,
                                                      torch.zeros(d))[0]

    assert C.count_flops(Fused(), torch.randn(batch, tokens, d)).macs == batch * (4 * tokens * d * d
                                                                                 + 2 * tokens * tokens * d)


@pytest.mark.parametrize(("groups", "stride"), [(1, 1), (2, 2), (8, 1)])
def test_convolution_macs(groups: int, stride: int) -> None:
    conv = nn.Conv2d(8, 16, 3, stride=stride, padding=1, groups=groups)
    x = torch.randn(2, 8, 10, 10)
    out = conv(x)
    expected = 2 * out.shape[2] * out.shape[3] * 16 * 8 * 9 // groups
    assert C.count_flops(conv, x).macs == expected


def test_int8_linear_is_counted_like_its_float_layer() -> None:
    model = nn.Sequential(nn.Linear(32, 16))
    x = torch.randn(4, 32)
    dense = C.count_flops(model, x).flops
    C.quantize_(model, C.Int8Dynamic(engine="int_mm"))
    assert C.count_flops(model, x).flops == dense
