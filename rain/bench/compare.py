"""Side by side on the same weights and the same held-out frames: the pile, chunked sliding-window sampling
and independent per-frame sampling without temporal attention.

Every method takes condition images drawn from the world's own landmarks (no detection), one camera frame
at a time, as fast as it can consume them (a saturated camera), on a virtual clock that advances only by
the measured sampler calls. A frame's latency runs from the moment the method took it to the end of the
call that produced its output frame; the wait for a group or window to fill at a real camera's rate
comes on top: (frames_per_call - 1) / camera_fps. Flicker (rain.eval.metrics.flicker) is measured on
consecutive output frames against the world's ground-truth frames, streaming (flat memory).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Protocol

import numpy as np

from rain.bench.samplers import ChunkedSampler, PileSampler
from rain.bench.stats import percentiles_ms
from rain.bench.worlds import World, make_world, world_conditions
from rain.eval.evaluate import without_temporal
from rain.eval.metrics import flicker
from rain.pipeline import RainPipeline

logger = logging.getLogger(__name__)


class Sampler(Protocol):
    @property
    def needed(self) -> int: ...

    def run(self, conditions: np.ndarray) -> np.ndarray: ...

    def flush(self) -> list[np.ndarray]: ...


class FlickerMeter:
    """Streaming mean of rain.eval.metrics.flicker over consecutive (output, truth) pairs."""

    def __init__(self) -> None:
        self.prev: tuple[np.ndarray, np.ndarray] | None = None
        self.total, self.count = 0.0, 0

    def add(self, output: np.ndarray, truth: np.ndarray) -> None:
        if self.prev is not None:
            self.total += flicker(np.stack([self.prev[0], output]), np.stack([self.prev[1], truth]))
            self.count += 1
        self.prev = (output, truth)

    @property
    def value(self) -> float:
        return self.total / self.count if self.count else float("nan")


def drive(sampler: Sampler, world: World) -> dict:
    """Feed a held-out world's conditions to `sampler`; time its calls; latency and flicker per frame."""
    arrivals: deque[float] = deque()
    truths: deque[np.ndarray] = deque()
    pending: list[np.ndarray] = []
    latencies, calls, meter, clock, first = [], [], FlickerMeter(), 0.0, None
    for condition, truth in world_conditions(world, with_truth=True):
        pending.append(condition)
        arrivals.append(clock)
        truths.append(truth)
        if len(pending) < sampler.needed:
            continue
        t0 = time.perf_counter()
        out = sampler.run(np.stack(pending))
        calls.append(time.perf_counter() - t0)
        clock += calls[-1]
        pending.clear()
        for frame in out:
            latencies.append(clock - arrivals.popleft())
            meter.add(frame, truths.popleft())
        first = clock if first is None and len(out) else first
    if pending:
        for frame in sampler.run(np.stack(pending)):  # the last, short window (untimed)
            meter.add(frame, truths.popleft())
    for group in sampler.flush():  # the pile's tail (untimed)
        for frame in group:
            meter.add(frame, truths.popleft())
    return {"latencies": latencies, "calls": calls, "first": first, "flicker": meter.value,
            "frames_out": meter.count + 1}


def summary(raw: dict, frames_per_call: int) -> dict:
    """Cost per frame, first-frame and steady latency (after the first output), flicker."""
    lat, calls = raw["latencies"], np.asarray(raw["calls"])
    out = len(lat)
    steady = lat[frames_per_call:] if len(lat) > frames_per_call else lat
    return {"frames_per_call": frames_per_call, "calls": int(calls.size), "frames_timed": out,
            "ms_per_frame": float(calls.sum() / max(out, 1) * 1000.0),
            "ms_per_call": percentiles_ms(calls),
            "first_frame_latency_ms": None if raw["first"] is None else raw["first"] * 1000.0,
            "steady_latency_ms": percentiles_ms(steady), "flicker": raw["flicker"],
            "frames_scored": raw["frames_out"]}


def compare(pipeline: RainPipeline, frames: int, window: int, overlap: int) -> dict:
    """The four rows of the comparison (the pile without temporal attention isolates the temporal modules)."""
    world = make_world("body", frames, pipeline.config.resolution)
    flat = without_temporal(pipeline)
    reference = pipeline.encode_reference(world.reference)
    rows = {
        "pile": (PileSampler(pipeline, reference), pipeline.frames_per_group),
        "chunked_window": (ChunkedSampler(pipeline, reference, window, overlap), window - overlap),
        "per_frame_no_temporal": (ChunkedSampler(flat, reference, 1, 0), 1),
        "pile_no_temporal": (PileSampler(flat, reference), pipeline.frames_per_group),
    }
    result: dict = {"frames": frames, "window": window, "overlap": overlap, "levels": pipeline.config.pile.default_groups}
    for name, (sampler, per_call) in rows.items():
        logger.info("compare: %s over %d frames", name, frames)
        result[name] = summary(drive(sampler, world), per_call)
    pile = result["pile"]["flicker"]
    for name in rows:
        result[name]["flicker_over_pile"] = result[name]["flicker"] / pile if pile > 0 else float("nan")
    return result
