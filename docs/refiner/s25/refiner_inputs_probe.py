"""Probe (session 25): which refiner inputs pay, on the shipped face model's own streamed frames.

Streams N_TRAIN training worlds x 12 frames and 16 held-out worlds x 48 frames once through the shipped UNet (no
refiner), then fine-tunes a copy of the shipped refiner for STEPS steps (8 crops of 128 px, lr 5e-4, cosine) per
variant and scores it on the held-out frames (PSNR per sequence, then the mean):
- `dots`: the 26-dot condition and the reference as it is (the shipped inputs; the control);
- `contours`: the 68-point contour drawing instead of the dots;
- `both`: the dots over the contours at half brightness;
- a `_w` suffix: the reference moved onto each frame by the similarity of the face landmarks (cv2, RANSAC).

    PYTHONPATH=. python docs/refiner/s25/refiner_inputs_probe.py 512 8000 contours,dots,dots_w ""
"""
import dataclasses, sys, time, json, copy
import cv2, numpy as np, torch, torch.nn.functional as F
from rain.checkpoint import load_models
from rain.pipeline import RainPipeline
from rain.images import to_tensor
from rain.conditioning.draw import draw_face_contours, draw_face_dots
from rain.worlds.face.world import make_clip, make_sequence
from rain.conditioning.config import ConditionConfig

torch.manual_seed(0)
N_TRAIN, T, N_EVAL, T_EVAL, STEPS = int(sys.argv[1]), 12, 16, 48, int(sys.argv[2])
models, config = load_models("checkpoints/face")
pipe = RainPipeline(dataclasses.replace(models, refiner=None), config)
size = config.resolution

def contours(lm):
    return draw_face_contours(lm.face, size, ConditionConfig.face_line_width, lm.face_conf)

def both(lm, dots):
    c = contours(lm)
    return np.where(dots.max(-1, keepdims=True) > 0, dots, c // 2)

RIGID = list(range(0, 17)) + list(range(27, 36)) + [36, 39, 42, 45]

def warp(ref, ref_lm, lm):
    m, _ = cv2.estimateAffinePartial2D(ref_lm.face[RIGID] * size, lm.face[RIGID] * size)
    return cv2.warpAffine(ref, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

def stream(clips):
    d = {k: [] for k in ("frames", "dots", "contours", "both", "truths", "refs", "warped")}
    for i, clip in enumerate(clips):
        out = np.stack(list(pipe.render(clip.reference, clip.conditions, seed=i)))
        c = np.stack([contours(lm) for lm in clip.landmarks])
        b = np.stack([both(lm, dd) for lm, dd in zip(clip.landmarks, clip.conditions)])
        d["frames"].append(out); d["dots"].append(clip.conditions); d["contours"].append(c); d["both"].append(b)
        d["warped"].append(np.stack([warp(clip.reference, clip.reference_landmarks, lm) for lm in clip.landmarks]))
        d["truths"].append(clip.frames); d["refs"].append(np.repeat(clip.reference[None], len(out), 0))
    return {k: np.concatenate(v) for k, v in d.items()}

t0 = time.time()
rng = np.random.default_rng(123)
train = stream(make_clip(np.random.default_rng(int(rng.integers(0, 1_000_000))), T) for _ in range(N_TRAIN))
print("train streamed", time.time() - t0, flush=True)
held = stream(make_sequence(1_000_000 + i, T_EVAL) for i in range(N_EVAL))
print("held streamed", time.time() - t0, flush=True)

def evaluate(refiner, key, rkey='refs'):
    mses = []
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
        for s in range(0, len(held["frames"]), 8):
            sl = slice(s, s + 8)
            y = refiner(to_tensor(held["frames"][sl]), to_tensor(held[key][sl]), to_tensor(held[rkey][sl])).float()
            y = (y.clamp(0, 1) * 255).round() / 255
            mses.append(((y - to_tensor(held["truths"][sl])) ** 2).flatten(1).mean(1))
    mse = torch.cat(mses).view(N_EVAL, T_EVAL).mean(1)
    return float((10 * torch.log10(1 / mse)).mean())

def train_one(key, init, rkey):
    ref = copy.deepcopy(models.refiner) if init else type(models.refiner)(config.refiner.width, config.refiner.levels)
    ref.train()
    opt = torch.optim.AdamW(ref.parameters(), lr=5e-4, weight_decay=0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, (s + 1) / 100) * (0.1 + 0.45 * (1 + np.cos(np.pi * s / STEPS))))
    g = np.random.default_rng(5); n = len(train["frames"]); c = 128
    for step in range(STEPS):
        picks = g.integers(0, n, 8); tops, lefts = g.integers(0, size - c + 1, (2, 8))
        cr = lambda a: to_tensor(np.stack([a[r, t:t + c, l:l + c] for r, t, l in zip(picks, tops, lefts)]))
        with torch.autocast("cpu", torch.bfloat16):
            y = ref(cr(train["frames"]), cr(train[key]), cr(train[rkey]))
        loss = F.mse_loss(y.float(), cr(train["truths"]))
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(ref.parameters(), 1.0); opt.step(); sched.step()
        if step % 1000 == 0:
            print(key, step, float(loss), time.time() - t0, flush=True)
    return ref.eval()

res = {"shipped_dots": evaluate(models.refiner, "dots"), "none": None}
with torch.no_grad():
    unrefined = 10 * np.log10(1 / ((held["frames"] / 255. - held["truths"] / 255.) ** 2).reshape(N_EVAL, -1).mean(1))
res["none"] = float(unrefined.mean())
print(res, flush=True)
res["shipped_warped_input"] = evaluate(models.refiner, "dots", "warped")
print(res, flush=True)
for key, init in [(k, True) for k in sys.argv[3].split(",")] + [(k, False) for k in sys.argv[4].split(",") if k]:
    rkey = "warped" if key.endswith("_w") else "refs"
    key = key.removesuffix("_w")
    r = train_one(key, init, rkey)
    res[f"{key}_{rkey}_{'ft' if init else 'scratch'}"] = evaluate(r, key, rkey)
    print(res, flush=True)
    torch.save(r.state_dict(), f"runs/rc/{key}_{'ft' if init else 'scratch'}.pt")
json.dump(res, open("runs/rc/res.json", "w"), indent=1)
