"""Pile and no-temporal ablation on the eval's held-out style sequences with a palette's equalise, blur and mix
controls as the preset reads them, then set to the style's own values (an oracle reader; session 21).
Run: PYTHONPATH=. python docs/style/oracle_controls.py MODEL COUNT FRAMES (session 21: runs/ps_w0.01/model 4 96;
docs/style/s21/oracle_controls.txt)."""
import dataclasses, math, sys
import numpy as np, torch
from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.evaluate import stream_sequence, without_temporal
from rain.eval.metrics import summarize
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START

class Oracle(RainPipeline):
    style = None
    def encode_reference(self, image):
        ref = super().encode_reference(image)
        if self.style is None or self.style.family != "palette":
            return ref
        k, p = self.models.preset.config.knots, dict(self.style.params)
        raw = ref.preset.clone()
        raw[:, 6 * k] = 30.0 if p["equalize"] else -30.0
        s = min(max(p["blur"] / self.models.preset.config.max_blur, 1e-4), 1 - 1e-4)
        raw[:, 6 * k + 4] = math.log(s / (1 - s))
        raw[:, 6 * k + 5] = 34.0
        return dataclasses.replace(ref, preset=raw)

models, config = load_models(sys.argv[1])
count, frames = int(sys.argv[2]), int(sys.argv[3])
make = world_factory("style", 256, "palette,grade", "")
for oracle in (False, True):
    pipe = Oracle(models, config)
    ablation = without_temporal(pipe)
    abl = Oracle(ablation.models, ablation.config)
    tot = []
    for i in range(count):
        world = make(HELD_OUT_SEED_START + i, frames)
        row = []
        for p in (pipe, abl):
            p.style = world.style if oracle else None
            pairs = list(stream_sequence(p, world, seed=i))
            m = summarize(np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs]))
            row += [m["psnr"], m["flicker"]]
        tot.append(row)
        print(f"oracle={oracle} seq {i} {world.style.family}: pile {row[0]:.2f} dB flicker {row[1]:.2f} | abl {row[2]:.2f} {row[3]:.2f}", flush=True)
    a = np.array(tot).mean(0)
    print(f"oracle={oracle}: pile {a[0]:.2f} dB flicker {a[1]:.3f} | abl {a[2]:.2f} {a[3]:.3f} | ratio {a[1] / a[3]:.3f}", flush=True)
