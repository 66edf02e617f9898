"""`python -m rain eval --mode motion --model DIR --json OUT.json`: held-out quality, flicker, drift, ablation."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from rain.checkpoint import load_models
from rain.conditioning.config import FACE_STYLES
from rain.eval.evaluate import condition_baseline, drift, evaluate_sequences, without_temporal
from rain.eval.media import contact_sheet, write_mp4
from rain.pipeline import RainPipeline
from rain.worlds.options import world_config
from rain.weights.runtime import folder_entry


WORLDS = {"motion": ("rain.worlds.body", "BodyWorld"), "face": ("rain.worlds.face.world", "FaceWorld"),
          "style": ("rain.worlds.style_world", "StyleWorld")}  # eval mode -> held-out world class
# eval mode -> procedural world, which is also the rain.conditioning mode the model is driven by
WORLD_OF_MODE = {"motion": "body", "face": "face", "style": "style"}


def world_factory(mode: str, size: int, style_families: str = "", face_condition: str = ""):
    """seed, frames -> a held-out world of `mode` (every world exposes reference and frames());
    `style_families` ("palette,grade") narrows the style world to the families a model was trained on,
    `face_condition` ("dots" | "contours") draws the face world's conditions the way the model was trained."""
    module, name = WORLDS[mode]
    world_class = getattr(importlib.import_module(module), name)
    config = world_config(WORLD_OF_MODE[mode], style_families, face_condition)
    return lambda seed, frames: world_class.from_seed(seed, num_frames=frames, size=size, config=config)


def face_condition(mode: str, model: Path, requested: str | None) -> str:
    """Face mode: the face condition to evaluate with; the model folder's conditioning.json (if any) decides,
    and a different `requested` one is an error (a model is only meaningful on the condition it learned)."""
    if mode != "face":
        if requested:
            raise ValueError(f"--face-condition applies to --mode face only, not {mode!r}")
        return ""
    recorded = folder_entry(model).face_style  # the default when the folder records nothing
    has_record = (model / "conditioning.json").is_file()
    if requested and has_record and requested != recorded:
        raise ValueError(f"{model} was trained on the {recorded!r} face condition (its conditioning.json), "
                         f"not {requested!r}")
    return requested or recorded


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rain eval", description=__doc__)
    p.add_argument("--mode", choices=sorted(WORLDS), default="motion")
    p.add_argument("--model", type=Path, required=True, help="model folder (config.json + safetensors)")
    p.add_argument("--json", type=Path, required=True, help="where to write the metrics")
    p.add_argument("--sequences", type=int, default=16,
                   help="held-out sequences to average over (before 2026-12-06 the default was 4, which overstated "
                        "both the face and the style tier: docs/STYLE_PRESET.md, Session 21)")
    p.add_argument("--frames", type=int, default=96, help="frames per held-out sequence")
    p.add_argument("--drift-frames", type=int, default=10_000, help="length of the drift stream (0: skip)")
    p.add_argument("--drift-window", type=int, default=1_000, help="frames compared at each end")
    p.add_argument("--strength", type=float, help="img2img strength of a latent-entry model (default: the model's)")
    p.add_argument("--noise", choices=["fresh", "fixed"],
                   help="the streams' noise: drawn fresh every call, or once per pile slot (default: the model's "
                        "PileConfig.fixed_noise)")
    p.add_argument("--frames-per-group", type=int,
                   help="pile shape at inference: frames entering per UNet call (default: the model's; fewer = lower latency)")
    p.add_argument("--num-groups", type=int,
                   help="pile shape at inference: groups = noise levels = LCM steps (default: the model's; fewer = lower latency)")
    p.add_argument("--style-families", default="", help="style mode: comma-separated families (default: all)")
    p.add_argument("--face-condition", choices=FACE_STYLES,
                   help="face mode: the condition the model was trained on (default: its conditioning.json, else dots)")
    p.add_argument("--media", type=Path, help="folder for the mp4 and contact sheet (default: next to --json)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    models, config = load_models(args.model)
    if args.strength is not None:  # the streams' strength (checked against the trained range by validate)
        config = config.with_pile(strength=args.strength)
    if args.noise is not None:
        config = config.with_pile(fixed_noise=args.noise == "fixed")
    config = config.with_pile_shape(args.frames_per_group, args.num_groups)  # validated by RainPipeline
    pipeline = RainPipeline(models, config)
    face = face_condition(args.mode, args.model, args.face_condition)
    make_world = world_factory(args.mode, config.resolution, args.style_families, face)
    result: dict = {"model": str(args.model), "mode": args.mode, "precision": pipeline.precision,
                    "entry": config.pile.entry, "strength": config.pile.strength, "fixed_noise": config.pile.fixed_noise,
                    "frames_per_group": config.pile.default_frames, "num_groups": config.pile.default_groups,
                    "trained_num_groups": config.pile.num_groups, "trained_frames_per_group": config.pile.frames_per_group,
                    "style_families": args.style_families or "all", **({"face_condition": face} if face else {}),
                    "sequences": args.sequences, "frames": args.frames}
    if pipeline.aligns_reference:  # the frames' true landmarks (live: docs/refiner/align_live_eval.py)
        found = "the model's landmarker" if models.landmarker is not None else "the world's true landmarks"
        result["refiner_reference"] = (f"{config.refiner.reference} ({pipeline.face_map}): the reference's face by "
                                       f"{found}, each frame's by its true landmarks")
        result["unet_aligned_reference"] = config.unet.aligned_reference
    if args.mode == "style":
        result["condition_as_output"] = condition_baseline(make_world, args.sequences, args.frames)
    if models.preset is not None:  # what the preset alone makes of the camera frames, before the pile
        result["preset_as_output"] = condition_baseline(make_world, args.sequences, args.frames, pipeline)
    result["pile"], (out, truth, _) = evaluate_sequences(pipeline, make_world, args.sequences, args.frames)
    ablation = without_temporal(pipeline)
    result["no_temporal"], _ = evaluate_sequences(ablation, make_world, args.sequences, args.frames)
    result["flicker_ratio"] = result["pile"]["flicker"] / max(result["no_temporal"]["flicker"], 1e-9)
    if args.drift_frames:
        result["drift"] = drift(pipeline, make_world, args.drift_frames, args.drift_window, ablation)
    media = args.media or args.json.parent
    media.mkdir(parents=True, exist_ok=True)
    write_mp4(media / f"eval_{args.mode}.mp4", np.concatenate([truth, out], axis=2), fps=25)
    contact_sheet(media / f"eval_{args.mode}.png", truth, out)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0
