"""Face retargeting: the sliders of the face tab, as pure functions on the 68 points.

Each parameter is defined once in `RETARGET_PARAMS` (name, label, range, step, published default,
and the neutral value that leaves the landmarks unchanged), so the UI builds its sliders from it.
All operations work in the face's own axes (`landmarks.face_axes`: x along the eye line, y towards
the chin), so they keep working with the head tilted:
1. face length: every point's y is scaled about the centroid of the 68 points;
2. jaw width: the jaw (0-16) x is scaled about the jaw centroid;
3. eye width / height: each eye (36-41, 42-47) is scaled about its own centroid;
4. mouth width / height: the lips (48-67) are scaled about their centroid;
5. offsets, in units of the input's face size (jaw width): eye distance moves each eye outwards
   by half the value (the distance between the eyes grows by the value); eye / mouth / nose
   horizontal move the part towards the image right (the person's left), vertical towards the chin.
Brows are never moved by eye operations; the nose moves rigidly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping

import numpy as np

from rain.conditioning.landmarks import (
    JAW, LEFT_EYE, MOUTH, NOSE, NUM_FACE, RIGHT_EYE, face_axes, face_size,
)


@dataclass(frozen=True)
class RetargetParam:
    """One face slider."""

    name: str  # key in the params dict
    label: str  # UI label
    minimum: float
    maximum: float
    step: float
    default: float  # the published demo's default
    neutral: float  # the value that leaves the landmarks unchanged
    kind: Literal["scale", "offset"]


def _scale(name: str, label: str, lo: float, hi: float, default: float) -> RetargetParam:
    return RetargetParam(name, label, lo, hi, 0.01, default, 1.0, "scale")


def _offset(name: str, label: str, default: float) -> RetargetParam:
    return RetargetParam(name, label, -0.25, 0.25, 0.01, default, 0.0, "offset")


RETARGET_PARAMS: tuple[RetargetParam, ...] = (
    _scale("face_length", "Face length", 0.1, 1.5, 0.75),
    _scale("eye_height", "Eye height", 0.1, 4.0, 3.0),
    _scale("eye_width", "Eye width", 0.1, 3.0, 1.6),
    _scale("mouth_height", "Mouth height", 0.1, 3.0, 1.2),
    _scale("mouth_width", "Mouth width", 0.1, 3.0, 0.67),
    _scale("jaw_width", "Jaw width", 0.1, 1.5, 0.9),
    _offset("eye_distance", "Eye distance", 0.05),
    _offset("eye_vertical", "Eye vertical", 0.10),
    _offset("eye_horizontal", "Eye horizontal", 0.15),
    _offset("mouth_horizontal", "Mouth horizontal", 0.15),
    _offset("mouth_vertical", "Mouth vertical", 0.03),
    _offset("nose_horizontal", "Nose horizontal", 0.10),
    _offset("nose_vertical", "Nose vertical", 0.05),
)
PARAMS_BY_NAME: dict[str, RetargetParam] = {p.name: p for p in RETARGET_PARAMS}


def default_params() -> dict[str, float]:
    """The published demo's slider values."""
    return {p.name: p.default for p in RETARGET_PARAMS}


def neutral_params() -> dict[str, float]:
    """Values for which `retarget_face` is the identity."""
    return {p.name: p.neutral for p in RETARGET_PARAMS}


def resolve_params(params: Mapping[str, float] | None) -> dict[str, float]:
    """Fill missing names with their neutral value; unknown names or out-of-range values raise."""
    out = neutral_params()
    for name, value in (params or {}).items():
        if name not in PARAMS_BY_NAME:
            raise ValueError(f"unknown retarget parameter {name!r}; known: {sorted(PARAMS_BY_NAME)}")
        p = PARAMS_BY_NAME[name]
        if not p.minimum - 1e-9 <= float(value) <= p.maximum + 1e-9:
            raise ValueError(f"{name}={value} outside [{p.minimum}, {p.maximum}]")
        out[name] = float(value)
    return out


def _scale_part(local: np.ndarray, idx: tuple[int, ...], sx: float, sy: float) -> None:
    part = list(idx)
    c = local[part].mean(0)
    local[part] = c + (local[part] - c) * np.array([sx, sy])


def retarget_face(face: np.ndarray, params: Mapping[str, float] | None) -> np.ndarray:
    """Apply the sliders to 68 points (68, 2) and return new points (68, 2); input untouched.
    Missing parameters are neutral, so ``retarget_face(face, {})`` returns a copy of ``face``."""
    face = np.asarray(face, np.float64)
    if face.shape != (NUM_FACE, 2):
        raise ValueError(f"face must be (68, 2), got {face.shape}")
    v = resolve_params(params)
    axes, origin, size = face_axes(face), face.mean(0), face_size(face)
    local = (face - origin) @ axes.T  # (68, 2) in face axes
    c = local.mean(0)
    local[:, 1] = c[1] + (local[:, 1] - c[1]) * v["face_length"]
    _scale_part(local, JAW, v["jaw_width"], 1.0)
    _scale_part(local, RIGHT_EYE, v["eye_width"], v["eye_height"])
    _scale_part(local, LEFT_EYE, v["eye_width"], v["eye_height"])
    _scale_part(local, MOUTH, v["mouth_width"], v["mouth_height"])
    eyes = list(RIGHT_EYE + LEFT_EYE)
    local[list(RIGHT_EYE), 0] -= 0.5 * v["eye_distance"] * size
    local[list(LEFT_EYE), 0] += 0.5 * v["eye_distance"] * size
    local[eyes] += np.array([v["eye_horizontal"], v["eye_vertical"]]) * size
    local[list(MOUTH)] += np.array([v["mouth_horizontal"], v["mouth_vertical"]]) * size
    local[list(NOSE)] += np.array([v["nose_horizontal"], v["nose_vertical"]]) * size
    return (origin + local @ axes).astype(np.float32)
