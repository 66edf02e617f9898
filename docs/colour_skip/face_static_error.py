"""Where a face model's error lies: pixels where the truth equals the reference (the static background)
against the rest (the moving character); docs/COLOUR_SKIP.md.
Run: PYTHONPATH=. python docs/colour_skip/face_static_error.py checkpoints/face"""
import sys

import numpy as np

from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.evaluate import stream_sequence
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START


def psnr(mse: float) -> float:
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-9)))


pipeline = RainPipeline(*load_models(sys.argv[1]))
make = world_factory("face", 256, "", "dots")
for i in range(3):
    world = make(HELD_OUT_SEED_START + i, 48)
    pairs = list(stream_sequence(pipeline, world, seed=i))
    out, truth = (np.stack([p[k] for p in pairs]).astype(np.float32) for k in (0, 1))
    reference = world.reference.astype(np.float32)[None]
    static = np.abs(truth - reference).max(-1) < 8  # (n, h, w): the truth shows the reference's pixel
    err = ((out - truth) ** 2).mean(-1)
    copied = np.where(static[..., None], reference, out)
    print(f"held-out {i}: PSNR {psnr(err.mean()):5.2f} dB | static share {static.mean():.3f}, MSE static "
          f"{err[static].mean():6.1f}, moving {err[~static].mean():6.1f} | static pixels copied from the "
          f"reference: {psnr(((copied - truth) ** 2).mean()):5.2f} dB")
