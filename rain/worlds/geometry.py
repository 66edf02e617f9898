"""Projection of a 3-D skeleton through the camera into per-frame 2-D drawing geometry.

Camera: a (T, 3) track ``[scale, cx, cy]``: a body point (X, Y) lands at the normalised image point
``(cx + scale * X, cy + scale * Y)`` (weak perspective; ``scale`` = frame sides per figure unit).
Draw order comes from the body Z (towards the camera): parts with smaller Z are drawn first.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np

from rain.conditioning.landmarks import Landmarks, NUM_BODY, NUM_FACE
from rain.worlds.skeleton import Build, Skeleton3D

# Drawable parts: name -> (point ids in `Geometry.points`, depth bias). Ids 0-17 are the joints,
# 18/19 the hands [r, l], 20/21 the toes [r, l], 22 the head centre.
PARTS: Mapping[str, tuple[tuple[int, ...], float]] = MappingProxyType({
    "torso": ((1, 8, 11), 0.0), "head": ((22,), 0.03),
    "r_upper_arm": ((2, 3), 0.010), "r_forearm": ((3, 4), 0.012), "r_hand": ((18,), 0.014),
    "l_upper_arm": ((5, 6), 0.010), "l_forearm": ((6, 7), 0.012), "l_hand": ((19,), 0.014),
    "r_thigh": ((8, 9), -0.02), "r_shin": ((9, 10), -0.02), "r_foot": ((20,), -0.019),
    "l_thigh": ((11, 12), -0.02), "l_shin": ((12, 13), -0.02), "l_foot": ((21,), -0.019),
})
PART_NAMES: tuple[str, ...] = tuple(PARTS)


@dataclass(frozen=True)
class Geometry:
    """Normalised 2-D geometry of every frame of a motion under a camera."""

    points: np.ndarray  # (T, 23, 2) joints 0-17, hands 18-19, toes 20-21, head centre 22
    conf: np.ndarray  # (T, 18) OpenPose confidence: 1 seen and inside the frame, else 0
    order: np.ndarray  # (T, len(PARTS)) part indices, farthest first
    torso: np.ndarray  # (T, 4, 2) torso quad: top image-left, top right, bottom right, bottom left
    head_angle: np.ndarray  # (T,) ellipse angle of the head (degrees, OpenCV convention)
    head_facing: np.ndarray  # (T,) Z of the face direction: 1 frontal, 0 profile, -1 back
    eye_seen: np.ndarray  # (T, 2) bool, [right, left] eye facing the camera
    scale: np.ndarray  # (T,) camera scale (frame sides per figure unit)

    def __len__(self) -> int:
        return len(self.points)

    def landmarks(self, t: int) -> Landmarks:
        """OpenPose-18 `Landmarks` of frame t (no face / hands)."""
        return Landmarks(self.points[t, :NUM_BODY], self.conf[t],
                         np.full((NUM_FACE, 2), 0.5, np.float32), np.zeros(NUM_FACE, np.float32))


def _torso_quad(sk: Skeleton3D, b: Build, xy: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Torso outline of an elliptic cylinder from the shoulders to just below the hips."""
    top, bottom = xy[:, [2, 5]].mean(1), xy[:, [8, 11]].mean(1)  # (T, 2)
    spine = top - bottom
    spine /= np.maximum(np.linalg.norm(spine, axis=1, keepdims=True), 1e-9)
    n = np.stack([-spine[:, 1], spine[:, 0]], -1)  # (T, 2) image-rightwards for an upright body
    lateral, forward = sk.trunk_rot[:, :2, 0], sk.trunk_rot[:, :2, 2]  # (T, 2) projected axes
    half_top = b.shoulder_w / 2 + 0.3 * b.arm_w
    half_bottom = max(half_top * b.waist, b.hip_w / 2 + 0.45 * b.leg_w)

    def extent(w: float) -> np.ndarray:
        return np.hypot(w * (lateral * n).sum(1), b.torso_depth * (forward * n).sum(1))[:, None] * scale[:, None]

    top = top + spine * (0.35 * b.arm_w) * scale[:, None]
    bottom = bottom - spine * (0.35 * b.leg_w) * scale[:, None]
    e_top, e_bottom = extent(half_top), extent(half_bottom)
    return np.stack([top - n * e_top, top + n * e_top, bottom + n * e_bottom, bottom - n * e_bottom], 1)


def project(sk: Skeleton3D, b: Build, camera: np.ndarray) -> Geometry:
    """3-D skeleton + camera (T, 3) -> `Geometry`."""
    scale, centre = camera[:, 0], camera[:, 1:3]
    pts3 = np.concatenate([sk.joints, sk.hands, sk.toes, sk.head[:, None]], 1)  # (T, 23, 3)
    xy = centre[:, None] + scale[:, None, None] * pts3[..., :2]  # (T, 23, 2)
    inside = np.all((xy[:, :NUM_BODY] >= 0.0) & (xy[:, :NUM_BODY] <= 1.0), axis=-1)
    conf = (inside & sk.head_seen).astype(np.float32)
    depth = np.stack([pts3[:, list(ids), 2].mean(1) + bias for ids, bias in PARTS.values()], 1)
    down = sk.head_rot[:, :2, 1]  # (T, 2) image direction of the head's down axis
    angle = np.degrees(np.arctan2(down[:, 1], down[:, 0])) - 90.0
    return Geometry(
        points=xy.astype(np.float32), conf=conf, order=np.argsort(depth, axis=1, kind="stable"),
        torso=_torso_quad(sk, b, xy, scale), head_angle=angle, head_facing=sk.head_rot[:, 2, 2],
        eye_seen=sk.head_seen[:, [14, 15]], scale=scale.astype(np.float64))
