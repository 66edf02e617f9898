"""`python -m rain train ...`: one stage, or `--stage all` for the whole recipe (each stage resumable)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import Sequence

from rain.config import PRESETS
from rain.train.blur_reader import train_blur_reader
from rain.train.config import TrainConfig
from rain.train.grade_reader import train_grade_reader
from rain.train.landmarks import train_landmarker
from rain.train.mix_reader import train_mix_reader
from rain.train.preset import train_preset
from rain.train.refine import train_refiner
from rain.train.stages import train_autoencoder, train_distill, train_rain

RECIPE = (("autoencoder", "ae"), ("image", "image"), ("pile", "pile"))  # stage, sub-folder of --out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rain train", description=__doc__)
    parser.add_argument("--stage", choices=["autoencoder", "image", "pile", "distill", "refiner", "landmarker", "preset", "grade-reader", "blur-reader", "mix-reader", "all"], required=True)
    parser.add_argument("--out", type=Path, required=True, help="run folder (resumes if it holds a state)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu", help="architecture (autoencoder/all)")
    parser.add_argument("--init", type=Path, help="model folder to start from (image/pile stages)")
    parser.add_argument("--steps", type=int, nargs="+", help="steps (one per stage with --stage all)")
    for field in dataclasses.fields(TrainConfig):
        if field.name not in ("stage", "steps"):
            parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=None)
    return parser


def _config(args: argparse.Namespace, stage: str, steps: int | None) -> TrainConfig:
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                 if f.name not in ("stage", "steps") and getattr(args, f.name) is not None}
    return TrainConfig(stage=stage, **overrides, **({"steps": steps} if steps else {}))


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    stages = RECIPE if args.stage == "all" else [(args.stage, "")]
    steps = args.steps or [None] * len(stages)
    if len(steps) != len(stages):
        raise SystemExit(f"--steps needs {len(stages)} values for --stage {args.stage}")
    if args.stage == "distill":  # stage 3 (optional): a few-step student of a many-step teacher
        print(f"model: {train_distill(_config(args, 'distill', steps[0]), args.init, args.out)}")
        return 0
    optional = {  # after the pile: a full-resolution refiner, and a cartoon landmarker for one that aligns the
        # reference; for an img2img (style) model: a colour preset read off the reference, its grade, blur and mix readers
        "refiner": (train_refiner, "a trained model folder"),
        "landmarker": (train_landmarker, "a model folder whose refiner aligns the reference"),
        "preset": (train_preset, "an img2img model folder"),
        "grade-reader": (train_grade_reader, "a model folder with a style preset"),
        "blur-reader": (train_blur_reader, "a model folder with a style preset that reads a blur"),
        "mix-reader": (train_mix_reader, "a model folder with a style preset")}
    if args.stage in optional:
        train, what = optional[args.stage]
        if args.init is None:
            raise SystemExit(f"--stage {args.stage} needs --init ({what})")
        print(f"model: {train(_config(args, args.stage, steps[0]), args.init, args.out)}")
        return 0
    init = args.init
    if init is None and PRESETS[args.preset]().vae.kind == "pixel":
        init = PRESETS[args.preset]()  # pixel space: nothing to train before the RAIN stages
    for (stage, sub), n in zip(stages, steps):
        if n == 0:
            continue  # a skipped stage: its model folder is not needed
        out = args.out / sub
        if stage == "autoencoder" and PRESETS[args.preset]().vae.kind == "pixel":
            continue  # pixel space has no autoencoder to train
        if stage == "autoencoder":
            init = train_autoencoder(_config(args, stage, n), PRESETS[args.preset](), out)
        else:
            if init is None:
                raise SystemExit(f"--stage {stage} needs --init (an autoencoder or earlier-stage model folder)")
            init = train_rain(_config(args, stage, n), init, out)
    print(f"model: {init}")
    return 0
