"""Named weights: `tiny` (shipped) and `rain-v0.1` (published, fetched on first use). See docs/FULL_TIER.md.

    from rain.weights import load_weights
    loaded = load_weights("rain-v0.1")          # downloads once, converts once, then offline
    pipe, condition = loaded.pipeline, loaded.condition
"""

from rain.weights.errors import (
    CorruptWeightsError, MissingWeightsError, NotEnoughDiskError, WeightsError, WeightsOfflineError,
)
from rain.weights.registry import (
    CHECKPOINTS_ROOT, DEFAULT_WEIGHTS, RAIN_V01, REGISTRY, TINY, RemoteFile, SourcePart, WeightsEntry, get_entry,
)
from rain.weights.runtime import (
    HalfWeightsPipeline, LoadedWeights, free_reference_models, load_pipeline, load_weights,
)

__all__ = [
    "CHECKPOINTS_ROOT", "DEFAULT_WEIGHTS", "RAIN_V01", "REGISTRY", "TINY", "CorruptWeightsError",
    "HalfWeightsPipeline", "LoadedWeights", "MissingWeightsError", "NotEnoughDiskError", "RemoteFile",
    "SourcePart", "WeightsEntry", "WeightsError", "WeightsOfflineError", "free_reference_models", "get_entry",
    "load_pipeline", "load_weights",
]
