"""The preset's frame alone on the eval's held-out palette sequences with the blur as read, then set to the style's
own sigma (everything else as read): what a better blur reader would give at the entry (session 31).
Run: PYTHONPATH=. python docs/style/s31/blur_oracle.py MODEL COUNT FRAMES (session 31: checkpoints/style 16 96;
docs/style/s31/blur_oracle.txt)."""
import math
import sys

import numpy as np
import torch

from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.metrics import summarize
from rain.images import to_tensor, to_uint8
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START

torch.set_num_threads(1)
pipeline = RainPipeline(*load_models(sys.argv[1]))
preset = pipeline.models.preset
count, frames = int(sys.argv[2]), int(sys.argv[3])
make = world_factory("style", 256, "palette,grade", "")
for i in range(count):
    world = make(HELD_OUT_SEED_START + i, frames)
    if world.style.family != "palette":
        continue
    ref = pipeline.encode_reference(world.reference)
    conds, truths = zip(*[(c, t) for _, c, t in world.frames()])
    x, truth = to_tensor(np.stack(conds)), np.stack(truths)
    p = dict(world.style.params)
    raw = ref.preset.clone()
    read = float(preset.controls(raw)["blur"][0]) * preset.config.max_blur
    s = min(max(p["blur"] / preset.config.max_blur, 1e-4), 1 - 1e-4)
    true = raw.clone()
    true[:, 6 * preset.config.knots + 4] = math.log(s / (1 - s))
    with torch.no_grad():
        a = summarize(to_uint8(preset.apply(x, raw)), truth)
        b = summarize(to_uint8(preset.apply(x, true)), truth)
    print(f"{i:2d} smooth {p['smooth']!s:5s} eq {p['equalize']!s:5s} blur {p['blur']:.2f} read {read:.2f} | "
          f"as read {a['psnr']:.2f} dB flicker {a['flicker']:.2f} | true blur {b['psnr']:.2f} dB flicker {b['flicker']:.2f}",
          flush=True)
