"""Landmarker test-time augmentation probe (docs/ALIGNED_UNET.md, session 28): the plain points against the average with
the horizontally flipped image's (points mirrored back), and with four 2-px shifts as well, on held-out references.
`PYTHONPATH=. python docs/aligned_unet/landmarker_tta_probe.py MODEL WORLDS [THREADS]` prints the JSON."""
import json, sys
import numpy as np, torch
from rain.checkpoint import load_models
from rain.conditioning.align import FACE_RIGID
from rain.conditioning.landmarks import FACE_MIRROR
from rain.images import to_tensor
from rain.train.config import HELD_OUT_SEED_START
from rain.worlds.face.world import FaceWorld

torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
models, config = load_models(sys.argv[1])
lm = models.landmarker.eval()
size = config.resolution
n = int(sys.argv[2])
mir = list(FACE_MIRROR)

def run(x):
    with torch.no_grad():
        return lm(x)[0].numpy()

def flipped(x):  # the library's second opinion (`FaceLandmarker.mirrored`)
    with torch.no_grad():
        return lm.mirrored(x, mir)[0].numpy()

def shifted(x, dx, dy):
    y = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    p = run(y).copy(); p[:, 0] -= dx / x.shape[-1]; p[:, 1] -= dy / x.shape[-2]
    return p

res = {k: [] for k in ["plain", "flip", "flip_shift"]}
truth = []
for i in range(n):
    w = FaceWorld.from_seed(HELD_OUT_SEED_START + i, 1, size)
    x = to_tensor(w.reference)[None]
    a, b = run(x), flipped(x)
    res["plain"].append(a); res["flip"].append((a + b) / 2)
    sh = [shifted(x, dx, dy) for dx, dy in [(2, 0), (-2, 0), (0, 2), (0, -2)]]
    res["flip_shift"].append((a + b + sum(sh)) / 6)
    truth.append(w.reference_landmarks.face)
truth = np.stack(truth)
out = {}
for k, v in res.items():
    e = np.linalg.norm(np.stack(v) - truth, axis=-1) * size
    r = e[:, list(FACE_RIGID)]
    out[k] = {"all_px": float(e.mean()), "rigid_px": float(r.mean()), "rigid_p90": float(np.percentile(r.mean(1), 90)), "rigid_max": float(r.mean(1).max())}
print(json.dumps(out, indent=1))
