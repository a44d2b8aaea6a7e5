"""methodzoo.shared.compress — model compression with the survey's metrics (Cheng et al.,
"A Survey of Model Compression and Acceleration for Deep Neural Networks").

One verb per capability, each taking a self-validating config::

    from methodzoo.shared import compress as C
    C.prune_(model, C.MagnitudePruning(sparsity=0.7, scope="global"))
    C.prune_(model, C.StructuredPruning(amount=0.5, unit="filter"))
    small = C.compact(model)
    C.quantize_(model, C.FakeQuant(bits=4, per_channel=True, symmetric=True))
    C.quantize_(model, C.Int8Dynamic())
    C.factorize_(model, C.LowRank(rank=8))
    loss = C.distillation_loss(student_logits, teacher_logits, labels, temperature=4.0, weight=0.9)
    n = C.count_flops(model, *inputs)
    r = C.report(dense, compressed, *inputs)

Masks and quantizers are ``torch.nn.utils.parametrize`` parametrizations whose state is plain
tensors: they survive ``copy.deepcopy``, ``state_dict`` round trips and the core's checkpoints.
"""

from methodzoo.shared.compress.accounting import (
    CompressionReport,
    ParameterCount,
    TensorStorage,
    measure_speedup,
    parameter_count,
    report,
    size_in_bits,
    weight_storage,
)
from methodzoo.shared.compress.attention import CompactMultiheadAttention
from methodzoo.shared.compress.binary import Binarize, BinaryWeight
from methodzoo.shared.compress.compact import compact
from methodzoo.shared.compress.distill import (
    Distillation,
    FeatureTap,
    HintRegressor,
    attention_map,
    attention_transfer_loss,
    distill,
    distillation_loss,
    hint_loss,
)
from methodzoo.shared.compress.fakequant import (
    ActivationFakeQuantizer,
    FakeQuant,
    WeightFakeQuantizer,
    calibrate,
    fake_quantize,
    stochastic_round,
)
from methodzoo.shared.compress.filters import CReLU, DepthwiseSeparableConv2d
from methodzoo.shared.compress.flops import FlopCount, count_flops
from methodzoo.shared.compress.hashing import HashedLinear
from methodzoo.shared.compress.huffman import HuffmanCode, entropy_bits, huffman_code
from methodzoo.shared.compress.int8 import BackendUnavailableError, Int8Dynamic, Int8Linear
from methodzoo.shared.compress.lowrank import FactorizedLinear, LowRank, Tucker2Conv, factorize_
from methodzoo.shared.compress.masks import (
    ChannelMask,
    Mask,
    bake_all_,
    masked_tensors,
    restore_masks_,
    sparsity,
)
from methodzoo.shared.compress.movement import MovementPruning, fix_masks_
from methodzoo.shared.compress.oneshot import SparseGPT, Wanda
from methodzoo.shared.compress.prune import MagnitudePruning, prune_
from methodzoo.shared.compress.quantize import quantize_
from methodzoo.shared.compress.schedules import PruningSchedule, ScheduledPruning
from methodzoo.shared.compress.sharing import SharedWeight, WeightSharing, kmeans_1d
from methodzoo.shared.compress.structured import StructuredPruning, group_sparsity_penalty
from methodzoo.shared.compress.targets import LayerSelection

__all__ = [
    "ActivationFakeQuantizer",
    "BackendUnavailableError",
    "Binarize",
    "BinaryWeight",
    "CReLU",
    "ChannelMask",
    "CompactMultiheadAttention",
    "CompressionReport",
    "DepthwiseSeparableConv2d",
    "Distillation",
    "FactorizedLinear",
    "FakeQuant",
    "FeatureTap",
    "FlopCount",
    "HashedLinear",
    "HintRegressor",
    "HuffmanCode",
    "Int8Dynamic",
    "Int8Linear",
    "LayerSelection",
    "LowRank",
    "MagnitudePruning",
    "Mask",
    "MovementPruning",
    "ParameterCount",
    "PruningSchedule",
    "ScheduledPruning",
    "SharedWeight",
    "SparseGPT",
    "StructuredPruning",
    "TensorStorage",
    "Tucker2Conv",
    "Wanda",
    "WeightFakeQuantizer",
    "WeightSharing",
    "attention_map",
    "attention_transfer_loss",
    "bake_all_",
    "calibrate",
    "compact",
    "count_flops",
    "distill",
    "distillation_loss",
    "entropy_bits",
    "factorize_",
    "fake_quantize",
    "fix_masks_",
    "group_sparsity_penalty",
    "hint_loss",
    "huffman_code",
    "kmeans_1d",
    "masked_tensors",
    "measure_speedup",
    "parameter_count",
    "prune_",
    "quantize_",
    "report",
    "restore_masks_",
    "size_in_bits",
    "sparsity",
    "stochastic_round",
    "weight_storage",
]
