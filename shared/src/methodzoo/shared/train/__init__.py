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
    average_gradients,
    broadcast_module,
    distributed_session,
    setup_distributed,
    shard,
    teardown_distributed,
    unwrap_model,
    wrap_model,
)
from methodzoo.shared.train.early_stopping import EarlyStopping, EarlyStoppingMonitor
from methodzoo.shared.train.ema import EMA
from methodzoo.shared.train.loop import (
    Stateful,
    Trainer,
    TrainerOptions,
    TrainHistory,
    TrainingDivergedError,
)
from methodzoo.shared.train.micro import MicroBatch, derive_seed
from methodzoo.shared.train.schedules import (
    LinearWarmup,
    StepDecay,
    WarmupCosine,
    WarmupLinearDecay,
)

__all__ = [
    "EMA",
    "Checkpoint",
    "CheckpointError",
    "DistributedContext",
    "EarlyStopping",
    "EarlyStoppingMonitor",
    "EpochBatches",
    "LinearWarmup",
    "MicroBatch",
    "Stateful",
    "StepDecay",
    "TrainHistory",
    "Trainer",
    "TrainerOptions",
    "TrainingDivergedError",
    "WarmupCosine",
    "WarmupLinearDecay",
    "average_gradients",
    "broadcast_module",
    "derive_seed",
    "distributed_session",
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
