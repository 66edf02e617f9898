"""What a style preset could reach on the colour families, with no learning (session 17, docs/STYLE_PRESET.md).

palette: each pixel's grey level looks up the exemplar's mean colour at HSV value 0.08 + 0.9 * grey (the world's
palettes run from value 0.08 to 0.98), with and without the style's own `equalize` flag.
grade: the true grade with one control left at identity, to see which control carries the error.
Frame 0 of held-out seeds 1000000..1000000+N-1. Run: PYTHONPATH=. python docs/style/preset_oracles.py [N]"""
import sys

import cv2
import numpy as np

from rain.train.config import HELD_OUT_SEED_START
from rain.worlds.config import StyleWorldConfig
from rain.worlds.style_filters import Style, grade
from rain.worlds.style_world import StyleWorld

IDENTITY = {"hue": 0, "sat": 1.0, "contrast": 1.0, "gamma": (1.0, 1.0, 1.0), "vignette": 0.0}


def psnr(a, b):
    return min(60.0, float(10 * np.log10(255.0 ** 2 / max(((a.astype(np.float64) - b) ** 2).mean(), 1e-12))))


def value_lookup(camera, exemplar, equalize, bins=64):
    e = exemplar.astype(np.float64) / 255
    value, colours = e.max(-1).ravel(), e.reshape(-1, 3)
    centres = (np.arange(bins) + 0.5) / bins
    idx = np.minimum((value * bins).astype(int), bins - 1)
    seen = np.array([(idx == b).sum() > 5 for b in range(bins)])
    lut = np.stack([colours[idx == b].mean(0) if seen[b] else np.zeros(3) for b in range(bins)])
    lut = np.stack([np.interp(centres, centres[seen], lut[seen, c]) for c in range(3)], -1)
    g = cv2.cvtColor(cv2.GaussianBlur(camera, (0, 0), 1.5), cv2.COLOR_RGB2GRAY)
    g = (cv2.equalizeHist(g) if equalize else g).astype(np.float64) / 255
    return np.stack([np.interp(0.08 + 0.9 * g, centres, lut[:, c]) for c in range(3)], -1) * 255


def main(n):
    config = StyleWorldConfig(families=("palette", "grade"))
    rows = {"palette: camera frame": [], "palette: value lookup": [], "palette: value lookup, true equalize": [],
            "grade: camera frame": [], **{f"grade: all but {k}": [] for k in IDENTITY}}
    for seed in range(HELD_OUT_SEED_START, HELD_OUT_SEED_START + n):
        world = StyleWorld.from_seed(seed, 1, config=config)
        camera, truth, params = world.content(0), world.frame(0).astype(np.float64), dict(world.style.params)
        if world.style.family == "palette":
            rows["palette: camera frame"].append(psnr(camera, truth))
            rows["palette: value lookup"].append(psnr(value_lookup(camera, world.reference, False), truth))
            rows["palette: value lookup, true equalize"].append(
                psnr(value_lookup(camera, world.reference, params["equalize"]), truth))
            continue
        rows["grade: camera frame"].append(psnr(camera, truth))
        for k, v in IDENTITY.items():
            rows[f"grade: all but {k}"].append(psnr(grade(camera, Style("grade", tuple({**params, k: v}.items()))), truth))
    for name, values in rows.items():
        print(f"{name}: {np.mean(values):.2f} dB over {len(values)} frames (PSNR capped at 60)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
