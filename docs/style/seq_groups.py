"""One held-out style sequence streamed at several pile shapes and strengths (session 24).

`PYTHONPATH=. python docs/style/seq_groups.py MODEL INDEX FRAMES` streams held-out sequence INDEX of palette + grade
(the same world `python -m rain eval --mode style --style-families palette,grade` draws) with 1, 2 and 4 groups at
strength 0.7, and 4 groups at 0.4 and 1.0, and prints the mean PSNR and the PSNR of every 8 frames. A pile whose
error grows with its number of groups and along the sequence feeds on its own estimates (docs/ROLLOUT.md).
"""

import sys

import numpy as np

from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.metrics import psnr
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START

SETTINGS = ((1, 0.7), (2, 0.7), (4, 0.7), (4, 0.4), (4, 1.0))  # (groups, strength)


def stream(pipeline: RainPipeline, world, conditions: np.ndarray, groups: int, strength: float, seed: int) -> list:
    state = pipeline.new_stream(pipeline.encode_reference(world.reference), seed=seed, strength=strength,
                                num_groups=groups)
    f, out = state.frames_per_group, []
    for i in range(0, len(conditions), f):
        out += list(pipeline.step(state, conditions[i:i + f]))
    for frames in pipeline.drain(state):
        out += list(frames)
    return out


def main(model: str, index: int, frames: int) -> None:
    pipeline = RainPipeline(*load_models(model))
    world = world_factory("style", pipeline.config.resolution, "palette,grade", "")(HELD_OUT_SEED_START + index, frames)
    conditions, truths = map(np.stack, zip(*[(c, t) for _, c, t in world.frames()]))
    for groups, strength in SETTINGS:
        scores = [psnr(o, t) for o, t in zip(stream(pipeline, world, conditions, groups, strength, index), truths)]
        per8 = [round(float(np.mean(scores[i:i + 8])), 1) for i in range(0, len(scores), 8)]
        print(groups, strength, "mean", round(float(np.mean(scores)), 2), "per8", per8, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
