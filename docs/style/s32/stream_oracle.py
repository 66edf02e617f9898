"""Is the flicker ratio bounded by the style read? The eval's held-out sequences streamed by the pile and by its
no-temporal ablation twice: with the preset's controls as read, and with every control the style fixes set to the
style's truth (an oracle reader; session 32). Grades: hue, saturation, tone curves, vignette, mix 0 (pure grade);
palettes: the ramp (the true LUT at the preset's knots), equalise, blur, mix 1 (pure gradient map).
Run: PYTHONPATH=. python docs/style/s32/stream_oracle.py MODEL COUNT FRAMES (session 32: 16 96;
docs/style/s32/stream_oracle_*.txt)."""
import dataclasses
import math
import sys

import numpy as np
import torch

from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.evaluate import stream_sequence, without_temporal
from rain.eval.metrics import summarize
from rain.images import to_tensor, to_uint8
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START
from rain.worlds.style_filters import _ramp_lut, grade_curves


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def true_raw(preset, raw: torch.Tensor, style) -> torch.Tensor:
    """The raw controls with every control the style fixes set to its truth (see StylePreset.controls)."""
    k, p, out = preset.config.knots, dict(style.params), raw.clone()
    base = np.linspace(0, 1, k)
    if style.family == "grade":
        curves = grade_curves(base, p["gamma"], p["contrast"])
        out[0, 3 * k: 6 * k] = torch.tensor(curves - base, dtype=torch.float32).flatten()
        out[0, 6 * k + 1] = p["hue"] / 180.0
        out[0, 6 * k + 2] = math.log(p["sat"])
        out[0, 6 * k + 3] = math.log(math.expm1(max(p["vignette"], 1e-4))) + 3
        out[0, 6 * k + 5] = -40.0
    else:
        lut = _ramp_lut(p["palette"], p["smooth"]).astype(np.float32) / 255.0  # (256, 3)
        ramp = lut[np.round(base * 255).astype(int)].T  # (3, k)
        out[0, : 3 * k] = torch.tensor(ramp - base, dtype=torch.float32).flatten()
        out[0, 6 * k] = 30.0 if p["equalize"] else -30.0
        out[0, 6 * k + 4] = logit(p["blur"] / preset.config.max_blur)
        out[0, 6 * k + 5] = 34.0
    return out


class Oracle(RainPipeline):
    style = None  # the world's style while the oracle is on, else None (controls as read)

    def encode_reference(self, image):
        ref = super().encode_reference(image)
        if self.style is None:
            return ref
        return dataclasses.replace(ref, preset=true_raw(self.models.preset, ref.preset, self.style))


def entry_pile_ablation(pipe: RainPipeline, abl: RainPipeline, world, seed: int) -> list[dict]:
    """The metrics of one sequence's restyled entry, of its stream through the pile and through the ablation."""
    conds, truths = zip(*[(c, t) for _, c, t in world.frames()])
    with torch.no_grad():
        entry = to_uint8(pipe.restyled(pipe.encode_reference(world.reference), to_tensor(np.stack(conds))))
    row = [summarize(entry, np.stack(truths))]
    for p in (pipe, abl):
        pairs = list(stream_sequence(p, world, seed=seed))
        row.append(summarize(np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs])))
    return row


def row_text(row: list[dict]) -> str:
    return " | ".join(f"{n} {m['psnr']:.2f} dB flicker {m['flicker']:.2f}" for n, m in zip(("entry", "pile", "abl"), row))


def mean_text(rows: list) -> str:
    """rows: per sequence, [PSNR, flicker] of entry, pile and ablation."""
    a = np.array(rows).mean(0)
    return (f"mean of {len(rows)}: entry {a[0, 0]:.2f} dB flicker {a[0, 1]:.3f} | pile {a[1, 0]:.2f} {a[1, 1]:.3f} | "
            f"ablation {a[2, 0]:.2f} {a[2, 1]:.3f} | ratio {a[1, 1] / a[2, 1]:.3f}")


def main(model: str, count: int, frames: int) -> None:
    models, config = load_models(model)
    make = world_factory("style", config.resolution, "palette,grade", "")
    pipe = RainPipeline(models, config)
    pipe = Oracle(models, config, precision=pipe.precision)
    abl = without_temporal(pipe)
    abl = Oracle(abl.models, abl.config, precision=abl.precision)
    for oracle in (False, True):
        rows = []
        for i in range(count):
            world = make(HELD_OUT_SEED_START + i, frames)
            pipe.style = abl.style = world.style if oracle else None
            row = entry_pile_ablation(pipe, abl, world, seed=i)
            rows.append([[m["psnr"], m["flicker"]] for m in row])
            print(f"oracle={oracle} {i:2d} {world.style.family:7s} {row_text(row)}", flush=True)
        print(f"oracle={oracle} {mean_text(rows)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
