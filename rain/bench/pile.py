"""The model alone: `RainPipeline.step` over a full pile on random conditions (no session, no detection)."""

from __future__ import annotations

import time

import numpy as np

from rain.bench.machine import rss_mib
from rain.pipeline import RainPipeline


def pile_flatness(pipeline: RainPipeline, calls: int, window: int) -> dict:
    """ms per pile call (UNet over the whole pile + LCM step + decode) over the first and the last window."""
    rng = np.random.default_rng(0)
    size = pipeline.config.resolution
    stream = pipeline.new_stream(pipeline.encode_reference(rng.integers(0, 256, (size, size, 3), np.uint8)))
    conditions = rng.integers(0, 256, (pipeline.frames_per_group, size, size, 3), np.uint8)
    for _ in range(pipeline.config.pile.default_groups + 2):  # fill the pile, warm up
        pipeline.step(stream, conditions)
    times, stages = np.zeros(calls), {}
    rss0 = rss_mib()
    for i in range(calls):
        t0 = time.perf_counter()
        pipeline.step(stream, conditions)
        times[i] = time.perf_counter() - t0
        for k, v in stream.stats.items():
            stages[k] = stages.get(k, 0.0) + v
    window = max(1, min(window, calls))
    first, last = np.mean(times[:window]) * 1000, np.mean(times[-window:]) * 1000
    return {
        "calls": calls, "window": window, "ms_per_call_first": first, "ms_per_call_last": last,
        "last_over_first": last / first,
        "fps_steady": pipeline.frames_per_group * 1000 / float(np.median(times) * 1000),
        "ms_per_call_p50": float(np.percentile(times, 50) * 1000),
        "ms_per_call_p95": float(np.percentile(times, 95) * 1000),
        "rss_growth_mib": rss_mib() - rss0, "ms_per_call_by_stage": {k: v / calls * 1000 for k, v in stages.items()},
    }
