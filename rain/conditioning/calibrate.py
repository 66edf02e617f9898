"""Calibration: propose retarget slider values from one neutral frame of the user and the
reference character's face.

Both faces are measured in their own axes (`landmarks.face_axes`) in units of their brow span
(outer brow end to outer brow end, |x26 - x17|), the one length no slider changes; the reference's
proportions are converted into the user's units and each slider is solved in the order
`retarget_face` applies them. So ``propose_params(user, retarget_face(user, p)) == p`` up to the
slider step, and ``propose_params(user, user)`` is neutral. Values are clipped to the slider range
and rounded to its step; a proportion that cannot be measured (closed eyes or mouth in the user's
frame) keeps its published default, with a log message. A degenerate face (jaw width or brow span
about 0, e.g. the 0.5 placeholder of an undetected face) raises ValueError.
"""
from __future__ import annotations

import logging

import numpy as np

from rain.conditioning.landmarks import (
    BROWS, LEFT_EYE, MOUTH, NOSE, OUTER_LIP, RIGHT_EYE, face_axes, face_size,
)
from rain.conditioning.retarget import PARAMS_BY_NAME, RETARGET_PARAMS

log = logging.getLogger(__name__)
_DEGENERATE = 1e-2  # jaw width or brow span below this fraction of the face's extent: degenerate


def face_measures(face: np.ndarray, name: str = "face") -> dict[str, float]:
    """Proportions of a face (68, 2) in its own axes, in units of its brow span. ValueError (naming
    ``name``) when the face is degenerate: jaw width or brow span about 0."""
    face = np.asarray(face, np.float64)
    local = (face - face.mean(0)) @ face_axes(face).T  # (68, 2)
    brow = local[list(BROWS)].mean(0)
    ruler = local[26, 0] - local[17, 0]
    extent = float(np.ptp(face, axis=0).max())
    if not extent > 0 or min(ruler, face_size(face)) <= _DEGENERATE * extent:
        raise ValueError(f"{name} is degenerate (jaw width {face_size(face):.3g}, brow span "
                         f"{ruler:.3g}, extent {extent:.3g}); was a face detected?")
    r_eye, l_eye = local[list(RIGHT_EYE)].mean(0), local[list(LEFT_EYE)].mean(0)
    eyes_mid, mouth, nose = (r_eye + l_eye) / 2, local[list(MOUTH)].mean(0), local[list(NOSE)].mean(0)
    lip_y = local[list(OUTER_LIP), 1]
    m = {
        "face_length": local[8, 1] - brow[1],
        "jaw_width": local[16, 0] - local[0, 0],
        "eye_width": 0.5 * ((local[39, 0] - local[36, 0]) + (local[45, 0] - local[42, 0])),
        "eye_height": local[[40, 41, 46, 47], 1].mean() - local[[37, 38, 43, 44], 1].mean(),
        "mouth_width": local[54, 0] - local[48, 0],
        "mouth_height": lip_y.max() - lip_y.min(),
        "eye_distance": l_eye[0] - r_eye[0],
        "eye_horizontal": eyes_mid[0] - brow[0], "eye_vertical": eyes_mid[1] - brow[1],
        "mouth_horizontal": mouth[0] - brow[0], "mouth_vertical": mouth[1] - brow[1],
        "nose_horizontal": nose[0] - brow[0], "nose_vertical": nose[1] - brow[1],
    }
    out = {k: float(v) / ruler for k, v in m.items()}
    out["face_size"] = face_size(face) / ruler
    return out


def _snap(name: str, value: float) -> float:
    p = PARAMS_BY_NAME[name]
    if not np.isfinite(value):
        log.info("calibration: %s cannot be measured, keeping the default %s", name, p.default)
        return p.default
    value = float(np.clip(value, p.minimum, p.maximum))
    return round(round(value / p.step) * p.step, 6)


def propose_params(user_face: np.ndarray, reference_face: np.ndarray) -> dict[str, float]:
    """Slider values that give the user's neutral face (68, 2) the reference face's (68, 2)
    proportions. Both in any consistent coordinates (normalised or pixels). ValueError when
    either face is degenerate (see `face_measures`)."""
    u, r = face_measures(user_face, "user face"), face_measures(reference_face, "reference face")

    def ratio(name: str, extra: float = 1.0) -> float:
        den = u[name] * extra
        return r[name] / den if abs(den) > 1e-4 else float("nan")

    out = {name: _snap(name, ratio(name)) for name in ("face_length", "jaw_width", "eye_width",
                                                        "mouth_width")}
    length = out["face_length"]
    out["eye_height"] = _snap("eye_height", ratio("eye_height", length))
    out["mouth_height"] = _snap("mouth_height", ratio("mouth_height", length))
    unit = u["face_size"]  # offsets are in units of the user's face size
    for name in ("eye_distance", "eye_horizontal", "mouth_horizontal", "nose_horizontal"):
        out[name] = _snap(name, (r[name] - u[name]) / unit)
    for name in ("eye_vertical", "mouth_vertical", "nose_vertical"):
        out[name] = _snap(name, (r[name] - length * u[name]) / unit)
    return {p.name: out[p.name] for p in RETARGET_PARAMS}
