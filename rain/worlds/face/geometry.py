"""Face-world landmarks: a human template with identity and expression, posed in 3-D, then mapped
into cartoon proportions by the live retargeting (`rain.conditioning.retarget.retarget_face`).

This is the live path run forwards: the live stream detects a person's 68 points and retargets
them with the sliders into cartoon proportions; the world builds a person's 68 points and
retargets them with sliders drawn around the same (published default) values. So a real face
after the default sliders lands inside the world's distribution by construction, up to the gap
between the template's variation and real faces (measured in `rain.worlds.face.measure`).

Template coordinates ("local"): `NEUTRAL_FACE` centred on (0.5, 0.5) and divided by its jaw width,
x right, y down (towards the chin), z towards the camera, head centre at the origin.
"""
from __future__ import annotations

import numpy as np

from rain.conditioning.landmarks import NUM_FACE
from rain.conditioning.neutral import NEUTRAL_FACE
from rain.conditioning.retarget import RETARGET_PARAMS, retarget_face
from rain.worlds.config import FaceWorldConfig

_JAW_WIDTH = float(NEUTRAL_FACE[16, 0] - NEUTRAL_FACE[0, 0])
TEMPLATE = ((NEUTRAL_FACE.astype(np.float64) - 0.5) / _JAW_WIDTH)  # (68, 2), jaw width 1
_HEAD_R = 0.62  # radius of the head cylinder (jaw half width is 0.5)


def _depth() -> np.ndarray:
    """(68,) z of the template points: a cylinder of radius _HEAD_R plus nose and lips relief."""
    x = TEMPLATE[:, 0]
    z = np.sqrt(np.maximum(_HEAD_R ** 2 - x ** 2, 0.01))
    z[27:31] += (0.05, 0.1, 0.15, 0.2)
    z[31:36] += (0.08, 0.12, 0.14, 0.12, 0.08)
    z[48:68] += 0.04
    z[36:48] -= 0.03
    return z


DEPTH = _depth()
LOWER_LIP_W = {55: 0.5, 56: 0.85, 57: 1.0, 58: 0.85, 59: 0.5, 65: 0.8, 66: 1.0, 67: 0.8}
MOUTH_CORNERS = {48: -1, 60: -1, 54: 1, 64: 1}  # point -> side (x sign)
EYE_LIDS = ((36, 39, (37, 38, 40, 41)), (42, 45, (43, 44, 46, 47)))  # corners and lid points
EYE_OPENNESS = (-0.25, 0.6)  # log range of a person's eye height relative to the template


def world_sliders(cfg: FaceWorldConfig) -> dict[str, float]:
    """The slider values the world is centred on: the published defaults with the config's
    overrides. Live face mode should use these as its defaults."""
    out = {p.name: p.default for p in RETARGET_PARAMS}
    out.update(dict(cfg.slider_overrides))
    return out


def sample_sliders(rng: np.random.Generator, cfg: FaceWorldConfig) -> dict[str, float]:
    """Identity sliders: `world_sliders` with relative jitter (scales) or +-jitter/2 face sizes
    (offsets), clipped to the slider ranges."""
    out, centre, jitter = {}, world_sliders(cfg), cfg.slider_jitter
    for p in RETARGET_PARAMS:
        if p.kind == "scale":
            v = centre[p.name] * np.exp(rng.uniform(-jitter, jitter))
        else:
            v = centre[p.name] + rng.uniform(-0.5, 0.5) * jitter
        out[p.name] = float(np.clip(v, p.minimum, p.maximum))
    return out


def sample_human(rng: np.random.Generator, jitter: float) -> np.ndarray:
    """(68, 2) a person's neutral face in template coordinates: the template with its proportions
    jittered (relative scales within +-jitter, offsets within +-jitter/3 face sizes)."""
    params = {}
    for p in RETARGET_PARAMS:
        if p.kind == "scale":
            params[p.name] = float(np.exp(rng.uniform(-jitter, jitter)))
        else:
            params[p.name] = float(rng.uniform(-1, 1) * jitter / 3)
    params["eye_horizontal"] = params["mouth_horizontal"] = params["nose_horizontal"] = 0.0
    # Eye openness and mouth width vary far more between people than the other proportions
    # (measured: the astronaut's eyes are 1.5x taller than the template's, relative to the brows).
    params["eye_height"] = float(np.exp(rng.uniform(*EYE_OPENNESS)))
    params["mouth_width"] = float(np.exp(rng.uniform(-0.15, 0.2)))
    return retarget_face(TEMPLATE, params).astype(np.float64)


def express(face: np.ndarray, e: dict[str, float], mouth_open: float) -> np.ndarray:
    """(68, 2) the neutral face (template coordinates) with an expression (see `Expression`)."""
    p = face.copy()
    squint = e["eye_open"] * (1.0 - 0.2 * e["smile"] + 0.2 * max(e["brow"], 0.0))
    for a, b, lids in EYE_LIDS:
        mid = 0.5 * (p[a, 1] + p[b, 1])
        p[list(lids), 1] = mid + (p[list(lids), 1] - mid) * squint
    p[17:27, 1] -= 0.05 * e["brow"]
    p[[20, 21, 22, 23], 1] += 0.03 * max(-e["brow"], 0.0)
    centre = p[48:68].mean(0)
    p[48:68, 0] = centre[0] + (p[48:68, 0] - centre[0]) * (1.0 - 0.3 * e["mouth_round"])
    m = e["mouth_open"] * mouth_open
    for i, w in LOWER_LIP_W.items():
        p[i, 1] += m * w
    p[[61, 62, 63], 1] -= 0.12 * m
    s = e["smile"]
    for i, side in MOUTH_CORNERS.items():
        p[i] += (0.07 * s * side, 0.3 * m - 0.05 * s)
    p[[49, 53, 59, 55], 1] -= 0.02 * s
    chin = np.clip(1.0 - np.abs(np.arange(4, 13) - 8) / 5.0, 0, 1)
    p[4:13, 1] += 0.9 * m * chin  # the jaw drops with the lower lip
    return p


def pose(face: np.ndarray, e: dict[str, float], centre: np.ndarray, width: float) -> np.ndarray:
    """(68, 2) normalised frame coordinates: template points rotated in 3-D (yaw, pitch,
    orthographic), rolled, scaled to ``width`` x e["scale"] and moved to centre + (tx, ty)."""
    cy, sy = np.cos(e["yaw"]), np.sin(e["yaw"])
    cp, sp = np.cos(e["pitch"]), np.sin(e["pitch"])
    x, y, z = face[:, 0], face[:, 1], DEPTH
    x2, z2 = x * cy + z * sy, -x * sy + z * cy
    y2 = y * cp - z2 * sp
    cr, sr = np.cos(e["roll"]), np.sin(e["roll"])
    xy = np.stack([x2 * cr - y2 * sr, x2 * sr + y2 * cr], 1)
    return centre + np.array([e["tx"], e["ty"]]) + xy * width * e["scale"]


def face_landmarks(human: np.ndarray, e: dict[str, float], centre: np.ndarray, width: float,
                   sliders: dict[str, float], cfg: FaceWorldConfig) -> tuple[np.ndarray, np.ndarray]:
    """(human (68, 2), cartoon (68, 2)) frame coordinates of one frame; cartoon = retargeted human."""
    h = pose(express(human, e, cfg.mouth_open), e, centre, width)
    assert h.shape == (NUM_FACE, 2)
    return h.astype(np.float32), retarget_face(h, sliders)
