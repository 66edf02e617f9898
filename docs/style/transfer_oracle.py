"""How far a fixed statistics transfer from the exemplar gets on the style world, with no learning: the camera
frame's colours matched to the exemplar's. Run: PYTHONPATH=. python docs/style/transfer_oracle.py [FAMILIES] [N]"""
import sys

import cv2
import numpy as np
from skimage.exposure import match_histograms

from rain.eval.cli import world_factory
from rain.train.config import HELD_OUT_SEED_START


def psnr(a, b):
    return float(10 * np.log10(255.0 ** 2 / max(((a.astype(np.float64) - b) ** 2).mean(), 1e-12)))


def reinhard(x, ref):
    """Lab mean and std of x matched to ref's (Reinhard et al. 2001)."""
    a, r = (cv2.cvtColor(i, cv2.COLOR_RGB2LAB).astype(np.float32) for i in (x, ref))
    out = (a - a.mean((0, 1))) / (a.std((0, 1)) + 1e-6) * r.std((0, 1)) + r.mean((0, 1))
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def luminance_rank(x, ref, bins=64):
    """Each pixel takes the exemplar's mean colour at the same luminance quantile."""
    gx = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).ravel().astype(np.float64)
    gr = cv2.cvtColor(ref, cv2.COLOR_RGB2GRAY).ravel()
    order = np.argsort(gr, kind="stable")
    colours = ref.reshape(-1, 3)[order].astype(np.float64)  # exemplar pixels by luminance
    lut = np.stack([c.mean(0) for c in np.array_split(colours, bins)])  # (bins, 3) per quantile bin
    rank = (np.argsort(np.argsort(gx, kind="stable"), kind="stable") + 0.5) / gx.size  # quantile of each pixel
    return lut[np.minimum((rank * bins).astype(int), bins - 1)].reshape(x.shape).astype(np.uint8)


METHODS = {"camera frame": lambda x, r: x, "Lab mean/std (Reinhard)": reinhard,
           "RGB histogram match": lambda x, r: match_histograms(x, r, channel_axis=-1).astype(np.uint8),
           "luminance rank": luminance_rank}

families, n = (sys.argv[1] if len(sys.argv) > 1 else "palette,grade"), int(sys.argv[2]) if len(sys.argv) > 2 else 12
make = world_factory("style", 256, families, "")
scores = {m: [] for m in METHODS}
for i in range(n):
    world = make(HELD_OUT_SEED_START + i, 1)
    _, condition, truth = next(iter(world.frames()))
    content = world.content(0)
    row = {m: psnr(f(content, world.reference), truth) for m, f in METHODS.items()}
    for m, v in row.items():
        scores[m].append(v)
    print(f"{i:2d} {world.style.family:12s} " + " | ".join(f"{m} {v:5.2f}" for m, v in row.items()))
print("mean dB: " + " | ".join(f"{m} {np.mean(v):5.2f}" for m, v in scores.items()))
