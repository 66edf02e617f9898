"""Expression and head-pose tracks of the face world: smooth random processes over time.

Every track is a (T,) float array sampled at the world's fps, drawn once when the world is built:
- head: yaw, pitch, roll (radians), tx, ty (frame sides), scale (relative), slow sums of sinusoids
  with random frequencies and phases, so any start point is typical;
- blinks: events every ``blink_interval`` seconds lasting ``blink_seconds``; ``eye_open`` reaches 0;
- talking: talk / silence segments chained with short cross-fades; while talking the mouth opens
  and closes at syllable rate (3-6 Hz) and rounds now and then;
- smile and brows: slow processes (brow > 0 raised, < 0 frowning).
Gaze is not a free track: the character looks at the camera (the eyes counter-rotate the head), so
the iris position is a function of the head pose that the 26-dot condition conveys.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from rain.worlds.config import FaceWorldConfig


@dataclass(frozen=True)
class Expression:
    """Per-frame tracks, each (T,) float64."""

    yaw: np.ndarray
    pitch: np.ndarray
    roll: np.ndarray
    tx: np.ndarray
    ty: np.ndarray
    scale: np.ndarray
    eye_open: np.ndarray  # 1 open, 0 closed
    mouth_open: np.ndarray  # 0..1
    mouth_round: np.ndarray  # 0..1 ("o" shape: narrower mouth)
    smile: np.ndarray  # 0..1
    brow: np.ndarray  # -1..1

    def __len__(self) -> int:
        return len(self.yaw)

    def at(self, t: int) -> dict[str, float]:
        """The values of frame t."""
        return {f.name: float(getattr(self, f.name)[t]) for f in fields(self)}

    def slice(self, start: int, stop: int) -> "Expression":
        return Expression(**{f.name: getattr(self, f.name)[start:stop] for f in fields(self)})


def smooth_noise(rng: np.random.Generator, t: np.ndarray, band: tuple[float, float],
                 k: int = 3) -> np.ndarray:
    """(T,) in [-1, 1]: a sum of k sinusoids with frequencies (Hz) in ``band``, random phases."""
    f = rng.uniform(*band, k)
    a = rng.uniform(0.5, 1.0, k)
    ph = rng.uniform(0, 2 * np.pi, k)
    x = (a[None] * np.sin(2 * np.pi * f[None] * t[:, None] + ph[None])).sum(1)
    return x / a.sum()


def blinks(rng: np.random.Generator, t: np.ndarray, cfg: FaceWorldConfig) -> np.ndarray:
    """(T,) eye openness: 1 except during blinks, where it dips to 0 for about half the blink."""
    out = np.ones_like(t)
    start = -rng.uniform(0, cfg.blink_interval[1])
    while start < t[-1] + 1.0:
        u = (t - start) / cfg.blink_seconds
        inside = (u > 0) & (u < 1)
        out[inside] = np.minimum(out[inside], 1.0 - np.clip(1.35 * np.sin(np.pi * u[inside]), 0, 1))
        start += rng.uniform(*cfg.blink_interval)
    return out


def talk_gate(rng: np.random.Generator, t: np.ndarray, cfg: FaceWorldConfig) -> np.ndarray:
    """(T,) 0..1: chained talk / silence segments with 0.25 s cross-fades."""
    gate = np.zeros_like(t)
    start = -rng.uniform(0, cfg.segment_seconds[1])
    while start < t[-1] + 1.0:
        end = start + rng.uniform(*cfg.segment_seconds)
        if rng.random() < cfg.talk_prob:
            ramp = np.minimum(np.clip((t - start) / 0.25, 0, 1), np.clip((end - t) / 0.25, 0, 1))
            gate = np.maximum(gate, ramp)
        start = end
    return gate


def sample_expression(rng: np.random.Generator, num_frames: int, cfg: FaceWorldConfig) -> Expression:
    """All tracks of a clip of ``num_frames`` frames."""
    t = np.arange(num_frames) / cfg.fps
    slow, medium = (0.04, 0.3), (0.1, 0.6)
    gate = talk_gate(rng, t, cfg)
    syllables = np.clip(smooth_noise(rng, t, (2.5, 6.0), 4) * 1.6, 0, 1)
    return Expression(
        yaw=cfg.yaw * smooth_noise(rng, t, slow), pitch=cfg.pitch * smooth_noise(rng, t, slow),
        roll=cfg.roll * smooth_noise(rng, t, slow),
        tx=cfg.drift * smooth_noise(rng, t, (0.02, 0.2)), ty=cfg.drift * smooth_noise(rng, t, (0.02, 0.2)),
        scale=1.0 + cfg.scale_drift * smooth_noise(rng, t, (0.02, 0.2)),
        eye_open=blinks(rng, t, cfg),
        mouth_open=gate * syllables + 0.15 * np.clip(smooth_noise(rng, t, medium), 0, 1),
        mouth_round=gate * np.clip(smooth_noise(rng, t, (0.5, 2.0)) * 1.5, 0, 1),
        smile=cfg.smile * np.clip(0.35 + 0.9 * smooth_noise(rng, t, slow), 0, 1),
        brow=cfg.brow_raise * np.clip(1.3 * smooth_noise(rng, t, medium), -0.7, 1.0),
    )


def neutral_expression(rng: np.random.Generator) -> Expression:
    """One frame: frontal-ish, eyes open, mouth closed, light smile (the reference pose)."""
    one = lambda v: np.array([v], np.float64)  # noqa: E731
    return Expression(yaw=one(rng.uniform(-0.1, 0.1)), pitch=one(0.0), roll=one(rng.uniform(-0.05, 0.05)),
                      tx=one(0.0), ty=one(0.0), scale=one(1.0), eye_open=one(1.0), mouth_open=one(0.0),
                      mouth_round=one(0.0), smile=one(rng.uniform(0.0, 0.6)), brow=one(0.0))
