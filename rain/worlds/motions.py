"""Smooth procedural motions as (T, P) joint-angle tracks (see `skeleton.PARAMS`).

Every motion is a smooth function of time whose random parameters are drawn once from the
generator, so a segment is continuous at any frame rate. ``root_x`` and ``yaw`` are offsets that
start near 0; `chain` adds the value carried from the previous segment and cross-fades segments.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np

from rain.worlds.config import WorldConfig
from rain.worlds.skeleton import NUM_PARAMS, P

MotionFn = Callable[[np.random.Generator, np.ndarray, float], np.ndarray]  # (rng, t, duration)


def neutral_pose(n: int = 1) -> np.ndarray:
    """A relaxed standing A-pose, (n, P)."""
    q = np.zeros((n, NUM_PARAMS))
    for side in "rl":
        q[:, P[side + "_abd"]] = 0.22
        q[:, P[side + "_elbow"]] = 0.25
        q[:, P[side + "_twist"]] = 0.3
        q[:, P[side + "_hip_abd"]] = 0.05
    return q


def _sin(rng: np.random.Generator, t: np.ndarray, freq: tuple[float, float], amp: float) -> np.ndarray:
    f, ph = rng.uniform(*freq), rng.uniform(0, 2 * np.pi)
    return amp * np.sin(2 * np.pi * f * t + ph)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (x * (6 * x - 15) + 10)


def _bump(t: np.ndarray, rise: float, fall: float | None) -> np.ndarray:
    """0 -> 1 over [0, rise]; back to 0 over [fall, fall + rise] when fall is given."""
    up = _smoothstep(t / rise)
    return up if fall is None else up * (1.0 - _smoothstep((t - fall) / rise))


def _breathe(rng: np.random.Generator, t: np.ndarray, q: np.ndarray, amount: float = 1.0) -> None:
    """Small idle motions added in place: breathing, sway, head drift."""
    q[:, P["pitch"]] += _sin(rng, t, (0.2, 0.35), 0.02 * amount)
    q[:, P["roll"]] += _sin(rng, t, (0.1, 0.3), 0.03 * amount)
    q[:, P["head_yaw"]] += _sin(rng, t, (0.05, 0.25), 0.25 * amount)
    q[:, P["head_pitch"]] += _sin(rng, t, (0.1, 0.3), 0.08 * amount)
    q[:, P["head_roll"]] += _sin(rng, t, (0.1, 0.3), 0.06 * amount)
    for side in "rl":
        q[:, P[side + "_abd"]] += _sin(rng, t, (0.1, 0.4), 0.06 * amount)
        q[:, P[side + "_elbow"]] += _sin(rng, t, (0.1, 0.4), 0.1 * amount)


def idle(rng: np.random.Generator, t: np.ndarray, duration: float = 0.0) -> np.ndarray:
    q = neutral_pose(len(t))
    q[:, P["r_hip_abd"]] += _sin(rng, t, (0.05, 0.15), 0.05)
    _breathe(rng, t, q, 1.5)
    return q


def walk(rng: np.random.Generator, t: np.ndarray, duration: float = 0.0, across: bool = False) -> np.ndarray:
    q = neutral_pose(len(t))
    phase = 2 * np.pi * rng.uniform(0.75, 1.05) * t + rng.uniform(0, 2 * np.pi)
    stride, knee, swing = rng.uniform(0.25, 0.5), rng.uniform(0.5, 0.9), rng.uniform(0.2, 0.5)
    for side, sign in (("r", 1.0), ("l", -1.0)):
        s = np.sin(phase + (0 if sign > 0 else np.pi))
        q[:, P[side + "_hip_flex"]] = stride * s
        q[:, P[side + "_knee"]] = knee * (0.5 + 0.5 * np.sin(phase + (0 if sign > 0 else np.pi) + 1.2)) ** 2
        q[:, P[side + "_flex"]] = -swing * s
        q[:, P[side + "_elbow"]] = 0.3 + 0.25 * (0.5 + 0.5 * s)
        q[:, P[side + "_twist"]] = 0.0
    q[:, P["root_y"]] = -0.006 * (1.0 - np.cos(2 * phase))  # bob up only, never below the floor
    q[:, P["roll"]] = 0.03 * np.sin(phase)
    _breathe(rng, t, q, 0.5)
    if across:
        direction = rng.choice([-1.0, 1.0])
        q[:, P["root_x"]] = direction * rng.uniform(0.12, 0.3) * t
        q[:, P["yaw"]] = direction * rng.uniform(0.5, 1.4) * _bump(t, 1.0, None)
    else:
        q[:, P["yaw"]] = _sin(rng, t, (0.05, 0.15), 0.4)
    return q


def wave(rng: np.random.Generator, t: np.ndarray, duration: float = 0.0) -> np.ndarray:
    q = neutral_pose(len(t))
    _breathe(rng, t, q, 0.7)
    sides = [str(rng.choice(["r", "l"]))] if rng.random() < 0.7 else ["r", "l"]
    freq, ph = rng.uniform(1.0, 1.8), rng.uniform(0, 2 * np.pi)
    for side in sides:
        q[:, P[side + "_abd"]] = rng.uniform(1.3, 2.2) + _sin(rng, t, (0.2, 0.5), 0.15)
        q[:, P[side + "_flex"]] = rng.uniform(-0.2, 0.4)
        q[:, P[side + "_twist"]] = np.pi / 2
        q[:, P[side + "_elbow"]] = rng.uniform(0.7, 1.2) + 0.45 * np.sin(2 * np.pi * freq * t + ph)
    q[:, P["head_roll"]] += _sin(rng, t, (0.2, 0.4), 0.1)
    return q


def dance(rng: np.random.Generator, t: np.ndarray, duration: float = 0.0) -> np.ndarray:
    q = neutral_pose(len(t))
    beat = 2 * np.pi * rng.uniform(0.5, 1.1) * t + rng.uniform(0, 2 * np.pi)
    u = rng.uniform
    for side in "rl":
        q[:, P[side + "_abd"]] = u(0.4, 1.6) + u(0.3, 0.7) * np.sin(beat + u(0, 6.3))
        q[:, P[side + "_flex"]] = u(-0.2, 1.0) + u(0.2, 0.6) * np.sin(0.5 * beat + u(0, 6.3))
        q[:, P[side + "_elbow"]] = u(0.4, 1.4) + 0.4 * np.sin(beat + u(0, 6.3))
        q[:, P[side + "_twist"]] = rng.uniform(0.0, 1.6)
        q[:, P[side + "_knee"]] = 0.15 + 0.15 * (1 + np.sin(2 * beat))
        q[:, P[side + "_hip_flex"]] = 0.1 + 0.1 * (1 + np.sin(2 * beat))
    step = rng.integers(0, 2)
    q[:, P[("r", "l")[step] + "_hip_flex"]] += 0.35 * np.clip(np.sin(beat), 0, None) ** 2
    q[:, P[("r", "l")[step] + "_knee"]] += 0.6 * np.clip(np.sin(beat), 0, None) ** 2
    q[:, P["roll"]] = 0.12 * np.sin(beat)
    q[:, P["yaw"]] = rng.uniform(0.1, 0.6) * np.sin(0.5 * beat)
    q[:, P["head_roll"]] = 0.15 * np.sin(beat + 1.0)
    return q


def turn(rng: np.random.Generator, t: np.ndarray, duration: float = 0.0) -> np.ndarray:
    """Turn by 90..360 degrees (and often back) within ``duration`` seconds (0: all of t)."""
    q = neutral_pose(len(t))
    _breathe(rng, t, q, 0.7)
    span = duration if duration > 0 else (float(t[-1]) if len(t) > 1 else 1.0)
    angle = rng.choice([-1.0, 1.0]) * rng.choice([np.pi / 2, 2 * np.pi / 3, np.pi, 2 * np.pi])
    speed = rng.uniform(1.5, 2.8)  # mean turning speed (rad/s); the peak is 1.9x higher
    rise = abs(angle) / speed
    if rise > 0.45 * span:  # too short a segment for this turn: turn less
        rise = max(0.45 * span, 0.05)
        angle = np.sign(angle) * rise * speed
    back = abs(angle) < 2 * np.pi - 0.1 and rng.random() < 0.7 and span > 2 * rise + 0.3
    amount = _bump(t, rise, span - rise - 0.1 if back else None)
    q[:, P["yaw"]] = angle * amount
    stepping = np.sin(2 * np.pi * 1.8 * t) * np.sin(np.pi * np.clip(amount, 0, 1))
    q[:, P["r_hip_flex"]] += 0.25 * np.clip(stepping, 0, None)
    q[:, P["l_hip_flex"]] += 0.25 * np.clip(-stepping, 0, None)
    q[:, P["r_knee"]] += 0.5 * np.clip(stepping, 0, None)
    q[:, P["l_knee"]] += 0.5 * np.clip(-stepping, 0, None)
    return q


def jump(rng: np.random.Generator, t: np.ndarray, duration: float = 0.0) -> np.ndarray:
    q = neutral_pose(len(t))
    s = np.sin(2 * np.pi * t / rng.uniform(1.1, 1.7) + rng.uniform(0, 2 * np.pi))
    air, crouch = np.clip(s, 0, None) ** 2, np.clip(-s, 0, None) ** 2
    arms = 0.5 * (1.0 + s)  # slower than `air`: up while airborne, down in the crouch
    q[:, P["root_y"]] = -rng.uniform(0.08, 0.2) * air
    star = rng.random() < 0.5
    for side in "rl":
        q[:, P[side + "_knee"]] = 0.15 + 1.0 * crouch + 0.3 * air
        q[:, P[side + "_hip_flex"]] = 0.08 + 0.55 * crouch + 0.15 * air
        q[:, P[side + "_hip_abd"]] += 0.3 * air if star else 0.0
        q[:, P[side + "_abd"]] = 0.25 + (1.7 if star else 0.3) * arms
        q[:, P[side + "_flex"]] = -0.4 * crouch + (0.0 if star else 1.4) * arms
        q[:, P[side + "_elbow"]] = 0.3 + 0.3 * crouch
    q[:, P["pitch"]] = 0.3 * crouch
    q[:, P["head_pitch"]] = -0.2 * crouch
    return q


def random_smooth(rng: np.random.Generator, t: np.ndarray, duration: float = 0.0) -> np.ndarray:
    """Neutral pose plus a sum of three low-frequency sinusoids on every joint."""
    q = neutral_pose(len(t))
    amps = {"roll": 0.1, "pitch": 0.15, "head_yaw": 0.5, "head_pitch": 0.2, "head_roll": 0.15,
            "yaw": 0.5, "r_abd": 0.9, "l_abd": 0.9, "r_flex": 0.9, "l_flex": 0.9, "r_elbow": 0.7,
            "l_elbow": 0.7, "r_twist": 0.6, "l_twist": 0.6, "r_hip_abd": 0.2, "l_hip_abd": 0.2,
            "r_hip_flex": 0.4, "l_hip_flex": 0.4, "r_knee": 0.5, "l_knee": 0.5}
    for name, amp in amps.items():
        base = amp if name.endswith(("_abd", "_elbow", "_knee")) and not name.endswith("hip_abd") else 0.0
        q[:, P[name]] += 0.5 * base + sum(_sin(rng, t, (0.08, 0.6), amp / 3) for _ in range(3))
    return q


MOTIONS: Mapping[str, MotionFn] = MappingProxyType({
    "walk": walk, "wave": wave, "dance": dance, "turn": turn, "jump": jump, "idle": idle,
    "random": random_smooth,
})


def sample_segment(rng: np.random.Generator, cfg: WorldConfig, t: np.ndarray,
                   kind: str | None = None, duration: float = 0.0) -> tuple[str, np.ndarray]:
    """A motion (its kind and (T, P) track) on the times ``t`` (seconds from the segment start);
    ``duration`` is the segment's own length (t may run past it into the cross-fade)."""
    if kind is None:
        w = np.asarray(cfg.motion_weights, np.float64)
        kind = str(cfg.motion_kinds[rng.choice(len(w), p=w / w.sum())])
    if kind == "walk":
        return kind, walk(rng, t, duration, across=bool(rng.random() < cfg.walk_across_prob))
    return kind, MOTIONS[kind](rng, t, duration)


def _keep_in_view(q: np.ndarray, start_x: float, limit: float) -> None:
    """Turn a walk across around (mirror ``root_x`` / ``yaw``) or slow it to end within +-limit."""
    rx, yaw = P["root_x"], P["yaw"]
    if abs(start_x + q[-1, rx]) > limit:
        q[:, rx] *= -1.0
        q[:, yaw] *= -1.0
    end = start_x + q[-1, rx]
    if abs(end) > limit and abs(q[-1, rx]) > 1e-9:
        q[:, rx] *= max(0.0, (np.sign(end) * limit - start_x) / q[-1, rx])


def _carry_yaw(q: np.ndarray, kind: str, t: np.ndarray, carried: float) -> None:
    """Continue ``yaw`` from the previous segment (in place): a turn turns relative to it, every
    other motion settles back to facing the camera (its own yaw is relative to frontal)."""
    yaw = P["yaw"]
    if kind == "turn":
        q[:, yaw] += carried - q[0, yaw]
        return
    frontal = 2 * np.pi * round(carried / (2 * np.pi))
    settle = max(1.0, abs(carried - frontal) / 2.0)  # at most ~2 rad/s mean turning speed
    q[:, yaw] += frontal + (carried - frontal) * (1.0 - _bump(t, settle, None))


def chain(rng: np.random.Generator, cfg: WorldConfig, num_frames: int,
          root_x_limit: float) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Motion segments cross-faded into one (num_frames, P) track, and the (start frame, kind) list.
    ``root_x`` and ``yaw`` continue from segment to segment; ``root_x`` stays within the limit."""
    blend = max(1, int(round(cfg.blend_seconds * cfg.fps)))
    out = np.zeros((num_frames + blend, NUM_PARAMS))
    segments: list[tuple[int, str]] = []
    start = 0
    while start < num_frames:
        length = max(blend + 1, int(round(rng.uniform(*cfg.segment_seconds) * cfg.fps)))
        length = min(length, num_frames - start)
        t = np.arange(length + blend) / cfg.fps
        kind, q = sample_segment(rng, cfg, t, duration=length / cfg.fps)
        q[:, P["root_x"]] += out[start, P["root_x"]] - q[0, P["root_x"]]
        _carry_yaw(q, kind, t, float(out[start, P["yaw"]]))
        if kind == "walk":
            q[:, P["root_x"]] -= out[start, P["root_x"]]
            _keep_in_view(q, float(out[start, P["root_x"]]), root_x_limit)
            q[:, P["root_x"]] += out[start, P["root_x"]]
        if segments:
            w = _smoothstep((np.arange(blend) + 1) / (blend + 1))[:, None]
            q[:blend] = (1 - w) * out[start:start + blend] + w * q[:blend]
        out[start:start + length + blend] = q
        segments.append((start, kind))
        start += length
    return out[:num_frames], segments
