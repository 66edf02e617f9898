"""Gate and chosen-shift statistics of a reference-shift face model over held-out sequence 0 (24 frames):
    PYTHONPATH=. python docs/reference_shift/shift_stats.py MODEL_DIR
Joint shifts: the largest weight of the 2-D softmax; separable: the largest weight of each axis's softmax."""
import sys, torch, numpy as np
from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.evaluate import stream_sequence
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START
from rain.models.colour_skip import RATE
from rain.models.reference_shift import shift_offsets
models, config = load_models(sys.argv[1])
shift = models.unet.shift
got = []
shift.weights.register_forward_hook(lambda m, i, o: got.append(o.detach().float() * RATE))
pipe = RainPipeline(models, config)
world = world_factory("face", 256, "", "dots")(HELD_OUT_SEED_START, 24)
list(stream_sequence(pipe, world, seed=0))
o = torch.cat(got)  # (n, logits + 1, 16, 16)
gate, q = o[:, -1], torch.tensor([.5, .9])
if shift.axes == "joint":
    w = o[:, :-1].softmax(1)
    off = torch.tensor(shift_offsets(shift.radius), dtype=torch.float32)  # (S, 2)
    mean_shift = torch.einsum("nshw,sd->ndhw", w, off)
    peak = w.max(1).values
else:
    axis = torch.arange(-shift.radius, shift.radius + 1, dtype=torch.float32)
    wy, wx = (x.softmax(1) for x in o[:, :-1].chunk(2, dim=1))  # (n, 2r + 1, 16, 16) each
    mean_shift = torch.stack([torch.einsum("nshw,s->nhw", w, axis) for w in (wy, wx)], 1)
    peak = torch.cat([wy.max(1).values, wx.max(1).values])
print("gate p10/p50/p90 %.3f %.3f %.3f" % tuple(gate.quantile(torch.tensor([.1, .5, .9])).tolist()),
      "| max weight p50/p90 %.3f %.3f" % tuple(peak.quantile(q).tolist()),
      "| |mean shift| px p50/p90/max %.2f %.2f %.2f" % tuple(mean_shift.norm(dim=1).flatten().quantile(torch.tensor([.5, .9, 1.0])).tolist()))
