"""Joint angles + bone lengths -> 3-D skeleton -> projected OpenPose-18 geometry.

Body coordinates (units: roughly the figure's height): X to the image right for a person facing
the camera (the person's left), Y down, Z towards the camera. The pelvis is at the origin, the
feet stand on the floor ``Y = thigh + shin``. A pose is a vector of `PARAMS` (angles in radians);
a motion is a (T, P) array of them. Everything here is vectorised over T.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np

PARAMS: tuple[str, ...] = (
    "root_x", "root_y", "yaw", "roll", "pitch", "head_yaw", "head_pitch", "head_roll",
    "r_abd", "r_flex", "r_elbow", "r_twist", "l_abd", "l_flex", "l_elbow", "l_twist",
    "r_hip_abd", "r_hip_flex", "r_knee", "l_hip_abd", "l_hip_flex", "l_knee",
)
P: Mapping[str, int] = MappingProxyType({name: i for i, name in enumerate(PARAMS)})  # name -> column
NUM_PARAMS = len(PARAMS)

# Plausible joint ranges (radians), applied after every motion: name -> (low, high).
LIMITS: Mapping[str, tuple[float, float]] = MappingProxyType({
    "root_y": (-0.5, 0.0), "roll": (-0.3, 0.3), "pitch": (-0.2, 0.5), "head_yaw": (-1.1, 1.1),
    "head_pitch": (-0.5, 0.5), "head_roll": (-0.4, 0.4), "r_abd": (-0.3, 2.9), "l_abd": (-0.3, 2.9),
    "r_flex": (-0.8, 2.9), "l_flex": (-0.8, 2.9), "r_elbow": (0.0, 2.5), "l_elbow": (0.0, 2.5), "r_twist": (-0.5, 2.0),
    "l_twist": (-0.5, 2.0), "r_hip_abd": (-0.2, 0.8), "l_hip_abd": (-0.2, 0.8),
    "r_hip_flex": (-0.6, 1.9), "l_hip_flex": (-0.6, 1.9), "r_knee": (0.0, 2.3), "l_knee": (0.0, 2.3),
})

# Head feature offsets in the head frame, in units of the head radius: OpenPose ids 0, 14-17.
_HEAD_POINTS = MappingProxyType({0: (0.0, 0.2, 1.0), 14: (-0.4, -0.1, 0.85), 15: (0.4, -0.1, 0.85),
                16: (-1.0, 0.05, -0.05), 17: (1.0, 0.05, -0.05)})
# A head point is seen when its outward normal's Z (towards the camera) exceeds this.
_FACING_MIN = MappingProxyType({0: 0.05, 14: 0.2, 15: 0.2, 16: -0.35, 17: -0.35})


@dataclass(frozen=True)
class Build:
    """A character's proportions (units: figure height) and limb widths."""

    head_r: float = 0.068  # head half-width
    head_aspect: float = 1.1  # head half-height / half-width
    neck_len: float = 0.05  # neck point (between the shoulders) to the bottom of the head
    torso_len: float = 0.3  # pelvis centre to neck point
    shoulder_w: float = 0.22  # distance between the shoulder joints
    hip_w: float = 0.15  # distance between the hip joints
    upper_arm: float = 0.165  # shoulder -> elbow
    forearm: float = 0.145  # elbow -> wrist
    thigh: float = 0.24  # hip -> knee
    shin: float = 0.23  # knee -> ankle
    arm_w: float = 0.045  # arm capsule thickness
    leg_w: float = 0.06  # leg capsule thickness
    torso_depth: float = 0.07  # torso half-depth (front to back), shows in profile
    waist: float = 0.85  # torso half-width at the hips / at the shoulders

    @property
    def height(self) -> float:
        """Head top to ankle for a straight standing pose."""
        return self.torso_len + self.neck_len + 2 * self.head_r * self.head_aspect + self.thigh + self.shin


@dataclass(frozen=True)
class Skeleton3D:
    """3-D points of a motion (body coordinates, floor-grounded)."""

    joints: np.ndarray  # (T, 18, 3) OpenPose-18 joints
    head: np.ndarray  # (T, 3) head centre
    head_rot: np.ndarray  # (T, 3, 3) head frame (columns: right, down, forward)
    trunk_rot: np.ndarray  # (T, 3, 3) trunk frame
    hands: np.ndarray  # (T, 2, 3) hand centres [right, left]
    toes: np.ndarray  # (T, 2, 3) toe tips [right, left]
    head_seen: np.ndarray  # (T, 18) bool, False for head points facing away (other joints True)


def _rot(axis: str, a: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) about a body axis."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    rows = {"x": [[o, z, z], [z, c, -s], [z, s, c]],
            "y": [[c, z, s], [z, o, z], [-s, z, c]],
            "z": [[c, -s, z], [s, c, z], [z, z, o]]}[axis]
    return np.stack([np.stack(r, -1) for r in rows], -2)


def _apply(rot: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.einsum("tij,tj->ti", rot, v)


def _swing(abd: np.ndarray, flex: np.ndarray, side: float) -> np.ndarray:
    """Direction (T, 3) of a limb hanging down, abducted sideways then flexed forwards."""
    y = np.cos(abd)
    return np.stack([side * np.sin(abd), y * np.cos(flex), y * np.sin(flex)], -1)


def _bend(u: np.ndarray, angle: np.ndarray, twist: np.ndarray, side: float) -> np.ndarray:
    """Direction of the distal segment: ``u`` bent by ``angle`` towards the forward normal
    (twist 0) or, for twist pi/2, within the frontal plane away from the body's midline."""
    fwd = np.array([0.0, 0.0, 1.0]) - u[:, 2:3] * u  # (T, 3) forward part normal to u
    up = np.array([0.0, -1.0, 0.0]) - u[:, 1:2] * u
    n = np.linalg.norm(fwd, axis=1, keepdims=True)
    n_up = np.linalg.norm(up, axis=1, keepdims=True)
    p1 = np.where(n > 1e-3, fwd / np.maximum(n, 1e-9), up / np.maximum(n_up, 1e-9))  # limb along Z: use up
    p2 = side * np.cross(u, p1)
    t = twist[:, None]
    return np.cos(angle)[:, None] * u + np.sin(angle)[:, None] * (np.cos(t) * p1 + np.sin(t) * p2)


def clamp_params(params: np.ndarray) -> np.ndarray:
    """Clip every joint to its plausible range (`LIMITS`); returns a new (T, P) array."""
    out = params.copy()
    for name, (lo, hi) in LIMITS.items():
        out[:, P[name]] = np.clip(out[:, P[name]], lo, hi)
    return out


def _arm(c: np.ndarray, b: Build, side: float, pre: str) -> tuple[np.ndarray, ...]:
    """Shoulder, elbow, wrist and hand centre (trunk frame, relative to the pelvis)."""
    t = len(c)
    shoulder = np.tile([side * b.shoulder_w / 2, -b.torso_len + 0.015, 0.0], (t, 1))
    u = _swing(c[:, P[pre + "_abd"]], c[:, P[pre + "_flex"]], side)
    v = _bend(u, c[:, P[pre + "_elbow"]], c[:, P[pre + "_twist"]], side)
    elbow = shoulder + b.upper_arm * u
    wrist = elbow + b.forearm * v
    return shoulder, elbow, wrist, wrist + 0.35 * b.forearm * v


def _leg(c: np.ndarray, b: Build, side: float, pre: str) -> tuple[np.ndarray, ...]:
    """Hip, knee, ankle (yaw-free body frame, relative to the pelvis); knees bend backwards."""
    t = len(c)
    hip = np.tile([side * b.hip_w / 2, 0.0, 0.0], (t, 1))
    u = _swing(c[:, P[pre + "_hip_abd"]], c[:, P[pre + "_hip_flex"]], side)
    v = _bend(u, c[:, P[pre + "_knee"]], np.full(t, np.pi), side)
    knee = hip + b.thigh * u
    return hip, knee, knee + b.shin * v


def skeleton_3d(params: np.ndarray, b: Build) -> Skeleton3D:
    """Pose parameters (T, P) -> 3-D skeleton, feet kept on the floor (plus ``root_y`` jumps)."""
    c = clamp_params(params)
    yaw = _rot("y", c[:, P["yaw"]])
    trunk = yaw @ _rot("x", -c[:, P["pitch"]]) @ _rot("z", c[:, P["roll"]])
    j = np.zeros((len(c), 18, 3))
    hands = np.zeros((len(c), 2, 3))
    for k, (side, pre, ids) in enumerate(((-1.0, "r", (2, 3, 4)), (1.0, "l", (5, 6, 7)))):
        *arm, hand = _arm(c, b, side, pre)
        for p, i in zip(arm, ids):
            j[:, i] = _apply(trunk, p)
        hands[:, k] = _apply(trunk, hand)
    for side, pre, ids in ((-1.0, "r", (8, 9, 10)), (1.0, "l", (11, 12, 13))):
        for k, p in enumerate(_leg(c, b, side, pre)):
            j[:, ids[k]] = _apply(yaw, p)
    neck_local = np.tile([0.0, -b.torso_len, 0.0], (len(c), 1))
    j[:, 1] = _apply(trunk, neck_local)
    head_rot = trunk @ _rot("y", c[:, P["head_yaw"]]) @ _rot("x", -c[:, P["head_pitch"]]) \
        @ _rot("z", c[:, P["head_roll"]])
    ry = b.head_r * b.head_aspect
    head = j[:, 1] + _apply(head_rot, np.tile([0.0, -(b.neck_len + ry), 0.0], (len(c), 1)))
    seen = np.ones((len(c), 18), bool)
    for i, (x, y, z) in _HEAD_POINTS.items():
        off = np.tile([x * b.head_r, y * ry, z * b.head_r], (len(c), 1))
        j[:, i] = head + _apply(head_rot, off)
        normal = _apply(head_rot, np.tile([x, 0.0, z], (len(c), 1)))
        seen[:, i] = normal[:, 2] / np.linalg.norm(normal, axis=1) > _FACING_MIN[i]
    fwd = _apply(yaw, np.tile([0.0, 0.0, 1.0], (len(c), 1)))
    toes = j[:, [10, 13]] + (b.leg_w * 1.1) * fwd[:, None] + np.array([0.0, 0.03, 0.0])  # sole below the ankle
    ground = b.thigh + b.shin - j[:, [10, 13], 1].max(1)  # (T,) lift so the lower foot stands
    shift = np.stack([c[:, P["root_x"]], ground + c[:, P["root_y"]], np.zeros(len(c))], -1)[:, None]
    return Skeleton3D(j + shift, head + shift[:, 0], head_rot, trunk, hands + shift, toes + shift, seen)
