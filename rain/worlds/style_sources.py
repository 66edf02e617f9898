"""Content videos for the style world: body-world and face-world frames, and scikit-image photos
filmed by a slow virtual camera (pan, zoom and rotation oscillating smoothly), so every source is
a smooth video of any length.

    src = sample_source(rng, num_frames, size, config)   # .frame(t) -> (S, S, 3) uint8, .kind
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from rain.worlds.config import StyleWorldConfig

PHOTOS: tuple[str, ...] = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
                           "immunohistochemistry", "retina", "colorwheel", "camera", "moon", "clock",
                           "coins", "brick", "grass", "gravel")
SOURCE_KINDS: tuple[str, ...] = ("body", "face", "photo")


@lru_cache(maxsize=None)
def load_photo(name: str) -> np.ndarray:
    """A scikit-image sample photo as (H, W, 3) uint8 RGB (gray ones replicated); read-only."""
    import skimage.data
    img = np.asarray(getattr(skimage.data, name)())
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3].astype(np.uint8))
    img.setflags(write=False)
    return img


class PhotoSource:
    """A photo seen through a square window that drifts, zooms and rotates slowly."""

    kind = "photo"

    def __init__(self, rng: np.random.Generator, num_frames: int, size: int, cfg: StyleWorldConfig,
                 name: str | None = None) -> None:
        self.name = name or PHOTOS[int(rng.integers(len(PHOTOS)))]
        self.photo = load_photo(self.name)
        self.size = size
        h, w = self.photo.shape[:2]
        self.side = rng.uniform(*cfg.crop) * min(h, w)
        reach = self.side * (1 + cfg.zoom) * (0.5 + cfg.rotate)  # window half extent, rotated
        lo, hi = np.array([reach, reach]), np.array([w - reach, h - reach])
        inside = rng.uniform(np.minimum(lo, hi), np.maximum(lo, hi))
        self.centre = np.where(hi > lo, inside, [w / 2, h / 2])  # (x, y) photo pixels
        t = np.arange(num_frames) / cfg.fps

        def osc() -> np.ndarray:
            return np.sin(2 * np.pi * t / rng.uniform(*cfg.move_period) + rng.uniform(0, 2 * np.pi))

        self.track = np.stack([cfg.pan * self.side * osc(), cfg.pan * self.side * osc(),
                               1.0 + cfg.zoom * osc(), rng.uniform(-1, 1) * cfg.rotate * osc()], 1)  # (T, 4)

    def frame(self, t: int) -> np.ndarray:
        dx, dy, zoom, ang = self.track[t]
        k = self.side / zoom / self.size  # photo pixels per output pixel
        c, s = np.cos(ang) * k, np.sin(ang) * k
        half = self.size / 2.0
        cx, cy = self.centre[0] + dx, self.centre[1] + dy
        m = np.array([[c, -s, cx - c * half + s * half], [s, c, cy - s * half - c * half]])
        return cv2.warpAffine(self.photo, m, (self.size, self.size),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)


class WorldSource:
    """Frames of a body or face world (its ground-truth frames, not its conditions)."""

    def __init__(self, rng: np.random.Generator, num_frames: int, size: int, kind: str) -> None:
        if kind == "body":
            from rain.worlds.body import BodyWorld
            self.world = BodyWorld(rng, num_frames, size)
        else:
            from rain.worlds.face.world import FaceWorld
            self.world = FaceWorld(rng, num_frames, size)
        self.kind = kind

    def frame(self, t: int) -> np.ndarray:
        return self.world.frame(t)


def sample_source(rng: np.random.Generator, num_frames: int, size: int, cfg: StyleWorldConfig,
                  exclude: str | None = None):
    """A random content source (kind by ``cfg.source_weights``); a photo source never uses the
    photo named ``exclude``."""
    w = np.array(cfg.source_weights, np.float64)
    kind = SOURCE_KINDS[int(rng.choice(3, p=w / w.sum()))]
    if kind != "photo":
        return WorldSource(rng, num_frames, size, kind)
    names = [n for n in PHOTOS if n != exclude]
    return PhotoSource(rng, num_frames, size, cfg, names[int(rng.integers(len(names)))])
