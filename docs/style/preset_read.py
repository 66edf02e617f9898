"""What a preset reads off held-out exemplars against the style's own parameters, and its frame alone (session 21).
Per family: palettes' mix (1 is right), equalise read on the right side, blur error in px; and the preset's frame
alone (PSNR, flicker), with the model's own snapping.
Run: PYTHONPATH=. python docs/style/preset_read.py MODEL SEQUENCES FRAMES (session 21: 24 24)."""
import sys

import numpy as np
import torch

from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.metrics import summarize
from rain.images import to_tensor, to_uint8
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START

pipeline = RainPipeline(*load_models(sys.argv[1]))
preset = pipeline.models.preset
count, frames = int(sys.argv[2]), int(sys.argv[3])
make = world_factory("style", 256, "palette,grade", "")
rows = {"palette": [], "grade": []}
for i in range(count):
    world = make(HELD_OUT_SEED_START + i, frames)
    ref = pipeline.encode_reference(world.reference)
    conds, truths = zip(*[(c, t) for _, c, t in world.frames()])
    with torch.no_grad():
        m = summarize(to_uint8(pipeline.restyled(ref, to_tensor(np.stack(conds)))), np.stack(truths))
    c = {k: float(v[0]) for k, v in preset.controls(ref.preset).items() if v.ndim == 1}
    p = dict(world.style.params)
    sigma = c["blur"] * preset.config.max_blur
    row = [m["psnr"], m["flicker"], c["mix"]]
    if world.style.family == "palette":
        row += [float((c["equalise"] > 0.5) == p["equalize"]), abs(sigma - p["blur"])]
        print(f"{i:2d} palette eq {p['equalize']!s:5s} read {c['equalise']:.2f} mix {c['mix']:.2f} "
              f"blur {p['blur']:.2f} read {sigma:.2f} | {m['psnr']:.2f} dB flicker {m['flicker']:.2f}", flush=True)
    else:
        print(f"{i:2d} grade   mix {c['mix']:.2f} | {m['psnr']:.2f} dB flicker {m['flicker']:.2f}", flush=True)
    rows[world.style.family].append(row)
for family, r in rows.items():
    a = np.array(r).mean(0)
    extra = f" equalise right {a[3]:.2f} blur error {a[4]:.2f} px" if family == "palette" else ""
    print(f"{family} ({len(r)}): PSNR {a[0]:.2f} flicker {a[1]:.2f} mix {a[2]:.2f}{extra}")
a = np.array([x[:2] for r in rows.values() for x in r]).mean(0)
print(f"all ({count}): PSNR {a[0]:.2f} flicker {a[1]:.2f}")
