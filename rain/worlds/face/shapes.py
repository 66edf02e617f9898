"""Small drawing helpers shared by the face renderer: fixed-point polygons, lines, splines, and
compositing inside a polygon on a small region of interest (all cv2, LINE_AA, sub-pixel)."""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

SHIFT = 4
ONE = 1 << SHIFT


def fixed(pts: np.ndarray) -> np.ndarray:
    """Pixel points (N, 2) -> int32 fixed-point (N, 2)."""
    return np.round(np.asarray(pts, np.float64) * ONE).astype(np.int32)


def poly(canvas: np.ndarray, pts: np.ndarray, color) -> None:
    cv2.fillPoly(canvas, [fixed(pts)], color, cv2.LINE_AA, SHIFT)


def line(canvas: np.ndarray, pts: np.ndarray, color, thick: float, closed: bool = False) -> None:
    cv2.polylines(canvas, [fixed(pts)], closed, color, max(1, int(round(thick))), cv2.LINE_AA, SHIFT)


def ellipse(canvas: np.ndarray, c: np.ndarray, axes: tuple[float, float], angle_deg: float, color,
            thick: int = -1) -> None:
    cx, cy = fixed(np.asarray(c)[None])[0]
    ax = (max(1, int(round(axes[0] * ONE))), max(1, int(round(axes[1] * ONE))))
    cv2.ellipse(canvas, (int(cx), int(cy)), ax, angle_deg, 0, 360, color, thick, cv2.LINE_AA, SHIFT)


_T = np.linspace(0, 1, 4, endpoint=False)[:, None]
_CR = np.concatenate([-_T ** 3 + 2 * _T ** 2 - _T, 3 * _T ** 3 - 5 * _T ** 2 + 2,
                      -3 * _T ** 3 + 4 * _T ** 2 + _T, _T ** 3 - _T ** 2], 1) * 0.5  # (4, 4)


def spline(pts: np.ndarray, closed: bool) -> np.ndarray:
    """Catmull-Rom curve through pts (N, 2), 4 samples per segment: (4N, 2) closed / (4N-3, 2) open."""
    p = np.asarray(pts, np.float64)
    ext = np.concatenate([p[-1:], p, p[:2]]) if closed else np.concatenate([p[:1], p, p[-1:]])
    n = len(p) if closed else len(p) - 1
    seg = np.stack([ext[i:i + 4] for i in range(n)])  # (n, 4, 2)
    out = np.einsum("sk,nkd->nsd", _CR, seg).reshape(-1, 2)
    return out if closed else np.concatenate([out, p[-1:]])


def inside(canvas: np.ndarray, outline: np.ndarray, paint: Callable[[np.ndarray, np.ndarray], None]) -> None:
    """Paint inside the polygon ``outline`` (pixels) only: ``paint(layer, offset)`` draws on a copy of
    the polygon's bounding box (offset = its top-left corner), which is blended in through an
    anti-aliased mask of the polygon."""
    h, w = canvas.shape[:2]
    x0, y0 = np.maximum(np.floor(outline.min(0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(outline.max(0)).astype(int) + 2, (w, h))
    if x1 <= x0 or y1 <= y0:
        return
    roi = canvas[y0:y1, x0:x1]
    off = np.array([x0, y0], np.float64)
    mask = np.zeros(roi.shape[:2], np.uint8)
    poly(mask, outline - off, 255)
    layer = roi.copy()
    paint(layer, off)
    a = mask[..., None].astype(np.uint16)
    roi[:] = ((layer.astype(np.uint16) * a + roi.astype(np.uint16) * (255 - a) + 127) // 255).astype(np.uint8)
