"""Eyes, brows, nose, mouth and accessories of the cartoon, from the (retargeted) 68 points in pixels."""
from __future__ import annotations

import cv2
import numpy as np

from rain.worlds.face.draw_head import HeadFrame
from rain.worlds.face.identity import Identity
from rain.worlds.face.shapes import ellipse, inside, line, poly, spline

EYES = ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47))  # corners at positions 0 and 3
INK = (40, 30, 35)


def _angle(hf: HeadFrame) -> float:
    return float(np.degrees(np.arctan2(hf.axes[0, 1], hf.axes[0, 0])))


def draw_eye(canvas: np.ndarray, pts: np.ndarray, hf: HeadFrame, ident: Identity, gaze: np.ndarray,
             outer_sign: float) -> None:
    """One eye from its 6 points (6, 2) pixels; ``outer_sign`` -1 for the image-left eye."""
    width = float(np.linalg.norm(pts[3] - pts[0]))
    height = float(np.dot(0.5 * (pts[4] + pts[5]) - 0.5 * (pts[1] + pts[2]), hf.axes[1]))
    lid_w = max(1.0, 0.09 * width)
    if height < 0.12 * width:  # closed: one curved lid line
        mid = np.array([pts[0], 0.5 * (pts[1] + pts[5]), 0.5 * (pts[2] + pts[4]), pts[3]])
        line(canvas, spline(mid + hf.axes[1] * 0.05 * width, False), INK, lid_w)
        return
    pts = pts.copy()  # anime eyes: the drawn eye opens 1.6x further than the landmarks' upper lid
    base = 0.5 * (pts[0] + pts[3])
    pts[1:3] = base + (pts[1:3] - base) * 1.6
    outline = spline(pts, True)  # (24, 2)
    centre = pts.mean(0) + (gaze[0] * hf.axes[0] + gaze[1] * hf.axes[1]) * 0.18 * width
    iris = (0.3 * width, 0.36 * width)
    ang = _angle(hf)
    dark = tuple(int(c * 0.55) for c in ident.eye_color)

    def paint(layer: np.ndarray, off: np.ndarray) -> None:
        layer[:] = (250, 250, 252)
        c = centre - off
        ellipse(layer, c, iris, ang, ident.eye_color)
        ellipse(layer, c - hf.axes[1] * 0.12 * width, (iris[0] * 0.95, iris[1] * 0.6), ang, dark)
        ellipse(layer, c, (iris[0] * 0.45, iris[1] * 0.45), ang, (20, 15, 25))
        hl = c - (hf.axes[0] * 0.1 + hf.axes[1] * 0.14) * width
        ellipse(layer, hl, (0.09 * width, 0.09 * width), 0, (255, 255, 255))

    inside(canvas, outline, paint)
    line(canvas, outline[:13], INK, lid_w)  # upper lid: corner 0 -> corner 3
    line(canvas, np.concatenate([outline[12:], outline[:1]]), INK, max(1.0, 0.35 * lid_w))
    if ident.lashes:
        corner = pts[0] if outer_sign < 0 else pts[3]
        tip = corner + hf.axes[0] * outer_sign * 0.18 * width - hf.axes[1] * 0.12 * width
        line(canvas, np.array([corner, tip]), INK, lid_w)


def draw_brows(canvas: np.ndarray, face: np.ndarray, hf: HeadFrame, ident: Identity) -> None:
    color = tuple(int(c * 0.55) for c in ident.hair_color)
    for a in (17, 22):
        line(canvas, spline(face[a:a + 5], False), color, max(1.0, 0.07 * hf.half_width))


def draw_nose(canvas: np.ndarray, face: np.ndarray, ident: Identity) -> None:
    shade = tuple(int(c * 0.72) for c in ident.skin)
    line(canvas, np.array([face[33] + 0.3 * (face[30] - face[33]), face[33]]), shade, 1.0)


def draw_mouth(canvas: np.ndarray, face: np.ndarray, hf: HeadFrame, ident: Identity) -> None:
    inner = face[60:68]
    gap = float(np.dot(inner[5:8].mean(0) - inner[1:4].mean(0), hf.axes[1]))
    thick = max(1.0, 0.035 * hf.half_width)
    if gap < 0.04 * hf.half_width:
        line(canvas, spline(face[60:65], False), INK, thick)
        return
    outline = spline(inner, True)
    top, bottom = inner[1:4].mean(0), inner[5:8].mean(0)

    def paint(layer: np.ndarray, off: np.ndarray) -> None:
        layer[:] = (120, 35, 45)
        ellipse(layer, bottom - off, (0.45 * np.linalg.norm(inner[4] - inner[0]), 0.35 * gap),
                _angle(hf), (225, 110, 120))
        if ident.teeth:
            down = hf.axes[1] * 0.22 * gap
            teeth = np.concatenate([inner[0:5], [inner[4] + down, top + down, inner[0] + down]])
            poly(layer, teeth - off, (250, 250, 250))

    inside(canvas, outline, paint)
    line(canvas, outline, INK, thick, closed=True)


def draw_blush(canvas: np.ndarray, face: np.ndarray, hf: HeadFrame, ident: Identity) -> None:
    pink = tuple(int(0.75 * s + 0.25 * p) for s, p in zip(ident.skin, (255, 110, 130)))
    for eye in EYES:
        c = face[list(eye)].mean(0) + hf.axes[1] * 0.45 * hf.half_width
        ellipse(canvas, c, (0.2 * hf.half_width, 0.09 * hf.half_width), _angle(hf), pink)


def draw_earrings(canvas: np.ndarray, face: np.ndarray, hf: HeadFrame, ident: Identity) -> None:
    for i in (2, 14):
        c = face[i] + hf.axes[1] * 0.12 * hf.half_width
        cv2.circle(canvas, tuple(int(v) for v in c), max(1, int(0.07 * hf.half_width)), ident.earrings, -1,
                   cv2.LINE_AA)


def draw_glasses(canvas: np.ndarray, face: np.ndarray, hf: HeadFrame, ident: Identity) -> None:
    centres = [face[list(eye)].mean(0) for eye in EYES]
    r = [0.75 * float(np.linalg.norm(face[e[3]] - face[e[0]])) for e in EYES]
    for c, rr in zip(centres, r):
        ellipse(canvas, c, (rr, 0.8 * rr), _angle(hf), ident.glasses, max(1, int(0.04 * hf.half_width)))
    a = centres[0] + hf.axes[0] * r[0]
    b = centres[1] - hf.axes[0] * r[1]
    line(canvas, np.array([a, b]), ident.glasses, max(1.0, 0.04 * hf.half_width))
