"""Small helpers shared by the measurements: percentiles, windows, per-frame timing records."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def percentiles_ms(seconds: Sequence[float] | np.ndarray) -> dict[str, float | None]:
    """p50 / p95 / max / mean in milliseconds of a list of durations (None for an empty list)."""
    x = np.asarray(seconds, dtype=np.float64) * 1000.0
    if x.size == 0:
        return {"p50": None, "p95": None, "max": None, "mean": None, "count": 0}
    return {"p50": float(np.percentile(x, 50)), "p95": float(np.percentile(x, 95)), "max": float(x.max()),
            "mean": float(x.mean()), "count": int(x.size)}


def window_size(frames: int, group: int, fraction: float = 0.1) -> int:
    """The head / tail window of a stream: a tenth of it (frames 0-1,000 and 9,000-10,000 of 10,000), in
    whole groups (one push in `group` runs the pile call, so a window must hold whole groups)."""
    return max(group, int(frames * fraction) // group * group)


def head_tail_ms(per_frame: np.ndarray, window: int, group: int) -> dict[str, float]:
    """Mean cost (ms) of a frame in the first and the last `window` frames (whole groups), and their ratio."""
    end = len(per_frame) // group * group
    first = float(np.mean(per_frame[:window]) * 1000.0)
    last = float(np.mean(per_frame[max(0, end - window):end]) * 1000.0)
    return {"window_frames": int(window), "ms_per_frame_first_window": first, "ms_per_frame_last_window": last,
            "last_over_first": last / first if first > 0 else float("nan")}


def finite(value: object) -> object:
    """NaN / inf -> None everywhere in a JSON-bound structure (strict JSON has no NaN)."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value
