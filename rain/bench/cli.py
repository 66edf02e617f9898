"""`python -m rain bench --model DIR --json OUT.json [--frames N] [--modes body style face]`.

Runs every measurement of BENCHMARKS.md on this machine and writes one JSON; prints readable tables.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Sequence

import torch

from rain.bench.compare import compare
from rain.bench.e2e import run_stream
from rain.bench.flops import flops_report
from rain.bench.machine import machine_info
from rain.bench.pile import pile_flatness
from rain.bench.report import render
from rain.bench.stats import finite
from rain.bench.worlds import BENCH_SEED
from rain.checkpoint import load_models
from rain.compiled import compile_pipeline
from rain.config import PRESETS
from rain.pipeline import RainPipeline

logger = logging.getLogger(__name__)

DEFAULT_MODELS = {"body": Path("checkpoints/body"), "face": Path("checkpoints/face"),
                  "style": Path("checkpoints/style")}
NOTES = {
    "clock": "frames are fed back to back (a saturated camera); latency counts only measured work, from the "
             "push/call that took a camera frame to the end of the one that produced its output frame",
    "style": "no style model found: the style mode is measured on the body model's weights as the cost of the "
             "style conditioning path plus the pile, not as a style model",
    "flops": "FlopCounterMode counts matmuls, convolutions and attention; element-wise work is not counted",
    "compile": "--compile: the end-to-end streams and the pile section run a torch.compile'd UNet (compiled for "
               "every pile shape before timing, compile_seconds); the comparison and FLOP sections stay eager",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rain bench", description=__doc__)
    p.add_argument("--model", type=Path, help=f"model folder (default {DEFAULT_MODELS['body']})")
    p.add_argument("--face-model", type=Path, default=DEFAULT_MODELS["face"], help="model folder of the face mode")
    p.add_argument("--style-model", type=Path, default=DEFAULT_MODELS["style"],
                   help="model folder of the style mode (missing: the body weights, with a note)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="random weights of this preset instead of --model")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--json", type=Path, required=True)
    p.add_argument("--modes", nargs="+", choices=["body", "face", "style"], default=["body"])
    p.add_argument("--frames", type=int, default=10_000, help="long stream (body, with detection)")
    p.add_argument("--short-frames", type=int, default=1_000, help="every other end-to-end stream")
    p.add_argument("--compare-frames", type=int, default=400,
                   help="frames per method in the comparison (0 skips it; it drives a body world)")
    p.add_argument("--chunk-window", type=int, default=16)
    p.add_argument("--chunk-overlap", type=int, default=4)
    p.add_argument("--flop-reps", type=int, default=10)
    p.add_argument("--matmul-size", type=int, default=2048)
    p.add_argument("--calls", type=int, default=200, help="model-only pile calls (the 'pile' section; 0 skips)")
    p.add_argument("--window", type=int, default=50, help="calls per window of the 'pile' section")
    p.add_argument("--frames-per-group", type=int,
                   help="pile shape: frames entering per UNet call (default: the model's; 1 = lowest latency)")
    p.add_argument("--num-groups", type=int,
                   help="pile shape: groups = noise levels = LCM steps (default: the model's; fewer = lower latency)")
    p.add_argument("--compile", action="store_true", help="torch.compile the UNet (rain.compiled) for the streams")
    return p


def load(path: Path, args: argparse.Namespace) -> tuple[RainPipeline, str]:
    """The pipeline of a model folder (or of random `--preset` weights), with the pile shape options applied."""
    if args.preset:
        models, config, name = None, PRESETS[args.preset](), f"preset {args.preset} (random weights)"
    else:
        (models, config), name = load_models(path), str(path)
    config = config.with_pile_shape(args.frames_per_group, args.num_groups)
    if models is None:
        return RainPipeline.from_config(config, precision=args.precision), name
    return RainPipeline(models, config, args.precision), name


def maybe_compiled(pipeline: RainPipeline, args: argparse.Namespace, seconds: dict, name: str) -> RainPipeline:
    """With --compile: the pipeline with a compiled, warmed-up UNet; `seconds[name]` = compile + warm-up time."""
    if not args.compile:
        return pipeline
    t0 = time.perf_counter()
    compiled = compile_pipeline(pipeline)
    seconds[name] = time.perf_counter() - t0
    return compiled


def mode_pipeline(mode: str, args: argparse.Namespace, body: RainPipeline,
                  compile_seconds: dict) -> RainPipeline | str:
    """The pipeline serving a mode, or why the mode is skipped."""
    if mode == "body" or args.preset:
        return body
    folder = getattr(args, f"{mode}_model")
    if (folder / "config.json").exists():
        return maybe_compiled(load(folder, args)[0], args, compile_seconds, mode)
    return body if mode == "style" else f"skipped: no {mode} model at {folder}"


def measure_modes(args: argparse.Namespace, body: RainPipeline, compile_seconds: dict) -> dict:
    """Measurements 1-2 for every mode: both conditioning paths; the body's detected stream is the long one."""
    modes: dict = {}
    for mode in args.modes:
        pipeline = mode_pipeline(mode, args, body, compile_seconds)
        if isinstance(pipeline, str):
            modes[mode] = {"skipped": pipeline}
            continue
        long = args.frames if mode == "body" else args.short_frames
        logger.info("%s: %d frames with detection, %d without", mode, long, args.short_frames)
        modes[mode] = {"with_detection": run_stream(pipeline, mode, long, detection=True),
                       "without_detection": run_stream(pipeline, mode, args.short_frames, detection=False),
                       "with_detection_overlap": run_stream(pipeline, mode, args.short_frames, detection=True,
                                                            overlap=True)}
        if mode == "style" and pipeline is body and not args.preset:
            modes[mode]["note"] = NOTES["style"]
    return modes


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    pipeline, name = load(args.model or DEFAULT_MODELS["body"], args)
    result: dict = {"machine": machine_info(pipeline.precision), "model": name, "notes": NOTES,
                    "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                    "pile_config": {"resolution": pipeline.config.resolution,
                                    "frames_per_group": pipeline.frames_per_group,
                                    "num_groups": pipeline.config.pile.default_groups,
                                    "trained_num_groups": pipeline.config.pile.num_groups,
                                    "trained_frames_per_group": pipeline.config.pile.frames_per_group},
                    "world_seed": BENCH_SEED}
    compile_seconds: dict[str, float] = {}  # mode -> seconds to compile and warm up its UNet (--compile)
    streaming = maybe_compiled(pipeline, args, compile_seconds, "body")
    result["modes"] = measure_modes(args, streaming, compile_seconds)
    detected = next((m["with_detection"] for m in result["modes"].values() if "with_detection" in m), None)
    result["where_time_goes"] = detected["ms_per_frame_by_stage"] if detected else None
    if args.compare_frames:  # the samplers' comparison drives a body world (not a style model's latent entry)
        result["compare"] = compare(pipeline, args.compare_frames, args.chunk_window, args.chunk_overlap)
    result["flops"] = flops_report(pipeline, args.flop_reps, args.matmul_size)
    if args.calls:
        result["pile"] = pile_flatness(streaming, args.calls, args.window)
    if args.compile:
        result["compile_seconds"] = compile_seconds
    return result


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Gradio request otherwise
    args = build_parser().parse_args(argv)
    result = finite(run(args))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, allow_nan=False))
    print(render(result))  # noqa: T201 - CLI output
    return 0
