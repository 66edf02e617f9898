"""How close does the reference come to each frame when moved by all 68 face points instead of one similarity?
(session 29, a probe; nothing trained)

`PYTHONPATH=. python docs/warp/warp_probe.py COUNT FRAMES [MODEL] [--true]` takes COUNT held-out face worlds of FRAMES
frames. The reference's face is what MODEL's cartoon landmarker finds (as `rain eval` and the live path; default
checkpoints/face; `--true`: the world's own), each frame's face the world's true one (the points its condition is
drawn from). It prints the PSNR against the true frame of the reference as it is, moved by the similarity of the rigid
points (what the shipped refiner reads), and warped by `rain.conditioning.warp.face_warp`, over the whole frame and
within the face's hull grown by 12 px.
"""

import sys

import cv2
import numpy as np
import torch

from rain.checkpoint import load_models
from rain.conditioning.warp import face_map
from rain.eval.evaluate import eval_reference_face
from rain.eval.metrics import psnr
from rain.images import to_tensor, to_uint8
from rain.models.refiner import aligned
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START
from rain.worlds.face.world import FaceWorld


def hull_mask(face: np.ndarray, size: int, grow: int = 12) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(face.astype(np.int32)), 1)
    return cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)


def main(count: int, frames: int, model: str = "checkpoints/face", true_reference: bool = False) -> None:
    pipeline = RainPipeline(*load_models(model))
    size = pipeline.config.resolution
    whole: dict[str, list[float]] = {"as is": [], "similarity": [], "warp": []}
    inside: dict[str, list[float]] = {k: [] for k in whole}
    for i in range(count):
        world = FaceWorld.from_seed(HELD_OUT_SEED_START + i, frames, size)
        ref_marks = world.reference_landmarks if true_reference else eval_reference_face(pipeline, world)
        reference = to_tensor(world.reference)[None]
        for t in range(frames):
            lm, truth = world.landmarks(t), world.frame(t)
            mask = hull_mask(lm.face * size, size)
            outs = {"as is": world.reference}
            for kind in ("similarity", "warp"):
                moved = torch.from_numpy(face_map(kind, ref_marks, lm, size)[None])
                outs[kind] = to_uint8(aligned(reference, moved))[0]
            for name, out in outs.items():
                whole[name].append(psnr(out, truth))
                inside[name].append(psnr(out[mask], truth[mask]))
        print(f"world {i}: " + ", ".join(f"{k} {np.mean(inside[k][-frames:]):.2f}" for k in whole), flush=True)
    for name in whole:
        print(f"{name:>12}: whole frame {np.mean(whole[name]):.2f} dB, face hull +12 px {np.mean(inside[name]):.2f} dB")


if __name__ == "__main__":
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]), int(args[1]), *args[2:], true_reference="--true" in flags)
