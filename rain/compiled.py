"""Opt-in `torch.compile` of the UNet (inductor), compiled for every pile shape before the first user.

    pipeline = compile_pipeline(pipeline)   # ~30 s with a warm inductor cache, minutes with a cold one

The UNet is the only part compiled: it is ~80 % of a pile call (BENCHMARKS.md, Optimisations). A pile
has `num_groups` shapes (1 .. num_groups groups while it fills), and inductor compiles once per shape,
so `warm_up` steps a throw-away stream through all of them at load: no live stream ever waits for a
compile. The compiled pipeline is a new object over the same frozen weights; the original is unchanged.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import torch

from rain.pipeline import RainPipeline

logger = logging.getLogger(__name__)


class CompileError(RuntimeError):
    """torch.compile could not build the UNet here (no C++ compiler, unsupported op, ...)."""


def warm_up(pipeline: RainPipeline, seed: int = 0) -> float:
    """Step a throw-away stream through every pile shape (filling the trained pile to full, then one more
    call: a stream with fewer groups runs a subset of these shapes); return the seconds it took."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    size = pipeline.config.resolution
    groups = pipeline.config.pile.num_groups
    stream = pipeline.new_stream(pipeline.encode_reference(rng.integers(0, 256, (size, size, 3), np.uint8)),
                                 num_groups=groups)
    conditions = rng.integers(0, 256, (pipeline.frames_per_group, size, size, 3), np.uint8)
    for _ in range(groups + 1):  # 1, 2, ..., num_groups groups, then a full pile again
        pipeline.step(stream, conditions)
    return time.perf_counter() - t0


def compile_pipeline(pipeline: RainPipeline) -> RainPipeline:
    """A pipeline of the same class and settings whose UNet is `torch.compile`d, warmed up over every
    pile shape. Raises `CompileError` naming the cause if inductor cannot compile on this machine."""
    unet = torch.compile(pipeline.models.unet, dynamic=False)  # one graph per pile shape: static is fastest
    compiled = dataclasses.replace(pipeline.models, unet=unet)
    result = pipeline.with_models(compiled)
    try:
        seconds = warm_up(result)
    except Exception as exc:  # inductor raises many types (BackendCompilerFailed, CalledProcessError, ...)
        raise CompileError(f"torch.compile of the UNet failed ({type(exc).__name__}: {exc}); run without "
                           "--compile") from exc
    logger.info("UNet compiled for %d pile shapes in %.1f s", pipeline.config.pile.num_groups, seconds)
    return result
