"""Oracle for the reference shift (docs/REFERENCE_SHIFT.md): per 16x16 patch of a held-out face frame, copy the
reference's patch under the best integer shift (picked with the truth) on a STEP-pixel grid within +-RADIUS.
Prints PSNR of the reference as-is and of the best-shift copy, and their MSE on the moving pixels (where the
truth differs from the reference by >= 8 in some channel).

    PYTHONPATH=. python docs/reference_shift/shift_oracle.py RADIUS STEP      # e.g. 16 4
"""
import sys

import numpy as np

from rain.eval.cli import world_factory
from rain.train.config import HELD_OUT_SEED_START

RADIUS, STEP, PATCH = int(sys.argv[1]), int(sys.argv[2]), 16


def psnr(mse: float) -> float:
    return float(10 * np.log10(255.0**2 / max(mse, 1e-9)))


def best_shift_copy(truth: np.ndarray, reference: np.ndarray) -> np.ndarray:
    padded = np.pad(reference, ((RADIUS, RADIUS), (RADIUS, RADIUS), (0, 0)), mode="edge")
    copy = np.zeros_like(truth)
    shifts = range(-RADIUS, RADIUS + 1, STEP)
    for a in range(0, truth.shape[0], PATCH):
        for b in range(0, truth.shape[1], PATCH):
            target = truth[a:a + PATCH, b:b + PATCH]
            options = [padded[RADIUS + a + dy:RADIUS + a + dy + PATCH, RADIUS + b + dx:RADIUS + b + dx + PATCH]
                       for dy in shifts for dx in shifts]
            copy[a:a + PATCH, b:b + PATCH] = min(options, key=lambda o: float(((o - target) ** 2).sum()))
    return copy


make = world_factory("face", 256, "", "dots")
for i in range(3):
    world = make(HELD_OUT_SEED_START + i, 48)
    reference = np.asarray(world.reference).astype(np.float32)
    for k, (_, _, truth) in enumerate(world.frames()):
        if k not in (12, 36):
            continue
        truth = truth.astype(np.float32)
        moving = np.abs(truth - reference).max(-1) >= 8
        as_is, copy = ((reference - truth) ** 2).mean(-1), ((best_shift_copy(truth, reference) - truth) ** 2).mean(-1)
        print(f"held-out {i} frame {k}: reference as-is {psnr(as_is.mean()):.2f} dB (moving MSE {as_is[moving].mean():.0f}),"
              f" best-shift copy {psnr(copy.mean()):.2f} dB (moving MSE {copy[moving].mean():.0f}),"
              f" moving share {moving.mean():.3f}", flush=True)
