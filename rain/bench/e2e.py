"""End to end through `LiveSession.push`: camera frame in -> output frame out, one push per camera frame.

Two conditioning paths on the same driving frames of a held-out world:
- `with_detection`: the session's real `Conditioner` (crop, MediaPipe, smoothing, drawing; style mode: crop
  and resize only);
- `without_detection`: the condition is drawn beforehand from the world's own landmarks (outside the timed
  region) and handed to the session by `PrecomputedConditioner`, so a push costs only the model and session.

Clock: frames are fed back to back as fast as the session takes them (a saturated camera). The session is
given a virtual clock that advances only by the measured push times, so latency = time from the push that
took a camera frame to the end of the push that showed its output (rendering the driving frames, which a
real camera does for free, is never counted).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from rain.bench.machine import rss_mib
from rain.bench.stats import head_tail_ms, percentiles_ms, window_size
from rain.bench.worlds import World, make_world, world_conditions
from rain.conditioning import ConditionConfig, ConditionResult, Conditioner
from rain.live.session import LiveSession
from rain.pipeline import RainPipeline

logger = logging.getLogger(__name__)

STAGES = ("pose", "unet", "step", "decode")  # RainPipeline.step's stream.stats keys
RSS_EVERY = 100  # frames between memory readings
OVERLAP_CHUNK = 64  # overlap runs: driving frames rendered ahead at a time (a call's wait per 64 frames)


class PrecomputedConditioner:
    """Stands in for `Conditioner`: returns the condition image set in `next` (no detection)."""

    def __init__(self, config: ConditionConfig) -> None:
        self.config = config
        self.reference = None
        self.last_detection = None
        self.next: np.ndarray | None = None

    def __call__(self, frame: np.ndarray, t: float | None = None) -> ConditionResult:
        return ConditionResult(self.next, None, "tracking", 0.0)

    def close(self) -> None:
        self.next = None


class TimedConditioner:
    """Wraps the real `Conditioner` and keeps the time of its last call and of its detector."""

    def __init__(self, inner: Conditioner) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.detect_ms = 0.0

    def __call__(self, frame: np.ndarray, t: float | None = None) -> ConditionResult:
        t0 = time.perf_counter()
        result = self.inner(frame, t)
        self.seconds = time.perf_counter() - t0
        self.detect_ms = result.detect_ms
        return result

    def __getattr__(self, name: str):  # noqa: ANN204 - config, last_detection, close, ... of the inner one
        return getattr(self.inner, name)


@dataclass
class Record:
    """Per-frame timings of one stream (preallocated: the record itself must not grow memory)."""

    frames: int
    push: np.ndarray = field(init=False)  # seconds of each push
    condition: np.ndarray = field(init=False)  # seconds in the conditioner
    detect: np.ndarray = field(init=False)  # seconds in the detector
    latency: np.ndarray = field(init=False)  # seconds, one per shown frame (the first `shown` entries)
    stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))  # summed seconds
    calls: int = 0
    shown: int = 0
    first_output_s: float | None = None  # virtual clock when the first frame was shown
    rss: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.push, self.condition, self.detect, self.latency = (np.zeros(self.frames) for _ in range(4))


def make_session(pipeline: RainPipeline, mode: str, world: World, detection: bool, overlap: bool) -> LiveSession:
    config = ConditionConfig(mode=mode, resolution=pipeline.config.resolution)
    session = LiveSession(pipeline, config, overlap=overlap)
    session.set_reference(world.reference)
    if detection:
        session.conditioner = TimedConditioner(session.conditioner)  # type: ignore[assignment]
    else:
        session.conditioner.close()
        session.conditioner = PrecomputedConditioner(config)  # type: ignore[assignment]
    return session


def run_stream(pipeline: RainPipeline, mode: str, frames: int, detection: bool, overlap: bool = False) -> dict:
    """Push `frames` driving frames of a held-out world through a fresh session; summarise the record.
    overlap: pile calls on the session's worker thread (`LiveConfig.overlap`). The driving frames are then
    rendered ahead in chunks, after waiting (timed) for the call in flight, so no model work runs during the
    untimed rendering; the per-stage breakdown is left at zero (the worker's calls are not attributed)."""
    world = make_world(mode, frames, pipeline.config.resolution)
    session = make_session(pipeline, mode, world, detection, overlap)
    style = mode == "style" and not detection
    helper = Conditioner(ConditionConfig(mode="style", resolution=pipeline.config.resolution)) if style else None
    conditions = None if detection or style else world_conditions(world, with_truth=False)
    record, clock = Record(frames), 0.0
    record.rss.append(rss_mib())
    t_start = time.perf_counter()
    chunk = OVERLAP_CHUNK if overlap else 1
    for start in range(0, frames, chunk):
        waited = _timed_wait(session)  # nothing runs in the background while the next frames render
        clock += waited
        batch = [world.driving_frame(i) for i in range(start, min(start + chunk, frames))]  # untimed camera
        for i, frame in enumerate(batch, start):
            if not detection:  # drawn outside the timed region
                session.conditioner.next = helper(frame).image if helper else next(conditions)[0]
            clock = _timed_push(session, frame, clock, i, record)
            if (i + 1) % RSS_EVERY == 0 or i + 1 == frames:
                record.rss.append(rss_mib())
        record.push[start] += waited  # the wait is model work: counted in the frame rate
    record.push[-1] += _timed_wait(session)  # the last call in flight
    wall = time.perf_counter() - t_start
    record.calls = session.stream.calls  # overlap: counted here, as the worker's calls are not attributed
    session.close()
    if helper:
        helper.close()
    return summarise(record, pipeline.frames_per_group, session.dropped, wall)


def _timed_wait(session: LiveSession) -> float:
    t0 = time.perf_counter()
    session.wait()
    return time.perf_counter() - t0


def _timed_push(session: LiveSession, frame: np.ndarray, clock: float, i: int, record: Record) -> float:
    calls = session.stream.calls
    t0 = time.perf_counter()
    out = session.push(frame, now=clock)
    seconds = time.perf_counter() - t0
    clock += seconds
    record.push[i] = seconds
    conditioner = session.conditioner
    if isinstance(conditioner, TimedConditioner):
        record.condition[i], record.detect[i] = conditioner.seconds, conditioner.detect_ms / 1000.0
    if session.stream.calls != calls and not session.overlap:
        record.calls += 1
        for k in STAGES:
            record.stages[k] += session.stream.stats.get(k, 0.0)
    if out.image is not None:
        record.latency[record.shown] = out.latency_ms / 1000.0 + seconds
        record.shown += 1
        record.first_output_s = clock if record.first_output_s is None else record.first_output_s
    return clock


def summarise(record: Record, group: int, dropped: int, wall: float) -> dict:
    """Frame rate, latency percentiles, head/tail cost, memory growth and where the time went."""
    n, warm = record.frames, min(len(record.rss) - 1, 1)
    first = record.first_output_s or 0.0
    steady = float(record.push.sum()) - first
    result = {
        "frames": n, "shown": record.shown, "dropped": dropped, "pile_calls": record.calls,
        "fps": (record.shown - 1) / steady if record.shown > 1 and steady > 0 else 0.0,
        "fps_capacity": n / float(record.push.sum()),
        "first_output_ms": first * 1000.0,
        "latency_ms": percentiles_ms(record.latency[:record.shown]),
        "push_ms": percentiles_ms(record.push),
        "wall_seconds_including_world_rendering": wall,
    }
    result.update(head_tail_ms(record.push, window_size(n, group), group))
    rss = record.rss
    result.update({"rss_start_mib": rss[0], "rss_after_first_100_mib": rss[warm], "rss_end_mib": rss[-1],
                   "rss_max_mib": max(rss), "rss_growth_mib": rss[-1] - rss[warm],
                   "rss_growth_from_start_mib": rss[-1] - rss[0]})
    result["ms_per_frame_by_stage"] = stage_breakdown(record)
    return result


def stage_breakdown(record: Record) -> dict[str, float]:
    """Mean milliseconds per camera frame spent in each stage of a push (pile stages: per call / group)."""
    n = record.frames
    per_frame = {f"pipeline_{k}": v / n * 1000.0 for k, v in record.stages.items()}
    condition = float(record.condition.sum()) / n * 1000.0
    detect = float(record.detect.sum()) / n * 1000.0
    total = float(record.push.sum()) / n * 1000.0
    out = {"detection": detect, "conditioning_other": condition - detect, **per_frame}
    out["session_other"] = total - sum(out.values())
    out["total"] = total
    return out
