"""The `Landmarks` record every detector returns, and the keypoint layouts it uses.

Coordinates are normalised ``(x, y)`` in ``[0, 1]`` relative to the *cropped square* frame
(see `crop.py`): ``x`` grows to the right of the image, ``y`` grows downwards. A point that was
not seen has confidence 0; its coordinates are still finite (held or neutral values, never NaN and
never a jump to ``(0, 0)``), so downstream code only has to look at the confidences.

Layouts:
- body: OpenPose-18 (COCO-18) order. "Right" is the person's right, which is on the image's left
  when the person faces the camera.
- face: the 68-point iBUG / 300-W layout (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47,
  lips 48-67); "right eye" 36-41 is again the person's right.
- hands: optional, 21 points each in the usual MediaPipe / COCO-WholeBody hand order.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from rain.conditioning.config import ConditionConfig

BODY_NAMES: tuple[str, ...] = (
    "nose", "neck",
    "r_shoulder", "r_elbow", "r_wrist",
    "l_shoulder", "l_elbow", "l_wrist",
    "r_hip", "r_knee", "r_ankle",
    "l_hip", "l_knee", "l_ankle",
    "r_eye", "l_eye", "r_ear", "l_ear",
)
NUM_BODY = 18
NUM_FACE = 68
NUM_HAND = 21

# OpenPose-18 limbs (parent, child), in the order of the usual limb colour table.
BODY_LIMBS: tuple[tuple[int, int], ...] = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7),
    (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
    (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)

# Hand skeleton: wrist 0, thumb 1-4, index 5-8, middle 9-12, ring 13-16, little 17-20.
HAND_EDGES: tuple[tuple[int, int], ...] = tuple(
    (0 if j == 0 else 4 * f + j, 4 * f + j + 1) for f in range(5) for j in range(4)
)

# iBUG-68 index groups.
JAW = tuple(range(0, 17))
RIGHT_BROW = tuple(range(17, 22))
LEFT_BROW = tuple(range(22, 27))
BROWS = RIGHT_BROW + LEFT_BROW
NOSE_BRIDGE = tuple(range(27, 31))
NOSE_BASE = tuple(range(31, 36))
NOSE = NOSE_BRIDGE + NOSE_BASE
RIGHT_EYE = tuple(range(36, 42))
LEFT_EYE = tuple(range(42, 48))
OUTER_LIP = tuple(range(48, 60))
INNER_LIP = tuple(range(60, 68))
MOUTH = OUTER_LIP + INNER_LIP

# Horizontal mirror of the 68 points (i <-> FACE_MIRROR[i]) and of the 18 body points.
FACE_MIRROR: tuple[int, ...] = (
    tuple(range(16, -1, -1)) + tuple(range(26, 16, -1)) + (27, 28, 29, 30)
    + (35, 34, 33, 32, 31) + (45, 44, 43, 42, 47, 46) + (39, 38, 37, 36, 41, 40)
    + (54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55) + (64, 63, 62, 61, 60, 67, 66, 65)
)
BODY_MIRROR: tuple[int, ...] = (0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16)


def _f32(a: np.ndarray | list, shape: tuple[int, ...], name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float32)
    if arr.shape != shape:
        raise ValueError(f"Landmarks.{name} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"Landmarks.{name} contains NaN or inf; mark missing points with conf 0")
    return arr


@dataclass
class Landmarks:
    """Body, face and optional hand keypoints of one person in one (cropped, square) frame."""

    body: np.ndarray = field(default_factory=lambda: np.full((NUM_BODY, 2), 0.5, np.float32))  # (18, 2)
    body_conf: np.ndarray = field(default_factory=lambda: np.zeros(NUM_BODY, np.float32))  # (18,)
    face: np.ndarray = field(default_factory=lambda: np.full((NUM_FACE, 2), 0.5, np.float32))  # (68, 2)
    face_conf: np.ndarray = field(default_factory=lambda: np.zeros(NUM_FACE, np.float32))  # (68,)
    hands: np.ndarray | None = None  # (2, 21, 2): [right, left], or None when not detected
    hands_conf: np.ndarray | None = None  # (2, 21,)

    def __post_init__(self) -> None:
        self.body = _f32(self.body, (NUM_BODY, 2), "body")
        self.body_conf = _f32(self.body_conf, (NUM_BODY,), "body_conf")
        self.face = _f32(self.face, (NUM_FACE, 2), "face")
        self.face_conf = _f32(self.face_conf, (NUM_FACE,), "face_conf")
        if (self.hands is None) != (self.hands_conf is None):
            raise ValueError("Landmarks.hands and hands_conf must both be set or both be None")
        if self.hands is not None:
            self.hands = _f32(self.hands, (2, NUM_HAND, 2), "hands")
            self.hands_conf = _f32(self.hands_conf, (2, NUM_HAND), "hands_conf")

    def has_body(self, threshold: float = ConditionConfig.min_confidence) -> bool:
        """True when the neck or at least three body points are confidently seen."""
        seen = self.body_conf > threshold
        return bool(seen[1] or seen.sum() >= 3)

    def has_face(self, threshold: float = ConditionConfig.min_confidence) -> bool:
        """True when at least half of the 68 face points are confidently seen."""
        return bool((self.face_conf > threshold).sum() >= NUM_FACE // 2)

    def copy(self) -> "Landmarks":
        return replace(
            self, body=self.body.copy(), body_conf=self.body_conf.copy(), face=self.face.copy(),
            face_conf=self.face_conf.copy(),
            hands=None if self.hands is None else self.hands.copy(),
            hands_conf=None if self.hands_conf is None else self.hands_conf.copy(),
        )

    def to_dict(self) -> dict[str, np.ndarray]:
        """Arrays for `np.savez` (training data caches); inverse of `from_dict`."""
        out = {"body": self.body, "body_conf": self.body_conf, "face": self.face,
               "face_conf": self.face_conf}
        if self.hands is not None:
            out["hands"], out["hands_conf"] = self.hands, self.hands_conf
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Landmarks":
        return cls(body=d["body"], body_conf=d["body_conf"], face=d["face"],
                   face_conf=d["face_conf"], hands=d.get("hands"), hands_conf=d.get("hands_conf"))


def mirror(lm: Landmarks) -> Landmarks:
    """The landmarks of the horizontally flipped frame (x -> 1 - x, left/right swapped)."""
    def flip(p: np.ndarray) -> np.ndarray:
        q = p.copy()
        q[..., 0] = 1.0 - q[..., 0]
        return q

    body_idx, face_idx = list(BODY_MIRROR), list(FACE_MIRROR)
    hands = None if lm.hands is None else flip(lm.hands)[::-1].copy()
    hands_conf = None if lm.hands_conf is None else lm.hands_conf[::-1].copy()
    return Landmarks(flip(lm.body)[body_idx], lm.body_conf[body_idx], flip(lm.face)[face_idx],
                     lm.face_conf[face_idx], hands, hands_conf)


def face_size(face: np.ndarray) -> float:
    """Face size used for dot radii and retarget offsets: the jaw width |p16 - p0|."""
    return float(np.linalg.norm(face[16] - face[0]))


def face_axes(face: np.ndarray) -> np.ndarray:
    """The face's own axes as rows of a 2x2 matrix: x along the eye line (from the person's right
    eye to the left eye, image-rightwards for an upright face), y perpendicular (towards the chin).
    ``local = (p - origin) @ axes.T`` and ``p = origin + local @ axes``."""
    d = face[list(LEFT_EYE)].mean(0) - face[list(RIGHT_EYE)].mean(0)
    n = float(np.linalg.norm(d))
    x = d / n if n > 1e-9 else np.array([1.0, 0.0])
    return np.array([[x[0], x[1]], [-x[1], x[0]]], dtype=np.float64)
