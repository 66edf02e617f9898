"""Temporal stabilisation of landmarks.

- `OneEuroFilter`: the One-Euro filter (Casiez et al. 2012) applied element-wise to an array of
  coordinates: a low-pass filter whose cut-off rises with speed, so slow jitter is removed and
  fast motion keeps little lag. Elements marked invalid hold their last filtered value (also when
  the filter is off). Timestamps are seconds and must not go backwards (ValueError); a sample with
  the same timestamp as the previous one is a repeated frame: ignored, the last output returned
  (unless the filter is off).
- `one_euro_params(strength)`: the single "strength" setting (0 = off, 1 = strongest) mapped to
  the filter's min cut-off and speed coefficient.
- `LandmarkSmoother`: filters body / face / hands of a `Landmarks` stream; a dropped joint is held
  at its last position for ``hold_seconds`` (still drawn), then marked missing, never moved to 0.
  A joint that comes back after more than ``hold_seconds`` restarts at its new position.
- `HoldFadeTracker`: when the whole detection is lost (None), holds the last landmarks for
  ``hold_seconds``, then fades linearly to a neutral pose over ``fade_seconds``.
"""
from __future__ import annotations

import math

import numpy as np

from rain.conditioning.config import ConditionConfig
from rain.conditioning.landmarks import Landmarks
from rain.conditioning.neutral import neutral_landmarks


def one_euro_params(strength: float) -> tuple[float, float]:
    """(min_cutoff Hz, beta) for a strength in [0, 1]; coordinates are in frame units (0-1).
    Strength 0 returns (inf, 0): no filtering. At the default 0.5 and 30 fps, on a 0.5 Hz sway with
    white detector noise, the error against the clean path above 3 Hz drops to about 0.4x with
    about 1.4 frames of lag; the total error, slow wander included, only to about 0.73x (tested)."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"smoothing strength must be in [0, 1], got {strength}")
    if strength == 0.0:
        return math.inf, 0.0
    min_cutoff = 10.0 ** (1.0 - 2.0 * strength)  # 10 Hz (light) .. 0.1 Hz (strong)
    beta = 1.0 + 8.0 * (1.0 - strength)  # 9 (light) .. 1 (strong); 5 at the default 0.5
    return min_cutoff, beta


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Element-wise One-Euro filter over arrays of a fixed shape."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 10.0, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._x: np.ndarray | None = None  # last filtered value
        self._dx: np.ndarray | None = None  # last filtered derivative
        self._t: float | None = None

    def reset(self) -> None:
        self._x = self._dx = self._t = None

    def seed(self, rows: np.ndarray, x: np.ndarray) -> None:
        """Restart the state of the selected rows (bool (N,)) at the values x (N, ...)."""
        if self._x is not None and self._x.shape == x.shape:
            self._x[rows], self._dx[rows] = x[rows], 0.0

    def __call__(self, x: np.ndarray, t: float, valid: np.ndarray | None = None) -> np.ndarray:
        """Filter sample ``x`` taken at time ``t`` (seconds). ``valid`` (broadcastable to x, bool)
        marks elements to update; the others keep their previous output. A timestamp before the
        previous one raises ValueError (milliseconds or a restarted clock would otherwise be
        filtered wrongly without notice); the same timestamp again is a repeated frame: the state
        is left as it is and the last output returned (when the filter is off, min_cutoff inf, every
        sample passes through). A new shape (or `reset`) starts afresh."""
        x = np.asarray(x, np.float64)
        valid = np.ones(x.shape, bool) if valid is None else np.broadcast_to(valid, x.shape)
        if self._x is None or self._x.shape != x.shape:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x.copy()
        if t < self._t:
            raise ValueError(f"OneEuroFilter: timestamp {t} is before the previous one {self._t}; "
                             "timestamps are seconds and must not go backwards (reset() on a new clock)")
        if not math.isfinite(self.min_cutoff):  # filter off: raw values, invalid elements held
            self._x, self._t = np.where(valid, x, self._x), t
            return self._x.copy()
        if t == self._t:
            return self._x.copy()
        dt, self._t = t - self._t, t
        dx = (x - self._x) / dt
        dx_hat = self._dx + _alpha(self.d_cutoff, dt) * (dx - self._dx)
        a = _alpha(self.min_cutoff + self.beta * np.abs(dx_hat), dt)
        x_hat = self._x + a * (x - self._x)
        self._x = np.where(valid, x_hat, self._x)
        self._dx = np.where(valid, dx_hat, self._dx)
        return self._x.copy()


class LandmarkSmoother:
    """One-Euro filtering of a `Landmarks` stream with hold of dropped joints."""

    def __init__(self, strength: float = ConditionConfig.smoothing,
                 hold_seconds: float = ConditionConfig.hold_seconds,
                 min_conf: float = ConditionConfig.min_confidence) -> None:
        self.min_cutoff, self.beta = one_euro_params(strength)
        self.hold_seconds, self.min_conf = hold_seconds, min_conf
        self._filters: dict[str, OneEuroFilter] = {}
        self._last_seen: dict[str, np.ndarray] = {}  # per part: time each point was last seen
        self._last_conf: dict[str, np.ndarray] = {}
        self._t_prev = -math.inf  # time of the previous call

    def reset(self) -> None:
        self._filters.clear()
        self._last_seen.clear()
        self._last_conf.clear()
        self._t_prev = -math.inf

    def __call__(self, lm: Landmarks, t: float) -> Landmarks:
        """Smoothed copy of ``lm`` (detected at time ``t`` seconds)."""
        out = lm.copy()
        out.body, out.body_conf = self._part("body", lm.body, lm.body_conf, t)
        out.face, out.face_conf = self._part("face", lm.face, lm.face_conf, t)
        if lm.hands is not None:
            hands, conf = self._part("hands", lm.hands.reshape(-1, 2), lm.hands_conf.reshape(-1), t)
            out.hands, out.hands_conf = hands.reshape(lm.hands.shape), conf.reshape(lm.hands_conf.shape)
        self._t_prev = t
        return out

    def _part(self, key: str, xy: np.ndarray, conf: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        seen = conf > self.min_conf  # (N,)
        if key not in self._filters:
            if not seen.any():
                return xy.copy(), conf.copy()
            self._filters[key] = OneEuroFilter(self.min_cutoff, self.beta)
            self._last_seen[key] = np.full(len(conf), -np.inf)
            self._last_conf[key] = np.zeros(len(conf), np.float32)
        flt, last_seen, last_conf = self._filters[key], self._last_seen[key], self._last_conf[key]
        # first sighting (last_seen -inf), or back after missing for more than the hold: restart
        # from the new value instead of easing in from a stale position
        back = seen & (last_seen < self._t_prev) & (t - last_seen > self.hold_seconds)
        flt.seed(back, xy)
        out = flt(xy, t, seen[:, None]).astype(np.float32)
        last_seen[seen], last_conf[seen] = t, conf[seen]
        held = ~seen & (t - last_seen <= self.hold_seconds)
        out_conf = np.where(seen, conf, np.where(held, last_conf, 0.0)).astype(np.float32)
        return out, out_conf


def blend(a: Landmarks, b: Landmarks, w: float) -> Landmarks:
    """(1 - w) * a + w * b for coordinates and confidences (hands only if both have them)."""
    def mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return ((1.0 - w) * x + w * y).astype(np.float32)

    both_hands = a.hands is not None and b.hands is not None
    return Landmarks(mix(a.body, b.body), mix(a.body_conf, b.body_conf), mix(a.face, b.face),
                     mix(a.face_conf, b.face_conf),
                     mix(a.hands, b.hands) if both_hands else None,
                     mix(a.hands_conf, b.hands_conf) if both_hands else None)


class HoldFadeTracker:
    """Turns a detection stream with gaps (None) into a landmark stream without gaps."""

    def __init__(self, hold_seconds: float = ConditionConfig.hold_seconds,
                 fade_seconds: float = ConditionConfig.fade_seconds,
                 neutral: Landmarks | None = None) -> None:
        self.hold_seconds, self.fade_seconds = hold_seconds, fade_seconds
        self.neutral = neutral if neutral is not None else neutral_landmarks()
        self._last: Landmarks | None = None
        self._t_last = -math.inf

    def update(self, lm: Landmarks | None, t: float) -> tuple[Landmarks, str]:
        """The landmarks to draw at time ``t`` and a status: "tracking", "holding", "fading",
        or "neutral"."""
        if lm is not None:
            self._last, self._t_last = lm, t
            return lm, "tracking"
        if self._last is None:
            return self.neutral.copy(), "neutral"
        gap = t - self._t_last
        if gap <= self.hold_seconds:
            return self._last.copy(), "holding"
        if self.fade_seconds > 0 and gap < self.hold_seconds + self.fade_seconds:
            w = (gap - self.hold_seconds) / self.fade_seconds
            return blend(self._last, self.neutral, w), "fading"
        return self.neutral.copy(), "neutral"
