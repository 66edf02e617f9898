"""How much of a styled frame is an affine colour map of the camera frame, per 16x16 patch (an upper bound
for the colour skip; docs/COLOUR_SKIP.md). Run: PYTHONPATH=. python docs/colour_skip/style_patch_fit.py"""
import numpy as np

from rain.eval.cli import world_factory
from rain.train.config import HELD_OUT_SEED_START


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / max(((np.clip(a, 0, 1) - b) ** 2).mean(), 1e-12)))


def affine_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares y ~ [x, 1] @ W over the pixels of x (n, 3), y (n, 3)."""
    a = np.c_[x, np.ones(len(x))]
    return a @ np.linalg.lstsq(a, y, rcond=None)[0]


make = world_factory("style", 256, "palette,grade", "")
for i in range(6):
    world = make(HELD_OUT_SEED_START + i, 1)
    _, condition, truth = next(iter(world.frames()))
    x, y = condition / 255.0, truth / 255.0
    fit = np.zeros_like(y)
    for r in range(0, 256, 16):
        for c in range(0, 256, 16):
            fit[r:r + 16, c:c + 16] = affine_fit(x[r:r + 16, c:c + 16].reshape(-1, 3),
                                                 y[r:r + 16, c:c + 16].reshape(-1, 3)).reshape(16, 16, 3)
    whole = affine_fit(x.reshape(-1, 3), y.reshape(-1, 3)).reshape(y.shape)
    print(f"held-out {i} {world.style.family:8s} camera frame {psnr(x, y):5.2f} dB | one affine map per patch "
          f"{psnr(fit, y):5.2f} dB | one for the frame {psnr(whole, y):5.2f} dB")
