"""The cartoon portrait of one frame: background, hair, shoulders, head, features, accessories."""
from __future__ import annotations

import numpy as np

from rain.worlds.face.draw_features import (
    EYES, draw_blush, draw_brows, draw_earrings, draw_eye, draw_glasses, draw_mouth, draw_nose,
)
from rain.worlds.face.draw_head import draw_body, draw_hair_back, draw_hair_front, draw_head, head_frame
from rain.worlds.face.identity import Identity


def render_face(background: np.ndarray, face: np.ndarray, ident: Identity, gaze: np.ndarray) -> np.ndarray:
    """(S, S, 3) uint8 portrait of the 68 points ``face`` (normalised) over a copy of ``background``;
    ``gaze`` (2,) is the iris offset in eye-line / chin-ward units (about -1..1)."""
    canvas = background.copy()
    px = np.asarray(face, np.float64) * canvas.shape[0]
    hf = head_frame(px)
    draw_hair_back(canvas, hf, ident)
    draw_body(canvas, hf, ident, px)
    if ident.earrings is not None:
        draw_earrings(canvas, px, hf, ident)
    draw_head(canvas, hf, ident, px)
    if ident.blush:
        draw_blush(canvas, px, hf, ident)
    draw_nose(canvas, px, ident)
    draw_mouth(canvas, px, hf, ident)
    for eye, sign in zip(EYES, (-1.0, 1.0)):
        draw_eye(canvas, px[list(eye)], hf, ident, gaze, sign)
    draw_hair_front(canvas, hf, ident)
    draw_brows(canvas, px, hf, ident)
    if ident.glasses is not None:
        draw_glasses(canvas, px, hf, ident)
    return canvas
