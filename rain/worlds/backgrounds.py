"""Static backgrounds: a smooth gradient, a few large soft shapes and a floor, one per clip."""
from __future__ import annotations

import cv2
import numpy as np

from rain.worlds.characters import _color


def _gradient(rng: np.random.Generator, side: int) -> np.ndarray:
    """(side, side, 3) float32 linear gradient between two colours in a random direction."""
    a, b = np.array(_color(rng, (0.0, 0.6)), np.float32), np.array(_color(rng, (0.0, 0.6)), np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    g = np.linspace(-0.5, 0.5, side, dtype=np.float32)
    w = np.cos(ang) * g[None, :] + np.sin(ang) * g[:, None] + 0.5  # (side, side)
    return (a + (b - a) * np.clip(w, 0, 1)[..., None]).astype(np.float32)


def _shapes(rng: np.random.Generator, img: np.ndarray) -> None:
    """Blend 1-4 large blurred circles / rectangles into img (in place)."""
    side = img.shape[0]
    for _ in range(int(rng.integers(1, 5))):
        mask = np.zeros((side, side), np.float32)
        cx, cy = rng.uniform(0, side, 2).astype(int)
        r = int(rng.uniform(0.1, 0.35) * side)
        if rng.random() < 0.5:
            cv2.circle(mask, (int(cx), int(cy)), r, 1.0, -1, cv2.LINE_AA)
        else:
            h = int(rng.uniform(0.5, 2.0) * r)
            cv2.rectangle(mask, (int(cx) - r, int(cy) - h), (int(cx) + r, int(cy) + h), 1.0, -1)
        k = 2 * max(1, int(0.02 * side)) + 1
        mask = cv2.GaussianBlur(mask, (k, k), 0) * rng.uniform(0.3, 0.8)
        img += (np.array(_color(rng, (0.1, 0.7)), np.float32) - img) * mask[..., None]


_LOW = 64  # gradient and soft shapes are drawn at this side, then upscaled (they are smooth)


def make_background(rng: np.random.Generator, side: int, floor_y: float) -> np.ndarray:
    """(side, side, 3) uint8 RGB; ``floor_y`` is the floor line as a fraction of side (> 1: unseen)."""
    low = _gradient(rng, _LOW)
    _shapes(rng, low)
    img = cv2.resize(low, (side, side), interpolation=cv2.INTER_LINEAR)
    y = int(round(floor_y * side))
    if 0 <= y < side:
        floor = np.array(_color(rng, (0.0, 0.5), (0.2, 0.8)), np.float32)
        ramp = np.linspace(0.7, 1.0, side - y, dtype=np.float32)[:, None, None]
        img[y:] = img[y:] * 0.25 + floor * ramp * 0.75
        line = tuple(float(c) * 0.5 for c in floor)
        cv2.line(img, (0, y), (side - 1, y), line, max(1, side // 200), cv2.LINE_AA)
    return np.clip(img, 0, 255).astype(np.uint8)
