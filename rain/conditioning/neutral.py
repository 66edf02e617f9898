"""Neutral landmarks: what the stream fades to when nobody is in view.

`NEUTRAL_FACE` is a frontal, mouth-closed face framed as in face mode (jaw width 0.36 of the
frame, centred). It was measured once with MediaPipe on matplotlib's `grace_hopper.jpg`, rotated so
the eye line is level, symmetrised and rounded to 3 decimals. `NEUTRAL_BODY` is a hand-made
standing full body with the arms down, framed as in body mode. Callers can pass their own neutral
(for example the reference character's own landmarks) instead.
"""
from __future__ import annotations

import numpy as np

from rain.conditioning.landmarks import NUM_BODY, NUM_FACE, Landmarks

NEUTRAL_FACE = np.array([  # (68, 2)
    [0.32, 0.443], [0.322, 0.477], [0.327, 0.515], [0.336, 0.554], [0.35, 0.587], [0.367, 0.613],
    [0.39, 0.636], [0.435, 0.667], [0.5, 0.68], [0.565, 0.667], [0.61, 0.636], [0.633, 0.613],
    [0.65, 0.587], [0.664, 0.554], [0.673, 0.515], [0.678, 0.477], [0.68, 0.443],
    [0.35, 0.374], [0.366, 0.362], [0.392, 0.355], [0.425, 0.357], [0.461, 0.362],
    [0.539, 0.362], [0.575, 0.357], [0.608, 0.355], [0.634, 0.362], [0.65, 0.374],
    [0.5, 0.399], [0.5, 0.436], [0.5, 0.472], [0.5, 0.51],
    [0.451, 0.514], [0.477, 0.52], [0.5, 0.522], [0.523, 0.52], [0.549, 0.514],
    [0.386, 0.403], [0.401, 0.394], [0.427, 0.392], [0.455, 0.407], [0.433, 0.409], [0.408, 0.41],
    [0.545, 0.407], [0.573, 0.392], [0.599, 0.394], [0.614, 0.403], [0.592, 0.41], [0.567, 0.409],
    [0.434, 0.573], [0.448, 0.564], [0.479, 0.557], [0.5, 0.56], [0.521, 0.557], [0.552, 0.564],
    [0.566, 0.573], [0.551, 0.583], [0.52, 0.595], [0.5, 0.596], [0.48, 0.595], [0.449, 0.583],
    [0.44, 0.572], [0.469, 0.571], [0.5, 0.573], [0.531, 0.571], [0.56, 0.572], [0.53, 0.571],
    [0.5, 0.573], [0.47, 0.571],
], np.float32)

NEUTRAL_BODY = np.array([  # (18, 2), OpenPose-18 order
    [0.5, 0.2], [0.5, 0.32],
    [0.39, 0.33], [0.36, 0.48], [0.35, 0.62],
    [0.61, 0.33], [0.64, 0.48], [0.65, 0.62],
    [0.44, 0.62], [0.44, 0.78], [0.44, 0.94],
    [0.56, 0.62], [0.56, 0.78], [0.56, 0.94],
    [0.48, 0.18], [0.52, 0.18], [0.46, 0.19], [0.54, 0.19],
], np.float32)


def neutral_landmarks() -> Landmarks:
    """A fresh neutral `Landmarks` with every body and face point confident."""
    return Landmarks(NEUTRAL_BODY.copy(), np.ones(NUM_BODY, np.float32),
                     NEUTRAL_FACE.copy(), np.ones(NUM_FACE, np.float32))
