"""Per-sequence held-out metrics of a style model and of its no-temporal ablation (session 19).

`PYTHONPATH=. python docs/style/per_sequence.py MODEL` streams the same 4 x 96 held-out frames of palette + grade
that `python -m rain eval --mode style --style-families palette,grade --sequences 4 --frames 96` averages, and
prints each sequence's family and metrics, so one can see which style the error and the flicker come from.
"""

import sys

import numpy as np

from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.evaluate import stream_sequence, without_temporal
from rain.eval.metrics import summarize
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START

SHOWN = ("psnr", "ssim", "flicker", "edge_ratio")


def main(model: str, count: int = 4, frames: int = 96) -> None:
    pipeline = RainPipeline(*load_models(model))
    make_world = world_factory("style", pipeline.config.resolution, "palette,grade", "")
    for name, streamed in (("pile", pipeline), ("ablation", without_temporal(pipeline))):
        for i in range(count):
            world = make_world(HELD_OUT_SEED_START + i, frames)
            pairs = list(stream_sequence(streamed, world, seed=i))
            metrics = summarize(np.stack([o for o, _ in pairs]), np.stack([t for _, t in pairs]))
            print(name, i, world.style.family, dict(world.style.params).get("blur", "-"),
                  {k: round(metrics[k], 2) for k in SHOWN}, flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "checkpoints/style")
