"""Calibration with the reference's face from MediaPipe or from the face model's cartoon landmarker.

The face tab's calibration (`propose_params`) proposes retarget sliders from the user's neutral face and the
character's face. On held-out face worlds whose reference has its eyes open and mouth closed, the user is the world's
human at the reference's expression and the right answer is the world's own sliders (its cartoon is that human retargeted by
them). This compares the sliders proposed with the reference's face taken from the world's truth, from MediaPipe
(as the face tab does) and from the model's landmarker: the mean absolute error per slider, in slider steps.

    PYTHONPATH=. python docs/refiner/s26/calibration_reference_face.py MODEL [WORLDS]
"""
import json
import sys

import numpy as np

from rain.checkpoint import load_models
from rain.conditioning import ConditionConfig
from rain.conditioning.calibrate import propose_params
from rain.conditioning.retarget import PARAMS_BY_NAME
from rain.live.session import reference_landmarks
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START
from rain.worlds.face.world import FaceWorld


def steps_off(proposed: dict, truth: dict) -> float:
    return float(np.mean([abs(proposed[k] - truth[k]) / PARAMS_BY_NAME[k].step for k in proposed]))


def main(model: str, worlds: int = 48) -> dict:
    pipeline = RainPipeline(*load_models(model))
    config = ConditionConfig(mode="face", resolution=pipeline.config.resolution)
    rows = {"true": [], "mediapipe": [], "landmarker": []}
    used = 0
    for i in range(worlds):
        world = FaceWorld.from_seed(HELD_OUT_SEED_START + i, 1, pipeline.config.resolution)
        e = world.reference_expression.at(0)
        if e["mouth_open"] != 0 or e["eye_open"] != 1:  # eyes open, mouth closed: every proportion measurable
            continue
        marks = reference_landmarks(world.reference, config)
        if marks is None or not marks.has_face():
            continue
        used += 1
        user = world._points(e)[0]  # the human the cartoon was retargeted from
        truth = {k: world.sliders[k] for k in world.sliders}
        for name, face in (("true", world.reference_landmarks.face), ("mediapipe", marks.face),
                           ("landmarker", pipeline.reference_face(world.reference).face)):
            proposed = propose_params(user, face)
            rows[name].append(steps_off({k: proposed[k] for k in truth if k in proposed}, truth))
    return {"model": model, "worlds": worlds, "neutral_references_used": used,
            **{f"{k}_steps_off": float(np.mean(v)) for k, v in rows.items()}}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], *map(int, sys.argv[2:])), indent=1))  # noqa: T201
