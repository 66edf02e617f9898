"""Head, hair, neck and shoulders of the cartoon, in the head's own frame (from the 68 points).

`HeadFrame` holds the jaw-line midpoint, the face axes (roll) and sizes in pixels; shapes are
written in head units (x along the eye line in jaw half-widths, y towards the chin) and mapped
to pixels with `HeadFrame.to_px`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rain.conditioning.landmarks import BROWS, face_axes
from rain.worlds.face.identity import Identity
from rain.worlds.face.shapes import ellipse, poly


@dataclass(frozen=True)
class HeadFrame:
    origin: np.ndarray  # (2,) pixels: midpoint of jaw points 0 and 16
    axes: np.ndarray  # (2, 2) rows: x (eye line), y (towards the chin)
    half_width: float  # pixels: |p16 - p0| / 2
    brow_y: float  # head units: mean brow height (negative: above the jaw line)
    chin_y: float  # head units: the chin (point 8)

    def to_px(self, local: np.ndarray) -> np.ndarray:
        """(N, 2) head units -> (N, 2) pixels."""
        return self.origin + (np.asarray(local) * self.half_width) @ self.axes


def head_frame(face_px: np.ndarray) -> HeadFrame:
    origin = 0.5 * (face_px[0] + face_px[16])
    hw = max(0.5 * float(np.linalg.norm(face_px[16] - face_px[0])), 1.0)
    axes = face_axes(face_px)
    local = (face_px - origin) @ axes.T / hw
    return HeadFrame(origin, axes, hw, float(local[list(BROWS), 1].mean()), float(local[8, 1]))


def _arc(a0: float, a1: float, rx: float, ry: float, n: int = 16, cy: float = 0.0) -> np.ndarray:
    a = np.linspace(a0, a1, n)
    return np.stack([rx * np.cos(a), cy + ry * np.sin(a)], 1)


def cranium(hf: HeadFrame, ident: Identity, grow: float = 0.0) -> np.ndarray:
    """(16, 2) head units: the skull top from the right end of the jaw line over to the left."""
    return _arc(0.0, -np.pi, 1.0 + grow, 2.0 * ident.forehead * (1.0 + grow))


def draw_body(canvas: np.ndarray, hf: HeadFrame, ident: Identity, face_px: np.ndarray) -> None:
    """Shoulders (clothes), neck and collar; the torso stays upright when the head rolls."""
    hw = hf.half_width
    neck_top = hf.to_px(np.array([[0.0, 0.5 * hf.chin_y]]))[0]
    base = np.array([hf.origin[0], hf.origin[1] + hw * (hf.chin_y + 0.55)])
    ellipse(canvas, base + (0, hw * 1.55), (hw * 2.5, hw * 1.5), 0, ident.clothes)
    neck = np.array([neck_top + (-0.4 * hw, 0), neck_top + (0.4 * hw, 0), base + (0.45 * hw, 0),
                     base + (-0.45 * hw, 0)])
    shade = tuple(int(c * 0.85) for c in ident.skin)
    poly(canvas, neck, shade)
    ellipse(canvas, base + (0, 0.05 * hw), (0.5 * hw, 0.3 * hw), 0, shade)
    collar = np.array([base + (-0.75 * hw, -0.05 * hw), base + (0, 0.55 * hw), base + (0.75 * hw, -0.05 * hw),
                       base + (0.75 * hw, 0.15 * hw), base + (0, 0.8 * hw), base + (-0.75 * hw, 0.15 * hw)])
    poly(canvas, collar, ident.collar)


def _hair_back_shape(hf: HeadFrame, ident: Identity) -> list[np.ndarray]:
    v, style = ident.hair_volume, ident.hair_back
    top = cranium(hf, ident, v)
    w = 1.0 + v
    extra: list[np.ndarray] = []
    if style in ("short", "bun", "twintails", "ponytail"):
        low = 0.1
    elif style == "bob":
        low = hf.chin_y * 0.9
    else:  # long
        low = hf.chin_y + 1.6
        w = 1.15 + v
    body = np.concatenate([top, [[-w, low], [w, low]]])
    if style == "bun":
        extra.append(_arc(0, 2 * np.pi, 0.45, 0.45, 16, cy=-2.0 * ident.forehead * (1 + v) - 0.2))
    if style == "twintails":
        for s in (-1, 1):
            extra.append(np.array([[s * 0.9, -0.9], [s * 1.6, -0.3], [s * 1.55, 1.6], [s * 1.15, 2.1],
                                   [s * 1.0, 0.0]]))
    if style == "ponytail":
        extra.append(np.array([[0.6, -1.2], [1.5, -0.6], [1.45, 1.4], [1.1, 1.6], [0.9, -0.2]]))
    return [body] + extra


def draw_hair_back(canvas: np.ndarray, hf: HeadFrame, ident: Identity) -> None:
    dark = tuple(int(c * 0.8) for c in ident.hair_color)
    for i, shape in enumerate(_hair_back_shape(hf, ident)):
        poly(canvas, hf.to_px(shape), dark if i else ident.hair_color)


def draw_head(canvas: np.ndarray, hf: HeadFrame, ident: Identity, face_px: np.ndarray) -> None:
    """Face fill: the jaw line (0..16) closed over the cranium."""
    local = (face_px[:17] - hf.origin) @ hf.axes.T / hf.half_width
    poly(canvas, hf.to_px(np.concatenate([local, cranium(hf, ident)])), ident.skin)


def _bangs_edge(hf: HeadFrame, ident: Identity) -> np.ndarray:
    """Bottom edge of the fringe, right to left (head units)."""
    y = hf.brow_y - 0.12
    x = np.linspace(1.0, -1.0, 9)
    style = ident.bangs
    if style == "zigzag":
        yy = y + np.where(np.arange(9) % 2 == 0, 0.0, -0.3)
    elif style == "swept":
        yy = y - 0.45 * (x + 1.0) / 2.0
    elif style == "parted":
        yy = y - 0.5 * (1.0 - np.abs(x))
    elif style == "none":
        yy = np.full(9, -1.9 * ident.forehead) + 0.25 * np.abs(x) ** 2
    else:
        yy = y - 0.08 * (1.0 - x ** 2)
    sides = [[1.0 + 0.02, (hf.brow_y + 0.25) if style != "none" else -0.6]]
    return np.concatenate([sides, np.stack([x * 0.98, yy], 1), [[-sides[0][0], sides[0][1]]]])


def draw_hair_front(canvas: np.ndarray, hf: HeadFrame, ident: Identity) -> None:
    top = cranium(hf, ident, ident.hair_volume * 0.5)[::-1]  # left -> right over the top
    outline = np.concatenate([top, _bangs_edge(hf, ident)])
    poly(canvas, hf.to_px(outline), ident.hair_color)
    if ident.hair_clip is not None:
        c = hf.to_px(np.array([[0.6, hf.brow_y - 0.45]]))[0]
        ellipse(canvas, c, (0.16 * hf.half_width, 0.07 * hf.half_width),
                np.degrees(np.arctan2(hf.axes[0, 1], hf.axes[0, 0])) - 30, ident.hair_clip)
