"""Two-modality data sets: coloured digits (offline), BasicMotions (offline), ModelNet40 two-view
renders and NVGesture (local folders)."""

from methodzoo.greedy_mm.data.colored_digits import PALETTE, colored_digits
from methodzoo.greedy_mm.data.paired import (
    BatchLoader,
    PairedTensors,
    TwoModalityData,
    iterate_batches,
)

__all__ = ["PALETTE", "BatchLoader", "PairedTensors", "TwoModalityData", "colored_digits", "iterate_batches"]
