"""The reference moved onto each frame of a face-world clip by the similarity of their true face landmarks (or warped by
all of them), with the random error a live path's maps have: what an aligned or warped refiner (rain/train/refine.py)
and a UNet that reads the aligned reference (rain/train/data.py) train on."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from rain.conditioning.align import face_similarity
from rain.conditioning.warp import face_warp
from rain.images import to_tensor
from rain.models.refiner import aligned
from rain.worlds.body import Clip


def frame_similarities(clip: Clip, size: int, jitter: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """(t, 2, 3) float32: the similarity that maps the clip's reference face onto each frame's (their true landmarks).
    `jitter` (px) moves each map by a random similarity about the frame's centre, as the live path's maps err
    (MediaPipe on a cartoon reference and on the camera face; docs/REFINER.md, session 25): a shift of `jitter` px,
    a scale and a rotation of `jitter` / 64 (log scale, radians) per clip, and half of each again per frame."""
    similarities = np.stack([face_similarity(clip.reference_landmarks, lm, size) for lm in clip.landmarks])
    if jitter:
        clip_error = _random_similarity(rng, jitter, size)
        similarities = np.stack([_then(_then(m, clip_error), _random_similarity(rng, jitter / 2, size))
                                 for m in similarities])
    return similarities.astype(np.float32)


def frame_warps(clip: Clip, size: int, jitter: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """(t, G, G, 2) float32: the warp that moves the clip's reference face onto each frame's (`face_warp`, their true
    landmarks). `jitter` (px) moves the reference's points once per clip, as the live path's reference face errs (the
    model's landmarker, found once per stream; the frame's points are those its condition is drawn from): a random
    similarity of `jitter` px (as `frame_similarities`'s per clip), then each point by N(0, `jitter`) px."""
    reference = clip.reference_landmarks
    if jitter:
        error = _random_similarity(rng, jitter, size)
        points = reference.face * size @ error[:, :2].T + error[:, 2] + rng.normal(0, jitter, reference.face.shape)
        reference = dataclasses.replace(reference, face=(points / size).astype(np.float32))
    return np.stack([face_warp(reference, lm, size) for lm in clip.landmarks]).astype(np.float32)


def frame_references(clip: Clip, size: int, jitter: float = 0.0, rng: np.random.Generator | None = None) -> torch.Tensor:
    """The clip's reference moved onto each of its frames by `frame_similarities`, (t, 3, H, W) in [0, 1]."""
    return aligned(to_tensor(clip.reference)[None], torch.from_numpy(frame_similarities(clip, size, jitter, rng)))


def _random_similarity(rng: np.random.Generator, sigma: float, size: int) -> np.ndarray:
    """(2, 3) a random similarity about the centre of a size x size image: shift sigma px, scale and rotation sigma / 64."""
    scale, angle = np.exp(rng.normal(0, sigma / 64)), rng.normal(0, sigma / 64)
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.full(2, (size - 1) / 2)
    return np.concatenate([rotation, (centre - rotation @ centre + rng.normal(0, sigma, 2))[:, None]], 1)


def _then(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The (2, 3) map that applies `first`, then `second`."""
    return np.concatenate([second[:, :2] @ first[:, :2], (second[:, :2] @ first[:, 2] + second[:, 2])[:, None]], 1)
