"""Driving frames of the face world: the same portrait drawn from the person's (pre-retarget)
human-proportioned landmarks with natural colours, framed like a camera image whose centre crop is
the world square, for trying the live detector on the world."""
from __future__ import annotations

import cv2
import numpy as np

from rain.conditioning.crop import crop_box
from rain.worlds.face.render import render_face


def driving_frame(world, t: int) -> np.ndarray:
    """(D, D, 3) uint8; the centre ``driving_crop`` square holds the world square."""
    cfg = world.config
    d = cfg.driving_size
    top, left, side = crop_box(d, d, cfg.driving_crop)
    e = world.expression.at(t)
    human = world.human_landmarks(t).face.astype(np.float64)
    full = (human * side + np.array([left, top])) / d  # normalised to the driving frame
    bg = np.full((d, d, 3), 200, np.uint8)
    bg[:] = np.linspace(215, 175, d, dtype=np.float32).astype(np.uint8)[:, None, None]
    img = render_face(bg, full, world.human_identity, world.gaze(e))
    return cv2.GaussianBlur(img, (3, 3), 0)
