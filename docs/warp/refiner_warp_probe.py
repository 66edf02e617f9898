"""Probe (session 29): does the refiner gain from a reference moved by all 68 face points (a thin-plate spline)
rather than by one similarity (what the shipped refiner reads)?

Streams N_TRAIN training worlds x 12 frames and 16 held-out worlds x 48 frames once through the shipped face UNet (no
refiner), then fine-tunes a copy of the shipped refiner for STEPS steps (8 crops of 128 px, lr 5e-4, cosine) per
variant on the same crops and scores it on the held-out frames (PSNR per sequence, then the mean), as session 25's
docs/refiner/s25/refiner_inputs_probe.py did:
- `sim`: the reference moved by the similarity of the rigid points (the shipped input; the control);
- `tps`: moved by a thin-plate spline through the 68 points, pinned to that similarity on a ring around the face
  (`rain.conditioning.warp.face_warp`; session 29's recorded run, docs/warp/refiner_warp_probe_512_8000.json, used
  this script's first version, the same spline on a 65-node grid and cv2.remap: git history).
Training worlds move the reference by their true faces; held-out ones by the shipped landmarker's points on the
reference and the frames' true faces, as `rain eval` does.

    PYTHONPATH=. python docs/warp/refiner_warp_probe.py 512 8000 sim,tps
"""
import copy
import dataclasses
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from rain.checkpoint import load_models
from rain.conditioning.align import face_similarity
from rain.conditioning.warp import face_map
from rain.eval.evaluate import eval_reference_face
from rain.images import to_tensor, to_uint8
from rain.models.refiner import aligned
from rain.pipeline import RainPipeline
from rain.worlds.face.world import FaceWorld, make_clip


torch.manual_seed(0)
N_TRAIN, T, N_EVAL, T_EVAL, STEPS = int(sys.argv[1]), 12, 16, 48, int(sys.argv[2])
models, config = load_models("checkpoints/face")
pipe = RainPipeline(dataclasses.replace(models, refiner=None), config)
size = config.resolution


def moved(reference, ref_face, faces):
    image = to_tensor(reference)[None]
    sim, tps = (to_uint8(aligned(image, torch.from_numpy(np.stack([face_map(kind, ref_face, lm, size) for lm in faces]))))
                for kind in ("similarity", "warp"))
    return sim, tps


def stream(items):
    d = {k: [] for k in ("frames", "dots", "truths", "sim", "tps")}
    for i, (reference, ref_face, faces, conditions, truths) in enumerate(items):
        inputs = list(zip(conditions, [face_similarity(ref_face, lm, size) for lm in faces]))
        out = np.stack(list(pipe.render(reference, inputs if pipe.aligns_reference else conditions, seed=i)))
        sim, tps = moved(reference, ref_face, faces)
        d["frames"].append(out), d["dots"].append(np.stack(conditions)), d["truths"].append(np.stack(truths))
        d["sim"].append(sim), d["tps"].append(tps)
    return {k: np.concatenate(v) for k, v in d.items()}


def train_items(n, seed=123):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        clip = make_clip(np.random.default_rng(int(rng.integers(0, 1_000_000))), T)
        yield clip.reference, clip.reference_landmarks, clip.landmarks, clip.conditions, clip.frames


def held_items(n):
    for i in range(n):
        world = FaceWorld.from_seed(1_000_000 + i, T_EVAL, size)
        lms, conds, truths = zip(*world.frames())
        yield world.reference, eval_reference_face(pipe, world), list(lms), list(conds), list(truths)


def evaluate(refiner, rkey):
    mses = []
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
        for s in range(0, len(held["frames"]), 8):
            sl = slice(s, s + 8)
            y = refiner(to_tensor(held["frames"][sl]), to_tensor(held["dots"][sl]), to_tensor(held[rkey][sl])).float()
            y = (y.clamp(0, 1) * 255).round() / 255
            mses.append(((y - to_tensor(held["truths"][sl])) ** 2).flatten(1).mean(1))
    mse = torch.cat(mses).view(N_EVAL, T_EVAL).mean(1)
    return float((10 * torch.log10(1 / mse)).mean())


def train_one(rkey):
    ref = copy.deepcopy(models.refiner).train()
    opt = torch.optim.AdamW(ref.parameters(), lr=5e-4, weight_decay=0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1, (s + 1) / 100) * (0.1 + 0.45 * (1 + np.cos(np.pi * s / STEPS))))
    g = np.random.default_rng(5)
    n, c = len(train["frames"]), 128
    for step in range(STEPS):
        picks = g.integers(0, n, 8)
        tops, lefts = g.integers(0, size - c + 1, (2, 8))
        cr = lambda a: to_tensor(np.stack([a[r, t:t + c, l:l + c] for r, t, l in zip(picks, tops, lefts)]))  # noqa: E731
        with torch.autocast("cpu", torch.bfloat16):
            y = ref(cr(train["frames"]), cr(train["dots"]), cr(train[rkey]))
        loss = F.mse_loss(y.float(), cr(train["truths"]))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ref.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 1000 == 0:
            print(rkey, step, float(loss), round(time.time() - t0), flush=True)
    return ref.eval()


t0 = time.time()
train = stream(train_items(N_TRAIN))
print("train streamed", round(time.time() - t0), flush=True)
held = stream(held_items(N_EVAL))
print("held streamed", round(time.time() - t0), flush=True)
res = {"none": float(np.mean(10 * np.log10(1 / ((held["frames"] / 255. - held["truths"] / 255.) ** 2)
                                          .reshape(N_EVAL, -1).mean(1)))),
       "shipped_sim": evaluate(models.refiner, "sim"), "shipped_tps": evaluate(models.refiner, "tps")}
print(res, flush=True)
for rkey in sys.argv[3].split(","):
    res[f"{rkey}_ft"] = evaluate(train_one(rkey), rkey)
    print(res, flush=True)
json.dump(res, open(sys.argv[4] if len(sys.argv) > 4 else "runs/warp_probe.json", "w"), indent=1)
