"""Condition images, drawn by the same functions for training data and for live use.

All functions are pure and deterministic: landmarks (normalised to the square crop) in, uint8 RGB
(size, size, 3) out on a black background. Sub-pixel positions are kept (OpenCV ``shift`` bits),
so slow motion moves the drawing smoothly.
- `draw_body`: OpenPose-18 style, each limb an ellipse in the usual limb colour at 60 % strength,
  each joint a full-colour disc; optional hand skeletons (hue per finger bone).
- `draw_face_dots`: the published RAIN face condition, 26 filled dots (see `FACE_DOT_GROUPS`).
- `draw_face_contours`: a richer alternative, coloured polylines of the 68-point contours.
- `draw_style`: the frame itself, optionally with a Canny edge map.
"""
from __future__ import annotations

import colorsys

import cv2
import numpy as np

from rain.conditioning.config import ConditionConfig
from rain.conditioning.crop import resize_square
from rain.conditioning.landmarks import BODY_LIMBS, HAND_EDGES, NUM_BODY, Landmarks, face_size

_SHIFT = 4  # OpenCV fixed-point bits for sub-pixel drawing
_ONE = 1 << _SHIFT

# The usual OpenPose colour table: limb i and joint i use colour i (hue steps of ~20 degrees).
OPENPOSE_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)
LIMB_STRENGTH = 0.6  # limbs are drawn at 60 % of their colour, joints at full colour

# The 26 dots of the face condition: (group, RGB colour, [subset of the 68 points per dot]).
FACE_DOT_GROUPS: tuple[tuple[str, tuple[int, int, int], tuple[tuple[int, ...], ...]], ...] = (
    ("jaw", (255, 255, 255), ((0, 1, 2), (4, 5, 6), (7, 8, 9), (10, 11, 12), (14, 15, 16))),
    ("right_brow", (255, 128, 0), ((17, 18), (19,), (20, 21))),
    ("left_brow", (255, 255, 0), ((22, 23), (24,), (25, 26))),
    ("inner_lip", (255, 0, 128), ((60,), (61, 62, 63), (64,), (65, 66, 67))),
    ("nose", (0, 128, 255), ((30, 33),)),
    ("right_eye", (0, 255, 0), ((36,), (37,), (38,), (39,), (40, 41))),
    ("left_eye", (0, 255, 255), ((42,), (43,), (44,), (45,), (46, 47))),
)
NUM_FACE_DOTS = sum(len(subsets) for _, _, subsets in FACE_DOT_GROUPS)
assert NUM_FACE_DOTS == 26

# Contours of the richer face drawing: (RGB colour, point indices, closed).
FACE_CONTOURS: tuple[tuple[tuple[int, int, int], tuple[int, ...], bool], ...] = (
    ((255, 255, 255), tuple(range(0, 17)), False),
    ((255, 128, 0), tuple(range(17, 22)), False),
    ((255, 255, 0), tuple(range(22, 27)), False),
    ((0, 128, 255), tuple(range(27, 31)), False),
    ((0, 128, 255), tuple(range(31, 36)), False),
    ((0, 255, 0), tuple(range(36, 42)), True),
    ((0, 255, 255), tuple(range(42, 48)), True),
    ((255, 0, 0), tuple(range(48, 60)), True),
    ((255, 0, 128), tuple(range(60, 68)), True),
)


def _fixed(p: np.ndarray, size: int) -> tuple[int, int]:
    """Normalised (2,) point -> OpenCV fixed-point pixel coordinates."""
    q = np.clip(np.asarray(p, np.float64) * size, -4 * size, 5 * size)
    return int(round(q[0] * _ONE)), int(round(q[1] * _ONE))


def _disc(canvas: np.ndarray, p: np.ndarray, radius: float, color: tuple[int, int, int]) -> None:
    cv2.circle(canvas, _fixed(p, canvas.shape[0]), int(round(max(radius, 0.5) * _ONE)), color,
               thickness=-1, lineType=cv2.LINE_AA, shift=_SHIFT)


def _limb(canvas: np.ndarray, a: np.ndarray, b: np.ndarray, half_width: float,
          color: tuple[int, ...]) -> None:
    """An ellipse spanning a-b (pixels) with the given half width."""
    centre, d = (a + b) / 2.0, b - a
    half_len = max(float(np.hypot(*d)) / 2.0, half_width)
    ang = np.arctan2(d[1], d[0])
    t = np.deg2rad(np.arange(0, 360, 10))
    local = np.stack([half_len * np.cos(t), half_width * np.sin(t)], 1)  # (36, 2)
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    poly = np.round((centre + local @ rot.T) * _ONE).astype(np.int32)
    cv2.fillConvexPoly(canvas, poly, color, lineType=cv2.LINE_AA, shift=_SHIFT)


def draw_body(lm: Landmarks, size: int, line_width: float = ConditionConfig.body_line_width,
              min_conf: float = ConditionConfig.min_confidence,
              draw_hands: bool = ConditionConfig.draw_hands) -> np.ndarray:
    """OpenPose-18 body (plus hands when present) -> uint8 RGB (size, size, 3)."""
    canvas = np.zeros((size, size, 3), np.uint8)
    half = max(1.0, line_width * size)
    pts = lm.body.astype(np.float64) * size  # (18, 2) pixels
    seen = lm.body_conf > min_conf  # (18,)
    for i, (a, b) in enumerate(BODY_LIMBS):
        if seen[a] and seen[b]:
            color = tuple(int(round(c * LIMB_STRENGTH)) for c in OPENPOSE_COLORS[i])
            _limb(canvas, pts[a], pts[b], half, color)
    for j in range(NUM_BODY):
        if seen[j]:
            _disc(canvas, lm.body[j], half, OPENPOSE_COLORS[j])
    if draw_hands and lm.hands is not None:
        for hand, conf in zip(lm.hands, lm.hands_conf):
            _draw_hand(canvas, hand, conf > min_conf, max(1.0, half / 2))
    return canvas


def _draw_hand(canvas: np.ndarray, hand: np.ndarray, seen: np.ndarray, width: float) -> None:
    size = canvas.shape[0]
    for k, (a, b) in enumerate(HAND_EDGES):
        if seen[a] and seen[b]:
            rgb = colorsys.hsv_to_rgb(k / len(HAND_EDGES), 1.0, 1.0)
            color = tuple(int(round(c * 255)) for c in rgb)
            cv2.line(canvas, _fixed(hand[a], size), _fixed(hand[b], size), color,
                     thickness=max(1, int(round(width))), lineType=cv2.LINE_AA, shift=_SHIFT)
    for j in np.flatnonzero(seen):
        _disc(canvas, hand[j], width, (0, 0, 255))


def face_dot_positions(face: np.ndarray) -> np.ndarray:
    """The 26 dot centres (26, 2): each the centroid of its subset of the 68 points."""
    return np.array([face[list(sub)].mean(0) for _, _, subsets in FACE_DOT_GROUPS for sub in subsets],
                    np.float64)


def draw_face_dots(face: np.ndarray, size: int, radius: float = ConditionConfig.face_dot_radius,
                   face_conf: np.ndarray | None = None,
                   min_conf: float = ConditionConfig.min_confidence) -> np.ndarray:
    """The 26-dot face condition: 68 points (68, 2) -> uint8 RGB (size, size, 3).
    Dot radius is ``radius`` x the face size (jaw width); a dot is skipped when any of its
    points has confidence <= min_conf."""
    canvas = np.zeros((size, size, 3), np.uint8)
    r = radius * face_size(face) * size
    for _, color, subsets in FACE_DOT_GROUPS:
        for sub in subsets:
            if face_conf is None or np.all(face_conf[list(sub)] > min_conf):
                _disc(canvas, face[list(sub)].mean(0), r, color)
    return canvas


def draw_face_contours(face: np.ndarray, size: int, width: float = ConditionConfig.face_line_width,
                       face_conf: np.ndarray | None = None,
                       min_conf: float = ConditionConfig.min_confidence) -> np.ndarray:
    """Coloured polylines of the 68-point contours -> uint8 RGB (size, size, 3)."""
    canvas = np.zeros((size, size, 3), np.uint8)
    thick = max(1, int(round(width * face_size(face) * size)))
    for color, idx, closed in FACE_CONTOURS:
        if face_conf is not None and not np.all(face_conf[list(idx)] > min_conf):
            continue
        pts = np.array([_fixed(face[i], size) for i in idx], np.int32)
        cv2.polylines(canvas, [pts], closed, color, thick, lineType=cv2.LINE_AA, shift=_SHIFT)
    return canvas


def draw_style(square: np.ndarray, size: int, edges: str = ConditionConfig.style_edges) -> np.ndarray:
    """Style-transfer condition: the (cropped) frame resized to (size, size, 3), optionally with a
    Canny edge map: "overlay" paints edges white over the frame, "only" returns the edges alone."""
    img = np.ascontiguousarray(resize_square(square, size))
    if edges == "none":
        return img.copy() if img is square else img
    if edges not in ("overlay", "only"):
        raise ValueError(f"edges must be 'none', 'overlay' or 'only', got {edges!r}")
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    edge = cv2.Canny(cv2.GaussianBlur(gray, (3, 3), 0), 100, 200) > 0  # (size, size)
    out = np.zeros_like(img) if edges == "only" else img.copy()
    out[edge] = 255
    return out
