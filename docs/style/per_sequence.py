"""Per-sequence held-out metrics of a style model and of its no-temporal ablation (session 19).

`PYTHONPATH=. python docs/style/per_sequence.py MODEL` streams the same 4 x 96 held-out frames of palette + grade
that `python -m rain eval --mode style --style-families palette,grade --sequences 4 --frames 96` averages, and
prints each sequence's family and metrics, so one can see which style the error and the flicker come from.
`... per_sequence.py MODEL COUNT FRAMES` takes other counts (session 21: 16 96); a model with a preset also gets
its restyled frame alone ("entry") per sequence.
"""

import sys

import numpy as np
import torch

from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.evaluate import stream_sequence, without_temporal
from rain.eval.metrics import summarize
from rain.images import to_tensor, to_uint8
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START

SHOWN = ("psnr", "ssim", "flicker", "edge_ratio")


def main(model: str, count: int = 4, frames: int = 96) -> None:
    pipeline = RainPipeline(*load_models(model))
    make_world = world_factory("style", pipeline.config.resolution, "palette,grade", "")
    if pipeline.models.preset is not None:
        for i in range(count):
            world = make_world(HELD_OUT_SEED_START + i, frames)
            conditions, truths = zip(*[(c, t) for _, c, t in world.frames()])
            with torch.no_grad():
                shown = to_uint8(pipeline.restyled(pipeline.encode_reference(world.reference), to_tensor(np.stack(conditions))))
            metrics = summarize(shown, np.stack(truths))
            print("entry", i, world.style.family, dict(world.style.params).get("blur", "-"),
                  {k: round(metrics[k], 2) for k in SHOWN}, flush=True)
    for name, streamed in (("pile", pipeline), ("ablation", without_temporal(pipeline))):
        for i in range(count):
            world = make_world(HELD_OUT_SEED_START + i, frames)
            pairs = list(stream_sequence(streamed, world, seed=i))
            metrics = summarize(np.stack([o for o, _ in pairs]), np.stack([t for _, t in pairs]))
            print(name, i, world.style.family, dict(world.style.params).get("blur", "-"),
                  {k: round(metrics[k], 2) for k in SHOWN}, flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "checkpoints/style", *map(int, sys.argv[2:4]))
