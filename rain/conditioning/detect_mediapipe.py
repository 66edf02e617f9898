"""Default detection backend: MediaPipe 0.10.x legacy solutions (models bundled in the wheel).

Pose (33 points, ``model_complexity=1``, the only bundled pose model) is mapped to OpenPose-18 and
the face mesh (468 points + 10 iris points with ``refine_landmarks=True``) to the iBUG-68 layout
through the tables below. The graphs live in the detector object: create one detector per stream
(MediaPipe graphs are not thread safe) and `close()` it when done.
"""
from __future__ import annotations

import logging

import numpy as np

from rain.conditioning.config import ConditionConfig
from rain.conditioning.landmarks import NUM_BODY, NUM_FACE, NUM_HAND, Landmarks

log = logging.getLogger(__name__)

# MediaPipe pose index for each OpenPose-18 point; -1 = neck, the mid-point of the shoulders.
# MediaPipe: 0 nose, 2/5 left/right eye, 7/8 left/right ear, 11/12 shoulders (left/right),
# 13/14 elbows, 15/16 wrists, 23/24 hips, 25/26 knees, 27/28 ankles.
MP_POSE_TO_OPENPOSE: tuple[int, ...] = (
    0, -1, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7,
)

# Face-mesh vertex for each iBUG-68 point (the person's right side is the image's left).
# Jaw: the face-oval silhouette from the right temple (234) under the chin (152) to the left (454),
# chosen as mirror pairs (234/454, 93/323, 132/361, 58/288, 172/397, 136/365, 150/379, 176/400).
# Brows: upper brow line, outer -> inner on the right, inner -> outer on the left.
# Nose: bridge 168, 197, 5 and tip 1; base 98, 97, subnasale 2, 326, 327.
# Eyes: corners 33/133 (right) and 362/263 (left), two upper and two lower lid points each.
# Lips: outer corners 61/291 with 40, 37, 0, 267, 270 above and 321, 314, 17, 84, 91 below;
# inner corners 78/308 with 81, 13, 311 above and 402, 14, 178 below.
MESH_TO_IBUG68: tuple[int, ...] = (
    234, 93, 132, 58, 172, 136, 150, 176, 152, 400, 379, 365, 397, 288, 361, 323, 454,
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    168, 197, 5, 1, 98, 97, 2, 326, 327,
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,
    78, 81, 13, 311, 308, 402, 14, 178,
)
assert len(MP_POSE_TO_OPENPOSE) == NUM_BODY and len(MESH_TO_IBUG68) == NUM_FACE

_OFF_FRAME_MARGIN = 0.1  # points further than this outside the crop get confidence 0


def _import_mediapipe():
    try:
        import mediapipe as mp  # heavy import, done lazily
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("mediapipe is not installed: pip install -r requirements.txt "
                          "(it pins mediapipe==0.10.14)") from exc
    if not hasattr(mp, "solutions"):
        raise ImportError(f"mediapipe {mp.__version__} has no legacy `mp.solutions` with bundled "
                          "models; install mediapipe==0.10.14")
    return mp


def _inside(xy: np.ndarray) -> np.ndarray:
    lo, hi = -_OFF_FRAME_MARGIN, 1.0 + _OFF_FRAME_MARGIN
    return np.all((xy >= lo) & (xy <= hi), axis=-1)


def pose_to_openpose(xy33: np.ndarray, vis33: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe pose (33, 2) + visibility (33,) -> OpenPose-18 (18, 2) + confidence (18,)."""
    idx = np.array(MP_POSE_TO_OPENPOSE)
    body = xy33[np.maximum(idx, 0)].astype(np.float32)  # (18, 2)
    conf = vis33[np.maximum(idx, 0)].astype(np.float32)  # (18,)
    body[1] = 0.5 * (xy33[11] + xy33[12])
    conf[1] = min(vis33[11], vis33[12])
    conf = np.where(_inside(body), conf, 0.0).astype(np.float32)
    return body, conf


def mesh_to_ibug68(mesh_xy: np.ndarray) -> np.ndarray:
    """Face mesh (>= 468, 2) -> iBUG-68 (68, 2)."""
    return mesh_xy[np.array(MESH_TO_IBUG68)].astype(np.float32)


class MediaPipeDetector:
    """Body / face / hands landmarks with MediaPipe; holds its own graphs (one per stream)."""

    name = "mediapipe"

    def __init__(self, body: bool = True, face: bool = True, hands: bool = ConditionConfig.detect_hands,
                 static_images: bool = ConditionConfig.static_images, min_detection_confidence: float = 0.5,
                 min_confidence: float = ConditionConfig.min_confidence) -> None:
        """``min_detection_confidence``: MediaPipe's own detection threshold; ``min_confidence``:
        the body-point confidence above which a body wrist decides which hand is which."""
        mp = _import_mediapipe()
        self.static_images, self.min_confidence = static_images, min_confidence
        kw = dict(static_image_mode=static_images, min_detection_confidence=min_detection_confidence)
        self._pose = mp.solutions.pose.Pose(model_complexity=1, **kw) if body else None
        self._face = (mp.solutions.face_mesh.FaceMesh(max_num_faces=1, refine_landmarks=True, **kw)
                      if face else None)
        self._hands = (mp.solutions.hands.Hands(max_num_hands=2, model_complexity=1, **kw)
                       if hands else None)

    def detect(self, image: np.ndarray) -> Landmarks | None:
        """Square uint8 RGB (S, S, 3) -> Landmarks, or None when no requested part is in view."""
        lm, found = Landmarks(), False
        if self._pose is not None:
            res = self._pose.process(image)
            if res.pose_landmarks is not None:
                pts = res.pose_landmarks.landmark
                xy = np.array([[p.x, p.y] for p in pts], np.float32)  # (33, 2)
                vis = np.array([p.visibility for p in pts], np.float32)  # (33,)
                lm.body, lm.body_conf = pose_to_openpose(xy, vis)
                found = True
        if self._face is not None:
            res = self._face.process(image)
            if res.multi_face_landmarks:
                mesh = np.array([[p.x, p.y] for p in res.multi_face_landmarks[0].landmark], np.float32)
                lm.face = mesh_to_ibug68(mesh)
                lm.face_conf = _inside(lm.face).astype(np.float32)
                found = True
        if self._hands is not None:
            found = self._detect_hands(image, lm) or found
        return lm if found else None

    def _detect_hands(self, image: np.ndarray, lm: Landmarks) -> bool:
        res = self._hands.process(image)
        if not res.multi_hand_landmarks:
            return False
        hands = np.full((2, NUM_HAND, 2), 0.5, np.float32)  # (2, 21, 2): [right, left]
        conf = np.zeros((2, NUM_HAND), np.float32)
        for hand, handed in zip(res.multi_hand_landmarks, res.multi_handedness):
            xy = np.array([[p.x, p.y] for p in hand.landmark], np.float32)  # (21, 2)
            side = _hand_side(xy[0], handed.classification[0].label, lm, self.min_confidence)
            hands[side], conf[side] = xy, handed.classification[0].score
        lm.hands, lm.hands_conf = hands, conf
        return True

    def close(self) -> None:
        for graph in (self._pose, self._face, self._hands):
            if graph is not None:
                graph.close()
        self._pose = self._face = self._hands = None


def _hand_side(wrist: np.ndarray, label: str, lm: Landmarks,
               min_conf: float = ConditionConfig.min_confidence) -> int:
    """0 = the person's right hand, 1 = left: the nearer body wrist decides when it was seen
    (confidence > min_conf), else MediaPipe's label, which assumes a mirrored (selfie) image and
    is swapped here."""
    right_ok, left_ok = lm.body_conf[4] > min_conf, lm.body_conf[7] > min_conf
    if right_ok or left_ok:
        d_right = np.linalg.norm(wrist - lm.body[4]) if right_ok else np.inf
        d_left = np.linalg.norm(wrist - lm.body[7]) if left_ok else np.inf
        return 0 if d_right <= d_left else 1
    return 0 if label == "Left" else 1
