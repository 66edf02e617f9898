"""`python -m rain render`: a reference image + a driving video -> an animated mp4, from the terminal.

The driving video goes through the live path frame by frame (crop, detection, smoothing, condition
drawing: `rain.conditioning.Conditioner`), then through the pile (`RainPipeline.render`, which drains
the pile so every driving frame yields an output frame).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Iterator, Sequence

import imageio.v2 as imageio
import numpy as np
from tqdm.auto import tqdm

from rain.checkpoint import load_models
from rain.conditioning import ConditionConfig, Conditioner
from rain.eval.media import write_mp4
from rain.pipeline import RainPipeline

MODE_TO_CONDITION = {"motion": "body", "face": "face", "style": "style"}  # UI mode -> condition drawing


def driving_conditions(video: Path, conditioner: Conditioner) -> Iterator[np.ndarray]:
    """Condition images of every frame of `video`, timed by the video's own frame rate."""
    reader = imageio.get_reader(video)
    fps = float(reader.get_meta_data().get("fps", 25.0))
    try:
        for i, frame in enumerate(reader):
            yield conditioner(np.asarray(frame)[..., :3], t=i / fps).image
    finally:
        reader.close()


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="python -m rain render", description=__doc__)
    p.add_argument("--model", type=Path, default=Path("checkpoints/body"), help="model folder")
    p.add_argument("--reference", type=Path, required=True, help="the character image")
    p.add_argument("--driving", type=Path, required=True, help="the driving video")
    p.add_argument("--mode", choices=sorted(MODE_TO_CONDITION), default="motion")
    p.add_argument("--out", type=Path, required=True, help="the mp4 to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--crop-ratio", type=float, default=ConditionConfig.crop_ratio)
    p.add_argument("--fps", type=float, default=25.0, help="frame rate of the output")
    args = p.parse_args(argv)
    models, config = load_models(args.model)
    pipeline = RainPipeline(models, config)
    reference = np.asarray(imageio.imread(args.reference))[..., :3]
    conditioner = Conditioner(ConditionConfig(mode=MODE_TO_CONDITION[args.mode], resolution=config.resolution,
                                              crop_ratio=args.crop_ratio))
    try:
        frames = pipeline.render(reference, driving_conditions(args.driving, conditioner), seed=args.seed)
        rendered = np.stack(list(tqdm(frames, desc="render", unit="frame")))
    finally:
        conditioner.close()
    write_mp4(args.out, rendered, fps=args.fps)
    print(f"wrote {args.out} ({len(rendered)} frames)")
    return 0
