"""BasicMotions as a two-modality task: the smartwatch accelerometer (m0, channels acc_x/y/z)
against the gyroscope (m1, gyro_x/y/z), 40 training and 40 test series of 100 steps, 4 classes
(the core's offline copy from aeon)."""

from __future__ import annotations

import torch

from methodzoo.greedy_mm.data.paired import PairedTensors, TwoModalityData
from methodzoo.shared.data.timeseries import basic_motions
from methodzoo.shared.errors import UserError

ACCELEROMETER = (0, 1, 2)
GYROSCOPE = (3, 4, 5)


def basic_motions_pair() -> TwoModalityData:
    """Accelerometer ``(N, 3, 100)`` vs gyroscope ``(N, 3, 100)``, each channel standardised with
    the training split's mean and standard deviation."""
    train, test = basic_motions("train"), basic_motions("test")
    names = train.channel_names
    if [names[c][:3] for c in ACCELEROMETER] != ["acc"] * 3 or [names[c][:4] for c in GYROSCOPE] != ["gyro"] * 3:
        raise UserError(f"BasicMotions channels are {names}; expected acc_x/y/z then gyro_x/y/z")
    mean = train.values.mean(dim=(0, 2), keepdim=True)
    std = train.values.std(dim=(0, 2), keepdim=True).clamp_min(1e-6)

    def pair(values: torch.Tensor, labels: torch.Tensor) -> PairedTensors:
        values = (values - mean) / std
        return PairedTensors(values[:, list(ACCELEROMETER)].contiguous(), values[:, list(GYROSCOPE)].contiguous(), labels)

    return TwoModalityData(name="basic-motions", train=pair(train.values, train.labels),
                           evaluation={"test": pair(test.values, test.labels)}, class_names=train.class_names,
                           modality_names=("accelerometer", "gyroscope"),
                           details={"train_size": len(train), "test_size": len(test)})
