"""How far can a read of one exemplar take the flicker ratio? Session 32's stream oracle (docs/style/s32/
stream_oracle.py) set every control the style fixes to its truth, including the ones the exemplar carries no
evidence of. This probe keeps those as read: a grade's hue rotation when the exemplar's content has no known hue
(a body-world figure, whose shirt, background and 40% of skins take a uniformly random hue; or a grey photo), and
also its saturation gain on a grey photo (grey stays grey at any gain). Everything else is set to the truth, so
this is still generous: the tone curves are read perfectly although the exemplar's own colour cast hides them.
Run: PYTHONPATH=. python docs/style/s34/readable_oracle.py MODEL COUNT FRAMES (session 34: checkpoints/style 16 96;
docs/style/s34/readable_oracle.txt)."""
import dataclasses
import sys

import numpy as np
import torch

from docs.style.s32.stream_oracle import entry_pile_ablation, mean_text, row_text, true_raw
from rain.checkpoint import load_models
from rain.eval.cli import world_factory
from rain.eval.evaluate import without_temporal
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START

GREY_CHROMA = 4.0  # mean |max - min| over RGB (0..255) below which an exemplar's content counts as grey


def blind_controls(world) -> tuple[str, ...]:
    """The grade controls the exemplar's unstyled content carries no evidence of."""
    if world.style.family != "grade":
        return ()
    content = world.reference_content.astype(np.float32)
    if float((content.max(-1) - content.min(-1)).mean()) < GREY_CHROMA:
        return ("hue", "sat")
    return ("hue",) if world.reference_source.kind == "body" else ()


def readable_raw(preset, raw: torch.Tensor, world) -> torch.Tensor:
    """True controls, but the blind ones as read."""
    k, out = preset.config.knots, true_raw(preset, raw, world.style)
    for name in blind_controls(world):
        i = 6 * k + {"hue": 1, "sat": 2}[name]
        out[0, i] = raw[0, i]
    return out


class Readable(RainPipeline):
    world = None

    def encode_reference(self, image):
        ref = super().encode_reference(image)
        return dataclasses.replace(ref, preset=readable_raw(self.models.preset, ref.preset, self.world))


def main(model: str, count: int, frames: int) -> None:
    models, config = load_models(model)
    make = world_factory("style", config.resolution, "palette,grade", "")
    pipe = Readable(models, config, precision=RainPipeline(models, config).precision)
    abl = without_temporal(pipe)
    abl = Readable(abl.models, abl.config, precision=abl.precision)
    rows = []
    for i in range(count):
        world = make(HELD_OUT_SEED_START + i, frames)
        pipe.world = abl.world = world
        row = entry_pile_ablation(pipe, abl, world, seed=i)
        rows.append([[m["psnr"], m["flicker"]] for m in row])
        src = world.reference_source
        print(f"{i:2d} {world.style.family:7s} exemplar {src.kind}/{getattr(src, 'name', None)} blind "
              f"{','.join(blind_controls(world)) or '-'} | {row_text(row)}", flush=True)
    print(mean_text(rows), flush=True)

if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
