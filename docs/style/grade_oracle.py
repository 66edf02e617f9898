"""Where a preset's grade read goes wrong (session 22): for the held-out grade sequences, the preset's frame alone as
read, and with one group of its grade controls replaced by the style's truth (hue, saturation, tone curves, vignette,
and the mix set to 0 = a pure grade), and with all of them.
Run: PYTHONPATH=. python docs/style/grade_oracle.py MODEL SEQUENCES FRAMES (session 22: 24 24)."""
import sys

import numpy as np
import torch
import torch.nn.functional as F

from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.metrics import summarize
from rain.images import to_tensor, to_uint8
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START


def true_raw(preset, raw: torch.Tensor, params: dict) -> dict[str, torch.Tensor]:
    """The raw grade controls that reproduce the style world's grade (see StylePreset.controls)."""
    k = preset.config.knots
    x = np.linspace(0, 1, k)
    curves = np.stack([np.clip(0.5 + (x ** g - 0.5) * params["contrast"], 0, 1) for g in params["gamma"]])
    v = torch.tensor(max(params["vignette"], 1e-4))
    return {"hue": torch.tensor(params["hue"] / 180.0), "saturation": torch.tensor(float(np.log(params["sat"]))),
            "curves": torch.tensor(curves - x, dtype=torch.float32).flatten(),
            "vignette": torch.log(torch.expm1(v)) + 3, "mix": torch.tensor(-40.0)}


def swapped(preset, raw: torch.Tensor, truth: dict, names: tuple[str, ...]) -> torch.Tensor:
    k, out = preset.config.knots, raw.clone()
    slots = {"curves": slice(3 * k, 6 * k), "hue": 6 * k + 1, "saturation": 6 * k + 2, "vignette": 6 * k + 3,
             "mix": 6 * k + 5}
    for n in names:
        out[0, slots[n]] = truth[n]
    return out


VARIANTS = {"read": (), "hue": ("hue",), "sat": ("saturation",), "curves": ("curves",), "vignette": ("vignette",),
            "mix0": ("mix",), "all but hue": ("saturation", "curves", "vignette", "mix"),
            "all but curves": ("hue", "saturation", "vignette", "mix"),
            "all": ("hue", "saturation", "curves", "vignette", "mix")}

pipeline = RainPipeline(*load_models(sys.argv[1]))
preset = pipeline.models.preset
count, frames = int(sys.argv[2]), int(sys.argv[3])
make = world_factory("style", 256, "palette,grade", "")
rows = []
for i in range(count):
    world = make(HELD_OUT_SEED_START + i, frames)
    if world.style.family != "grade":
        continue
    raw = pipeline.encode_reference(world.reference).preset
    conds, truths = zip(*[(c, t) for _, c, t in world.frames()])
    p = dict(world.style.params)
    truth = true_raw(preset, raw, p)
    row = []
    with torch.no_grad():
        for names in VARIANTS.values():
            shown = to_uint8(preset.apply(to_tensor(np.stack(conds)), swapped(preset, raw, truth, names)))
            row.append(summarize(shown, np.stack(truths))["psnr"])
    c = preset.controls(raw)
    print(f"{i:2d} read hue {float(c['hue'][0]) * 180:+.0f} (true {p['hue']:+d}) sat "
          f"{float(c['saturation'][0]):.2f} ({p['sat']:.2f}) mix {float(c['mix'][0]):.2f} | "
          + " ".join(f"{n} {v:.1f}" for n, v in zip(VARIANTS, row)), flush=True)
    rows.append(row)
print(f"grades ({len(rows)}): " + " | ".join(f"{n} {v:.2f}" for n, v in zip(VARIANTS, np.mean(rows, 0))))
