"""`python -m rain render`: a reference image + a driving video -> an animated mp4, from the terminal.

The driving video goes through the live path frame by frame (crop, detection, smoothing, condition
drawing: `rain.conditioning.Conditioner`), then through the pile (`RainPipeline.render`, which drains
the pile so every driving frame yields an output frame).

`--weights` takes a registry name (`tiny`, the default, or `rain-v0.1`, fetched and converted on first
use: docs/FULL_TIER.md) or a model folder in our format; `--model DIR` is the same option.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import Iterator, Sequence

import imageio.v2 as imageio
import numpy as np
from tqdm.auto import tqdm

from rain.conditioning import ConditionConfig, Conditioner
from rain.eval.media import write_mp4
from rain.live.session import align_conditioner
from rain.weights import CHECKPOINTS_ROOT, DEFAULT_WEIGHTS, REGISTRY, load_weights

logger = logging.getLogger(__name__)

MODE_TO_CONDITION = {"motion": "body", "face": "face", "style": "style"}  # UI mode -> condition drawing


def driving_conditions(video: Path, conditioner: Conditioner) -> Iterator[np.ndarray | tuple[np.ndarray, np.ndarray]]:
    """Condition images of every frame of `video` (paired with their map when the conditioner has a face
    reference, `ConditionResult.pile_input`), timed by the video's own frame rate."""
    reader = imageio.get_reader(video)
    fps = float(reader.get_meta_data().get("fps", 25.0))
    try:
        for i, frame in enumerate(reader):
            yield conditioner(np.asarray(frame)[..., :3], t=i / fps).pile_input
    finally:
        reader.close()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m rain render", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", "--model", dest="weights", default=DEFAULT_WEIGHTS,
                   help=f"registry name ({', '.join(sorted(REGISTRY))}) or a model folder")
    p.add_argument("--checkpoints", type=Path, default=CHECKPOINTS_ROOT, help="root of the registry folders")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    p.add_argument("--offline", action="store_true", help="never download; fail naming any missing file")
    p.add_argument("--reference", type=Path, required=True, help="the character image")
    p.add_argument("--driving", type=Path, required=True, help="the driving video")
    p.add_argument("--mode", choices=sorted(MODE_TO_CONDITION), default=None,
                   help="condition to draw (default: the one the weights were trained on)")
    p.add_argument("--out", type=Path, required=True, help="the mp4 to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--crop-ratio", type=float, default=ConditionConfig.crop_ratio)
    p.add_argument("--fps", type=float, default=25.0, help="frame rate of the output")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    loaded = load_weights(args.weights, args.device, root=args.checkpoints, local_files_only=args.offline)
    condition = dataclasses.replace(loaded.condition, crop_ratio=args.crop_ratio)
    if args.mode is not None:
        condition = dataclasses.replace(condition, mode=MODE_TO_CONDITION[args.mode])
    reference = np.asarray(imageio.imread(args.reference))[..., :3]
    conditioner = Conditioner(condition)
    align_conditioner(conditioner, loaded.pipeline, reference)
    try:
        frames = loaded.pipeline.render(reference, driving_conditions(args.driving, conditioner), seed=args.seed)
        rendered = np.stack(list(tqdm(frames, desc="render", unit="frame")))
    finally:
        conditioner.close()
    write_mp4(args.out, rendered, fps=args.fps)
    logger.info("wrote %s (%d frames)", args.out, len(rendered))
    return 0
