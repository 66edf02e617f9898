"""The preset's frame alone over many held-out style sequences (session 20): controls as read, and with the equalise
and/or mix controls snapped to 0/1 (a hard choice instead of the reader's hedge).
Run: PYTHONPATH=. python docs/style/preset_snap.py MODEL SEQUENCES FRAMES (session 20: checkpoints/style 24 24;
MODEL's own snap_equalise must be off, or "read" already snaps)."""
import sys
import numpy as np, torch
from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.metrics import summarize
from rain.images import to_tensor, to_uint8
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START
pipeline = RainPipeline(*load_models(sys.argv[1]))
preset = pipeline.models.preset
k = preset.config.knots
count, frames = int(sys.argv[2]), int(sys.argv[3])
make = world_factory("style", 256, "palette,grade", "")
BIG = 30.0
def snapped(raw, eq, mix):
    r = raw.clone()
    if eq:
        r[:, 6 * k] = BIG if r[0, 6 * k] > 0 else -BIG
    if mix:
        r[:, 6 * k + 5] = BIG if r[0, 6 * k + 5] - 4 > 0 else -BIG
    return r
rows = {v: [] for v in ("read", "eq", "mix", "both")}
for i in range(count):
    world = make(HELD_OUT_SEED_START + i, frames)
    ref = pipeline.encode_reference(world.reference)
    conds, truths = [], []
    for _, c, t in world.frames():
        conds.append(c); truths.append(t)
    x, truths = to_tensor(np.stack(conds)), np.stack(truths)
    c = preset.controls(ref.preset)
    line = [f"{i:2d} {world.style.family:8s} eq {dict(world.style.params).get('equalize', '-')!s:5s} read eq "
            f"{float(c['equalise'][0]):.2f} mix {float(c['mix'][0]):.2f}"]
    for name, (eq, mix) in {"read": (0, 0), "eq": (1, 0), "mix": (0, 1), "both": (1, 1)}.items():
        with torch.no_grad():
            m = summarize(to_uint8(preset.apply(x, snapped(ref.preset, eq, mix))), truths)
        rows[name].append((m["psnr"], m["flicker"]))
        line.append(f"{name} {m['psnr']:.2f}/{m['flicker']:.2f}")
    print(" | ".join(line), flush=True)
for name, r in rows.items():
    a = np.array(r)
    print(name, "mean PSNR %.2f flicker %.2f" % tuple(a.mean(0)))
