"""A refiner that aligns the reference, scored with the maps the live path would give it.

The eval (`python -m rain eval`) aligns each frame's true landmarks with the reference's face (the model's cartoon
landmarker's, or the world's true one without a landmarker). Live, the camera face comes from MediaPipe, retargeted
by the sliders. Here each held-out face world is streamed three times with the same condition images (the world's),
the maps differing: the true ones (both faces the world's), the live ones (the reference's face as the live path
finds it: the model's landmarker if it has one, else MediaPipe; MediaPipe on the world's human driving frame,
retargeted with the identity's sliders; the identity where no face is found), and none (the identity). PSNR as the
eval's (per sequence over all frames, then the mean). Maps of the kind the model takes (similarities, or warps for a
"warped" refiner). The live maps come from other points than the condition images here (the world's): live, both
come from the same retargeted MediaPipe points, so for a warp, which follows every point, this overstates the cost.

    PYTHONPATH=. python docs/refiner/align_live_eval.py MODEL [SEQUENCES] [FRAMES]
"""
import json
import sys

import numpy as np

from rain.checkpoint import load_models
from rain.conditioning import ConditionConfig
from rain.conditioning.crop import prepare_frame
from rain.conditioning.detect_mediapipe import MediaPipeDetector
from rain.conditioning.landmarks import Landmarks
from rain.conditioning.retarget import retarget_face
from rain.conditioning.warp import face_map, similarity_warp
from rain.eval.metrics import psnr
from rain.live.session import face_reference, reference_landmarks
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START
from rain.worlds.face.world import FaceWorld


def identity_map(pipeline: RainPipeline, size: int) -> np.ndarray:
    """The map that leaves the reference where it is, of the kind the model takes."""
    identity = np.eye(2, 3, dtype=np.float32)
    return similarity_warp(identity, size) if pipeline.face_map == "warp" else identity


def live_maps(pipeline: RainPipeline, world: FaceWorld, size: int, detector: MediaPipeDetector) -> np.ndarray:
    config = ConditionConfig(mode="face", resolution=size)
    marks = reference_landmarks(world.reference, config)
    # the model's landmarker if it has one, as live
    ref = face_reference(pipeline, world.reference, marks, config, searched=True).marks
    identity = identity_map(pipeline, size)
    if ref is None:
        return np.repeat(identity[None], world.num_frames, 0)
    maps = []
    for t in range(world.num_frames):
        lm = detector.detect(prepare_frame(world.driving_frame(t), world.config.driving_crop, 384))
        if lm is None or not lm.has_face():
            maps.append(identity)
            continue
        maps.append(face_map(pipeline.face_map, ref,
                             Landmarks(face=retarget_face(lm.face, world.sliders), face_conf=lm.face_conf), size))
    return np.stack(maps)


def stream(pipeline: RainPipeline, world: FaceWorld, maps: np.ndarray, seed: int) -> float:
    state = pipeline.new_stream(pipeline.encode_reference(world.reference), seed=seed)
    f, out, truths, group = pipeline.frames_per_group, [], [], []
    for t, (_, condition, frame) in enumerate(world.frames()):
        group.append((condition, maps[t]))
        truths.append(frame)
        if len(group) == f:
            out.extend(pipeline.step_group(state, group))
            group = []
    if group:
        out.extend(pipeline.step_group(state, group))
    for frames in pipeline.drain(state):
        out.extend(frames)
    return psnr(np.stack(out), np.stack(truths))


def main(model: str, sequences: int = 16, frames: int = 96) -> dict:
    models, config = load_models(model)
    pipeline, size = RainPipeline(models, config), config.resolution
    detector = MediaPipeDetector(body=False, face=True, static_images=False)  # tracking, as a camera stream
    rows = {"true": [], "live": [], "none": []}
    try:
        for i in range(sequences):
            world = FaceWorld.from_seed(HELD_OUT_SEED_START + i, frames, size)
            true = np.stack([face_map(pipeline.face_map, world.reference_landmarks, world.landmarks(t), size)
                             for t in range(frames)])
            maps = {"true": true, "live": live_maps(pipeline, world, size, detector),
                    "none": np.repeat(identity_map(pipeline, size)[None], frames, 0)}
            for name, m in maps.items():
                rows[name].append(stream(pipeline, world, m, seed=i))
    finally:
        detector.close()
    return {"model": model, "sequences": sequences, "frames": frames,
            **{f"psnr_{k}_maps": float(np.mean(v)) for k, v in rows.items()},
            "per_sequence": {k: [round(x, 2) for x in v] for k, v in rows.items()}}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], *map(int, sys.argv[2:])), indent=1))  # noqa: T201
