"""Draw one frame of a character from its `Geometry`: flat-coloured capsules and polygons, drawn
far to near with OpenCV anti-aliasing and sub-pixel positions (no per-pixel Python).

``human=True`` adds the features a pose detector expects (face with eyes, brows, nose and mouth,
a neck, rounded shoulders); the training frames use the plain puppet.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import cv2
import numpy as np

from rain.worlds.characters import Character
from rain.worlds.geometry import PART_NAMES, Geometry

_SHIFT = 4
_ONE = 1 << _SHIFT
_AA = cv2.LINE_AA
_CIRCLE = np.stack([np.cos(np.linspace(0, 2 * np.pi, 33)[:-1]), np.sin(np.linspace(0, 2 * np.pi, 33)[:-1])], 1)


@dataclass(frozen=True)
class Shapes:
    """A character's head and hair outlines in head units (x / head_r, y / head half-height)."""

    head: np.ndarray  # (N, 2) convex head outline
    cap: np.ndarray  # (M, 2) hair covering the top of the head (empty: bald)
    back: np.ndarray  # (K, 2) hair behind the head (long hair / bun), empty when none
    full: np.ndarray  # (N, 2) hair seen from behind (covers the head)


def _head_outline(shape: str) -> np.ndarray:
    if shape == "round":
        return _CIRCLE * np.array([1.0, 0.92])
    if shape == "box":  # a superellipse: rounded square
        c, s = _CIRCLE[:, 0], _CIRCLE[:, 1]
        return np.stack([np.sign(c) * np.abs(c) ** 0.5, np.sign(s) * np.abs(s) ** 0.5], 1) * 0.95
    return _CIRCLE.copy()


def make_shapes(ch: Character) -> Shapes:
    """Precompute the head / hair outlines of a character."""
    head = _head_outline(ch.head_shape)
    empty = np.zeros((0, 2))
    if ch.hair == "none":
        return Shapes(head, empty, empty, empty)
    top = head[head[:, 1] < -0.15] * 1.1
    cap = np.concatenate([top, [[top[:, 0].min(), -0.1], [top[:, 0].max(), -0.1]]])
    cap = cap[np.argsort(np.arctan2(cap[:, 1], cap[:, 0]))]
    if ch.hair == "spiky":
        xs = np.linspace(-1.0, 1.0, 9)
        ys = np.where(np.arange(9) % 2 == 0, -0.95, -1.45) * np.sqrt(np.clip(1.2 - xs ** 2, 0, None))
        cap = np.concatenate([[[1.05, -0.15]], np.stack([xs[::-1], ys], 1), [[-1.05, -0.15]]])
    back = empty
    if ch.hair == "long":
        back = np.array([[-1.15, -0.6], [1.15, -0.6], [1.25, 1.7], [-1.25, 1.7]])
    elif ch.hair == "bun":
        back = _CIRCLE * 0.5 + np.array([0.0, -1.15])
    return Shapes(head, cap, back, head * 1.06)


def _fix(p: np.ndarray) -> np.ndarray:
    return np.round(p * _ONE).astype(np.int32)


def _capsule(img: np.ndarray, a: tuple, b: tuple, width: float, color: tuple) -> None:
    cv2.line(img, a, b, color, max(1, int(round(width))), _AA, _SHIFT)


def _disc(img: np.ndarray, c: tuple, r: float, color: tuple) -> None:
    cv2.circle(img, c, max(1, int(round(r * _ONE))), color, -1, _AA, _SHIFT)


def _bilinear(q: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Points (N, 2) at torso coordinates u (across) and v (down) of the quad q (4, 2)."""
    top = q[0] + (q[1] - q[0]) * u[:, None]
    bottom = q[3] + (q[2] - q[3]) * u[:, None]
    return top + (bottom - top) * v[:, None]


def _torso(img: np.ndarray, q: np.ndarray, ch: Character, unit: float) -> None:
    """Torso polygon plus its clothing pattern, laid out in torso coordinates (pixels q (4, 2))."""
    cv2.fillConvexPoly(img, _fix(q), ch.shirt, _AA, _SHIFT)
    n, col = ch.pattern_count, ch.pattern_color
    if ch.pattern == "stripes":
        for k in range(n):
            v0, v1 = (k + 0.3) / n, (k + 0.7) / n
            poly = _bilinear(q, np.array([0.0, 1.0, 1.0, 0.0]), np.array([v0, v0, v1, v1]))
            cv2.fillConvexPoly(img, _fix(poly), col, _AA, _SHIFT)
    elif ch.pattern == "two_tone":
        poly = _bilinear(q, np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.55, 0.55, 1.0, 1.0]))
        cv2.fillConvexPoly(img, _fix(poly), col, _AA, _SHIFT)
    elif ch.pattern == "dots":
        cols = max(2, n - 1)
        u, v = np.meshgrid((np.arange(cols) + 0.5) / cols, (np.arange(n) + 0.5) / n)
        width = np.linalg.norm(q[1] - q[0])
        r = min(0.18 * width / cols + 0.2 * unit, 0.3 * unit)
        for c in _fix(_bilinear(q, u.ravel(), v.ravel())).tolist():
            _disc(img, tuple(c), r, col)


def _outline(poly: np.ndarray, centre: np.ndarray, rx: float, ry: float, angle: float) -> np.ndarray:
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return centre + (poly * np.array([rx, ry])) @ rot.T


def _head(img: np.ndarray, g: Geometry, t: int, pts: np.ndarray, ch: Character, shapes: Shapes,
          s: float, human: bool) -> None:
    """Neck, hair behind, head, hair on top (or all hair when seen from behind), face features."""
    b = ch.build
    rx, ry = b.head_r * s, b.head_r * b.head_aspect * s
    centre, angle, facing = pts[22], float(g.head_angle[t]), float(g.head_facing[t])
    _capsule(img, tuple(_fix(pts[1])), tuple(_fix(centre)), 0.9 * rx, ch.skin)
    if len(shapes.back):
        cv2.fillConvexPoly(img, _fix(_outline(shapes.back, centre, rx, ry, angle)), ch.hair_color, _AA, _SHIFT)
    cv2.fillConvexPoly(img, _fix(_outline(shapes.head, centre, rx, ry, angle)), ch.skin, _AA, _SHIFT)
    if len(shapes.cap) and facing < -0.35:
        cv2.fillConvexPoly(img, _fix(_outline(shapes.full, centre, rx, ry, angle)), ch.hair_color, _AA, _SHIFT)
    elif len(shapes.cap):
        cv2.fillPoly(img, [_fix(_outline(shapes.cap, centre, rx, ry, angle))], ch.hair_color, _AA, _SHIFT)
    if human:
        _face(img, g, t, pts, rx)
        return
    for k, i in enumerate((14, 15)):
        if g.eye_seen[t, k]:
            _disc(img, tuple(_fix(pts[i])), 0.14 * rx, ch.eye_color)


def _face(img: np.ndarray, g: Geometry, t: int, pts: np.ndarray, rx: float) -> None:
    """Eyes (white + iris), brows, nose and mouth placed from the projected eye and nose points."""
    if g.head_facing[t] < 0.05:
        return
    eyes, nose = pts[[14, 15]], pts[0]
    mid = eyes.mean(0)
    down = nose - mid
    for k in range(2):
        if g.eye_seen[t, k]:
            e = eyes[k]
            cv2.ellipse(img, tuple(_fix(e)), (int(0.22 * rx * _ONE), int(0.12 * rx * _ONE)),
                        float(g.head_angle[t]), 0, 360, (245, 245, 245), -1, _AA, _SHIFT)
            _disc(img, tuple(_fix(e)), 0.09 * rx, (50, 35, 25))
            _capsule(img, tuple(_fix(e - 1.3 * down - [0.15 * rx, 0])),
                     tuple(_fix(e - 1.3 * down + [0.15 * rx, 0])), 0.07 * rx, (60, 40, 30))
    _capsule(img, tuple(_fix(mid + 0.2 * down)), tuple(_fix(nose)), 0.08 * rx, (150, 90, 80))
    side = (eyes[1] - eyes[0]) * 0.35
    mouth = nose + 0.9 * down
    _capsule(img, tuple(_fix(mouth - side)), tuple(_fix(mouth + side)), 0.1 * rx, (170, 60, 60))


_LIMBS = MappingProxyType({  # part -> (point a, point b, width field, colour field)
    "r_upper_arm": (2, 3, "arm_w", "shirt"), "r_forearm": (3, 4, "arm_w", "forearm"),
    "l_upper_arm": (5, 6, "arm_w", "shirt"), "l_forearm": (6, 7, "arm_w", "forearm"),
    "r_thigh": (8, 9, "leg_w", "pants"), "r_shin": (9, 10, "leg_w", "pants"),
    "l_thigh": (11, 12, "leg_w", "pants"), "l_shin": (12, 13, "leg_w", "pants"),
    "r_foot": (10, 20, "leg_w", "shoes"), "l_foot": (13, 21, "leg_w", "shoes"),
})


def render_figure(img: np.ndarray, g: Geometry, t: int, ch: Character, shapes: Shapes,
                  px: float, offset: float = 0.0, human: bool = False) -> np.ndarray:
    """Draw frame t of the character into img (H, W, 3) uint8 in place; a normalised point p lands
    at pixel ``offset + p * px``. Returns img."""
    pts = offset + g.points[t].astype(np.float64) * px  # (23, 2) pixels
    fixed = [tuple(p) for p in _fix(pts).tolist()]
    s = float(g.scale[t]) * px  # pixels per figure unit
    b = ch.build
    colors = {"shirt": ch.shirt, "pants": ch.pants, "shoes": ch.shoes,
              "forearm": ch.shirt if ch.sleeves == "long" else ch.skin}
    for part in g.order[t].tolist():
        name = PART_NAMES[part]
        if name in _LIMBS:
            a, c, wf, cf = _LIMBS[name]
            width = getattr(b, wf) * s * (0.8 if name.endswith("foot") else 1.0)
            _capsule(img, fixed[a], fixed[c], width, colors[cf])
        elif name.endswith("hand"):
            _disc(img, fixed[18 if name[0] == "r" else 19], 0.62 * b.arm_w * s, ch.skin)
        elif name == "torso":
            if human:
                for i in (2, 5):
                    _disc(img, fixed[i], 0.55 * b.arm_w * s, ch.shirt)
            _torso(img, offset + g.torso[t] * px, ch, b.arm_w * s)
        else:
            _head(img, g, t, pts, ch, shapes, s, human)
    return img
