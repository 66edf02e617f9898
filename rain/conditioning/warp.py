"""The reference moved onto a frame by all its face points: a thin-plate spline (beyond the paper, session 29).

`face_similarity` (align.py) maps the reference's face onto a frame's with one similarity: the head's place, size and
roll. The eyes, brows, mouth and jaw line then sit where the reference has them relative to the head, not where the
frame's points put them. A thin-plate spline through all the face points seen in both moves them there too. It is
pinned to the similarity on a ring of `WARP_RING` x the face's radius around the frame's face and at the image's
corners, so beyond the face (hair, body, background) the reference moves as the similarity moves it.

A warp is a backward map on a grid of nodes, (WARP_NODES, WARP_NODES, 2) float32: for node (i, j), at pixel
(j, i) * (size - 1) / (WARP_NODES - 1) of the frame, the reference pixel (x, y) it takes.
`rain.models.refiner.aligned` fills in between bilinearly and samples the reference.
"""

from __future__ import annotations

import numpy as np

from rain.conditioning.align import face_similarity
from rain.conditioning.config import ConditionConfig
from rain.conditioning.landmarks import Landmarks

FACE_MAPS = ("similarity", "warp")  # the maps of the reference onto a frame a model may take (`face_map`)
WARP_NODES = 33  # nodes per side of a warp's grid: every 8 px of a 256-px frame (65 nodes: the same image within 54 dB)
WARP_RING = 2.2  # the ring that pins the spline to the similarity, in face radii (RMS distance from the centre)
WARP_RING_POINTS = 16  # points on that ring
WARP_SMOOTHING = 1000.0  # the spline's regulariser (px^2 kernel units): the points are followed within ~1-2 px,
# and closed eyes (upper and lower lid points on top of each other) stay solvable


def _kernel(r2: np.ndarray) -> np.ndarray:
    """The thin-plate kernel r^2 log r, written in r^2 (0 at 0)."""
    return 0.5 * r2 * np.log(np.maximum(r2, 1e-12))


def spline(dst: np.ndarray, src: np.ndarray, smoothing: float = WARP_SMOOTHING) -> tuple[np.ndarray, np.ndarray]:
    """A thin-plate spline f with f(dst) ~ src for (n, 2) point pairs (pixels) -> (weights (n, 2), affine (3, 2))."""
    n = len(dst)
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = _kernel(((dst[:, None] - dst[None]) ** 2).sum(-1)) + smoothing * np.eye(n)
    affine_part = np.concatenate([dst, np.ones((n, 1))], 1)  # (n, 3)
    system[:n, n:], system[n:, :n] = affine_part, affine_part.T
    solved = np.linalg.lstsq(system, np.concatenate([src, np.zeros((3, 2))]), rcond=None)[0]
    return solved[:n], solved[n:]


def spline_at(points: np.ndarray, dst: np.ndarray, weights: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """The spline fitted on `dst` at (m, 2) points -> (m, 2)."""
    r2 = (points ** 2).sum(1)[:, None] + (dst ** 2).sum(1)[None] - 2 * points @ dst.T  # (m, n) squared distances
    kernel = _kernel(np.maximum(r2, 0.0))
    return kernel @ weights + np.concatenate([points, np.ones((len(points), 1))], 1) @ affine


def similarity_warp(similarity: np.ndarray, size: int) -> np.ndarray:
    """The warp that moves the reference by one similarity (2, 3) (reference -> frame pixels)."""
    return _backward(similarity, _nodes(size)).reshape(WARP_NODES, WARP_NODES, 2).astype(np.float32)


def face_warp(reference: Landmarks, frame: Landmarks, size: int,
              min_conf: float = ConditionConfig.min_confidence) -> np.ndarray:
    """(WARP_NODES, WARP_NODES, 2) float32: the warp that moves the reference's face points onto the frame's (those
    seen in both; normalised coordinates, `size` px images), pinned to their `face_similarity` beyond the face. The
    similarity's warp when fewer than 3 points are seen in both."""
    similarity = face_similarity(reference, frame, size, min_conf)
    seen = (reference.face_conf > min_conf) & (frame.face_conf > min_conf)
    if seen.sum() < 3:
        return similarity_warp(similarity, size)
    dst = frame.face[seen].astype(np.float64) * size  # (n, 2) frame pixels
    src = reference.face[seen].astype(np.float64) * size
    centre = dst.mean(0)
    radius = max(WARP_RING * np.sqrt(((dst - centre) ** 2).sum(-1).mean()), 1.0)
    angles = np.linspace(0, 2 * np.pi, WARP_RING_POINTS, endpoint=False)
    pins = np.concatenate([centre + radius * np.stack([np.cos(angles), np.sin(angles)], 1),
                           np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], np.float64)])
    dst, src = np.concatenate([dst, pins]), np.concatenate([src, _backward(similarity, pins)])
    weights, affine = spline(dst, src)
    return spline_at(_nodes(size), dst, weights, affine).reshape(WARP_NODES, WARP_NODES, 2).astype(np.float32)


def face_map(kind: str, reference: Landmarks, frame: Landmarks, size: int,
             min_conf: float = ConditionConfig.min_confidence) -> np.ndarray:
    """The map of the reference's face onto the frame's of `kind` (`FACE_MAPS`): `face_similarity` or `face_warp`."""
    if kind not in FACE_MAPS:
        raise ValueError(f"a face map is one of {FACE_MAPS}, got {kind!r}")
    return (face_warp if kind == "warp" else face_similarity)(reference, frame, size, min_conf)


def _backward(similarity: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The reference pixels (n, 2) a similarity (2, 3; reference -> frame) takes frame pixels (n, 2) from."""
    inverse = np.linalg.inv(np.concatenate([similarity.astype(np.float64), [[0.0, 0.0, 1.0]]]))[:2]
    return points @ inverse[:, :2].T + inverse[:, 2]


def _nodes(size: int) -> np.ndarray:
    """(WARP_NODES ** 2, 2) the grid's nodes (x, y) in frame pixels, row by row."""
    axis = np.linspace(0.0, size - 1.0, WARP_NODES)
    ys, xs = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], 1)
