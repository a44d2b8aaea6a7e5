"""Training pieces: a step loop, EMA, checkpoints that resume exactly, data-parallel set-up."""

from methodzoo.shared.train.batches import EpochBatches
from methodzoo.shared.train.checkpoint import (
    Checkpoint,
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    load_weights,
    save_checkpoint,
    save_weights,
)
from methodzoo.shared.train.distributed import (
    DistributedContext,
    setup_distributed,
    shard,
    teardown_distributed,
    unwrap_model,
    wrap_model,
)
from methodzoo.shared.train.ema import EMA
from methodzoo.shared.train.loop import (
    Stateful,
    Trainer,
    TrainerOptions,
    TrainHistory,
    TrainingDivergedError,
)

__all__ = [
    "EMA",
    "Checkpoint",
    "CheckpointError",
    "DistributedContext",
    "EpochBatches",
    "Stateful",
    "TrainHistory",
    "Trainer",
    "TrainerOptions",
    "TrainingDivergedError",
    "latest_checkpoint",
    "load_checkpoint",
    "load_weights",
    "save_checkpoint",
    "save_weights",
    "setup_distributed",
    "shard",
    "teardown_distributed",
    "unwrap_model",
    "wrap_model",
]
