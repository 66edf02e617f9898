"""Body alignment: bone-length retargeting from the user to the reference character.

The user's joint angles are kept and the reference skeleton's bone lengths are used, walking the
OpenPose-18 tree out from the neck. This fixes "long arms" when the user and the character have
different proportions. The result is placed with its neck on the reference's neck; with a
``user_anchor`` (the user's neck position at calibration) the user's own movement is added,
scaled by the body-size ratio. Face and hand points ride along rigidly (translated with the nose /
wrist and scaled by the same ratio). Missing joints stay missing (confidence 0) and keep finite
coordinates.
"""
from __future__ import annotations

import logging

import numpy as np

from rain.conditioning.config import ConditionConfig
from rain.conditioning.landmarks import Landmarks

log = logging.getLogger(__name__)

NECK = 1
# (parent, child) bones in breadth-first order from the neck, so parents are placed first.
BODY_TREE: tuple[tuple[int, int], ...] = (
    (1, 0), (1, 2), (1, 5), (1, 8), (1, 11),
    (0, 14), (0, 15), (2, 3), (5, 6), (8, 9), (11, 12),
    (14, 16), (15, 17), (3, 4), (6, 7), (9, 10), (12, 13),
)


def bone_lengths(body: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Length of each `BODY_TREE` bone (17,); NaN where an end is not seen."""
    out = np.full(len(BODY_TREE), np.nan)
    for k, (a, b) in enumerate(BODY_TREE):
        if seen[a] and seen[b]:
            out[k] = float(np.linalg.norm(body[b] - body[a]))
    return out


def _target_lengths(user_len: np.ndarray, ref_len: np.ndarray) -> tuple[np.ndarray, float]:
    """Reference lengths, with bones the reference lacks filled in as user length x the median
    reference/user ratio; also returns that ratio (the body-size scale)."""
    both = np.isfinite(user_len) & np.isfinite(ref_len) & (user_len > 1e-6)
    scale = float(np.median(ref_len[both] / user_len[both])) if both.any() else 1.0
    return np.where(np.isfinite(ref_len), ref_len, user_len * scale), scale


def align_body(user: Landmarks, reference: Landmarks, min_conf: float = ConditionConfig.min_confidence,
               user_anchor: np.ndarray | None = None) -> Landmarks:
    """User landmarks re-drawn with the reference's bone lengths (see module docstring)."""
    seen_u, seen_r = user.body_conf > min_conf, reference.body_conf > min_conf
    if not (seen_u[NECK] and seen_r[NECK]):
        log.debug("align_body: neck not seen in user or reference; returning the user unchanged")
        return user.copy()
    lengths, scale = _target_lengths(bone_lengths(user.body, seen_u), bone_lengths(reference.body, seen_r))
    root = reference.body[NECK].astype(np.float64)
    if user_anchor is not None:
        root = root + scale * (user.body[NECK] - np.asarray(user_anchor, np.float64))
    shift = root - user.body[NECK]
    new = user.body.astype(np.float64) + shift  # (18, 2); unseen joints just follow the root
    new[NECK] = root
    for k, (a, b) in enumerate(BODY_TREE):
        if seen_u[a] and seen_u[b]:
            d = user.body[b] - user.body[a]
            n = float(np.linalg.norm(d))
            direction = d / n if n > 1e-9 else np.zeros(2)
            new[b] = new[a] + lengths[k] * direction
        else:
            new[b] = new[a] + scale * (user.body[b] - user.body[a])
    out = user.copy()
    out.body = new.astype(np.float32)
    out.face = _ride(user.face, user.body[0], new[0], scale)
    if user.hands is not None:
        out.hands = np.stack([_ride(user.hands[0], user.body[4], new[4], scale),
                              _ride(user.hands[1], user.body[7], new[7], scale)])
    return out


def _ride(points: np.ndarray, old_anchor: np.ndarray, new_anchor: np.ndarray, scale: float) -> np.ndarray:
    """Move points rigidly with their anchor and scale them about it."""
    return (new_anchor + scale * (points - old_anchor)).astype(np.float32)


# ---------------------------------------------------------------------------------------------- face alignment
# Points of the 68 that move with the head and hardly with the expression: the jaw, the nose, the eye corners.
FACE_RIGID: tuple[int, ...] = tuple(range(0, 17)) + tuple(range(27, 36)) + (36, 39, 42, 45)


def uncropped(landmarks: Landmarks, crop_ratio: float) -> Landmarks:
    """Landmarks found in the centred square crop of side `crop_ratio` x the short side (`center_crop`) -> the same
    points in the whole centred square (what `rain.images.square` keeps of an image)."""
    out = landmarks.copy()
    out.face = ((1 - crop_ratio) / 2 + crop_ratio * landmarks.face).astype(np.float32)
    out.body = ((1 - crop_ratio) / 2 + crop_ratio * landmarks.body).astype(np.float32)
    return out


def face_similarity(reference: Landmarks, frame: Landmarks, size: int,
                    min_conf: float = ConditionConfig.min_confidence) -> np.ndarray:
    """(2, 3) float32: the similarity (scale, rotation, shift), in pixels of a size x size image, that best maps the
    reference's rigid face points (`FACE_RIGID`) onto the frame's, by least squares (Umeyama). The identity when
    fewer than 3 of them are seen in both. It aligns the reference image to a frame (a refiner reads it,
    rain/models/refiner.py `aligned`)."""
    identity = np.eye(2, 3, dtype=np.float32)
    rigid = np.array(FACE_RIGID)
    seen = (reference.face_conf[rigid] > min_conf) & (frame.face_conf[rigid] > min_conf)
    if seen.sum() < 3:
        return identity
    src = reference.face[rigid[seen]].astype(np.float64) * size  # (n, 2) pixels
    dst = frame.face[rigid[seen]].astype(np.float64) * size
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sv, vt = np.linalg.svd(d.T @ s / len(src))
    flip = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ flip @ vt
    variance = (s ** 2).sum() / len(src)
    if variance < 1e-9:
        return identity
    scale = float(np.trace(np.diag(sv) @ flip) / variance)
    shift = mu_d - scale * rotation @ mu_s
    return np.concatenate([scale * rotation, shift[:, None]], 1).astype(np.float32)
