"""How well the live path aligns the reference for a refiner that reads it aligned (RefinerConfig.reference).

Training and the eval use the face world's true landmarks on both sides. Live, MediaPipe finds the reference's
face on the cartoon image and the user's face on the camera (retargeted by the sliders). On held-out face worlds
this compares the live similarity (MediaPipe on the cartoon reference; MediaPipe on the world's human driving
frame, retargeted with the identity's sliders) with the true one: the mean distance, in pixels of the 256 px
frame, by which the two maps place the reference's pixels inside the face's box, and the same for no alignment.
Given a model with a cartoon landmarker (rain/models/landmarker.py), the same for the reference's face found by it
instead of MediaPipe ("landmarker_..." keys).

    PYTHONPATH=. python docs/refiner/align_live.py [WORLDS] [MODEL]
"""
import json
import sys

import numpy as np

from rain.conditioning import ConditionConfig
from rain.conditioning.align import FACE_RIGID, face_similarity, uncropped
from rain.conditioning.crop import prepare_frame
from rain.conditioning.detect_mediapipe import MediaPipeDetector
from rain.conditioning.landmarks import Landmarks
from rain.conditioning.retarget import retarget_face
from rain.checkpoint import load_models
from rain.live.session import reference_landmarks
from rain.pipeline import RainPipeline
from rain.worlds.face.world import FaceWorld

SIZE = 256


def displacement(a: np.ndarray, b: np.ndarray, box: np.ndarray) -> float:
    """Mean distance (px) between where maps a and b put the points of `box` (n, 2)."""
    pa, pb = box @ a[:, :2].T + a[:, 2], box @ b[:, :2].T + b[:, 2]
    return float(np.linalg.norm(pa - pb, axis=1).mean())


def main(worlds: int = 12, model: str = "") -> dict:
    config = ConditionConfig(mode="face", resolution=SIZE)
    det = MediaPipeDetector(body=False, face=True, static_images=True)
    pipeline = RainPipeline(*load_models(model)) if model else None
    ref_err, live, none, found = [], [], [], 0
    landmarker_err, landmarker_live = [], []
    try:
        for i in range(worlds):
            world = FaceWorld.from_seed(1_000_000 + i, 40, SIZE)
            true_ref = world.reference_landmarks
            rigid = list(FACE_RIGID)
            own = None if pipeline is None else pipeline.reference_face(world.reference)
            if own is not None:
                landmarker_err.append(float(np.linalg.norm(own.face[rigid] - true_ref.face[rigid], axis=1).mean() * SIZE))
            marks = reference_landmarks(world.reference, config)
            if marks is None or not marks.has_face():
                continue
            found += 1
            ref = uncropped(marks, config.crop_ratio)
            ref_err.append(float(np.linalg.norm(ref.face[rigid] - true_ref.face[rigid], axis=1).mean() * SIZE))
            lo, hi = true_ref.face.min(0) * SIZE, true_ref.face.max(0) * SIZE
            box = np.stack(np.meshgrid(np.linspace(lo[0], hi[0], 16), np.linspace(lo[1], hi[1], 16)), -1).reshape(-1, 2)
            for t in (0, 20, 39):
                lm = det.detect(prepare_frame(world.driving_frame(t), world.config.driving_crop, 384))
                if lm is None or not lm.has_face():
                    continue
                frame = Landmarks(face=retarget_face(lm.face, world.sliders), face_conf=lm.face_conf)
                true = face_similarity(true_ref, world.landmarks(t), SIZE)
                live.append(displacement(face_similarity(ref, frame, SIZE), true, box))
                if own is not None:
                    landmarker_live.append(displacement(face_similarity(own, frame, SIZE), true, box))
                none.append(displacement(np.eye(2, 3), true, box))
    finally:
        det.close()
    return {"worlds": worlds, "reference_face_found": found, "reference_rigid_error_px": float(np.mean(ref_err)),
            "live_map_error_px": float(np.mean(live)), "live_map_error_px_p90": float(np.percentile(live, 90)),
            "no_alignment_error_px": float(np.mean(none)), "frames": len(live),
            **({"landmarker_rigid_error_px": float(np.mean(landmarker_err)),
                "landmarker_rigid_error_px_max": float(np.max(landmarker_err)),
                "landmarker_live_map_error_px": float(np.mean(landmarker_live)),
                "landmarker_live_map_error_px_p90": float(np.percentile(landmarker_live, 90))} if landmarker_err else {})}


if __name__ == "__main__":
    print(json.dumps(main(*[int(a) if a.isdigit() else a for a in sys.argv[1:]]), indent=1))  # noqa: T201
