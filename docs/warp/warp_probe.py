"""How close does the reference come to each frame when moved by all 68 face points instead of one similarity?
(session 29, a probe; nothing trained)

`PYTHONPATH=. python docs/warp/warp_probe.py COUNT FRAMES [MODEL]` takes COUNT held-out face worlds of FRAMES frames.
The reference's face is what MODEL's cartoon landmarker finds (as `rain eval` and the live path; default
checkpoints/face), each frame's face the world's true one (the points its condition is drawn from). It prints the
PSNR against the true frame of
- the reference as it is,
- the reference moved by the similarity of the rigid points (what the shipped refiner reads),
- the reference moved by a thin-plate spline through the 68 points, pinned to that similarity on a ring around the
  face (`--` variants: ring radius), over the whole frame and within the face's hull grown by 12 px.
"""

import sys

import cv2
import numpy as np
import torch

from rain.checkpoint import load_models
from rain.conditioning.align import face_similarity
from rain.eval.evaluate import eval_reference_face
from rain.eval.metrics import psnr
from rain.images import to_tensor, to_uint8
from rain.models.refiner import aligned
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START
from rain.worlds.face.world import FaceWorld

TRUE_REFERENCE = False  # True: the world's own reference face (an upper bound on the landmarker's)


def tps_fit(dst: np.ndarray, src: np.ndarray, smooth: float) -> tuple[np.ndarray, np.ndarray]:
    """A thin-plate spline f with f(dst) ~ src: (n, 2) each, pixels -> (weights (n, 2), affine (3, 2))."""
    n = len(dst)
    r2 = ((dst[:, None] - dst[None]) ** 2).sum(-1)
    k = 0.5 * r2 * np.log(r2 + 1e-12) + smooth * np.eye(n)
    p = np.concatenate([dst, np.ones((n, 1))], 1)
    a = np.zeros((n + 3, n + 3))
    a[:n, :n], a[:n, n:], a[n:, :n] = k, p, p.T
    b = np.concatenate([src, np.zeros((3, 2))], 0)
    sol = np.linalg.lstsq(a, b, rcond=None)[0]
    return sol[:n], sol[n:]


def tps_grid(dst: np.ndarray, weights: np.ndarray, affine: np.ndarray, size: int, step: int = 4) -> np.ndarray:
    """(size, size, 2) float32: the reference pixel (x, y) each frame pixel takes, evaluated every `step` px and
    bilinearly filled in between."""
    coarse = np.arange(0, size + step, step, dtype=np.float64)
    ys, xs = np.meshgrid(coarse, coarse, indexing="ij")
    pts = np.stack([xs.ravel(), ys.ravel()], 1)
    r2 = ((pts[:, None] - dst[None]) ** 2).sum(-1)
    u = 0.5 * r2 * np.log(r2 + 1e-12)
    mapped = u @ weights + np.concatenate([pts, np.ones((len(pts), 1))], 1) @ affine
    grid = mapped.reshape(len(coarse), len(coarse), 2).astype(np.float32)
    big = cv2.resize(grid, (len(coarse) * step, len(coarse) * step), interpolation=cv2.INTER_LINEAR)
    offset = step // 2  # cv2.resize puts coarse sample i at fine pixel i*step + (step-1)/2; re-centre
    return big[offset:offset + size, offset:offset + size] if step > 1 else big[:size, :size]


def warped(reference: np.ndarray, ref_face: np.ndarray, frame_face: np.ndarray, similarity: np.ndarray,
           ring: float, smooth: float) -> np.ndarray:
    """The reference (H, W, 3) uint8 moved by a thin-plate spline through the 68 points (pixels), pinned to the
    similarity on a ring of `ring` x the face's radius about the frame's face centre."""
    size = reference.shape[0]
    centre = frame_face.mean(0)
    radius = ring * np.sqrt(((frame_face - centre) ** 2).sum(-1).mean())
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring_dst = centre + radius * np.stack([np.cos(angles), np.sin(angles)], 1)
    corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], np.float64)
    anchors = np.concatenate([ring_dst, corners])
    full = np.concatenate([similarity.astype(np.float64), [[0, 0, 1]]])
    inverse = np.linalg.inv(full)[:2]
    anchors_src = anchors @ inverse[:, :2].T + inverse[:, 2]
    dst = np.concatenate([frame_face, anchors])
    src = np.concatenate([ref_face, anchors_src])
    weights, affine = tps_fit(dst, src, smooth)
    grid = tps_grid(dst, weights, affine, size)
    return cv2.remap(reference, grid[..., 0], grid[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def hull_mask(face: np.ndarray, size: int, grow: int = 12) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(face.astype(np.int32)), 1)
    return cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)


def main(count: int, frames: int, model: str = "checkpoints/face") -> None:
    pipeline = RainPipeline(*load_models(model))
    size = pipeline.config.resolution
    variants = {"as is": None, "similarity": None, "tps ring 2.2": (2.2, 1.0), "tps ring 2.2 smooth 100": (2.2, 100.0),
                "tps ring 2.2 smooth 1000": (2.2, 1000.0)}
    whole = {k: [] for k in variants}
    inside = {k: [] for k in variants}
    for i in range(count):
        world = FaceWorld.from_seed(HELD_OUT_SEED_START + i, frames, size)
        ref_marks = world.reference_landmarks if TRUE_REFERENCE else eval_reference_face(pipeline, world)
        for t in range(frames):
            lm, truth = world.landmarks(t), world.frame(t)
            sim = face_similarity(ref_marks, lm, size)
            mask = hull_mask(lm.face * size, size)
            outs = {"as is": world.reference,
                    "similarity": to_uint8(aligned(to_tensor(world.reference)[None], torch.from_numpy(sim[None])))[0]}
            for name, params in variants.items():
                if params is not None:
                    outs[name] = warped(world.reference, ref_marks.face * size, lm.face * size, sim, *params)
            for name, out in outs.items():
                whole[name].append(psnr(out, truth))
                inside[name].append(psnr(out[mask], truth[mask]))
        print(f"world {i}: " + ", ".join(f"{k} {np.mean(inside[k][-frames:]):.2f}" for k in variants), flush=True)
    for name in variants:
        print(f"{name:>24}: whole frame {np.mean(whole[name]):.2f} dB, face hull +12 px {np.mean(inside[name]):.2f} dB")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:])
