"""`python -m rain.bench.variants`: one pile-call speed variant of a model, for the Optimisations table.

    python -m rain.bench.variants --model checkpoints/body --variant channels_last --threads 1 --json OUT.json

Each variant is the shipped pipeline with one change, measured by `pile_flatness` (full pile, random
conditions, per-stage timings from `stream.stats`). Run variants one after another on a quiet machine and
compare them against `base` from the same session: only what a run measured goes into BENCHMARKS.md.
- base: the pipeline as shipped (bf16 autocast where the CPU has it);
- channels_last: UNet weights and activations in channels-last memory format;
- bf16_weights: UNet and pose-guider parameters stored in bf16 (no per-call weight casts under autocast);
- bf16_matmul_weights: only the UNet's linear and convolution weights in bf16 (norms stay fp32);
- compile: the UNet wrapped by `torch.compile` (inductor, `rain.compiled`: every pile shape compiled at load);
- onnx: the UNet exported to ONNX and run by ONNX Runtime's CPU provider in fp32 (rain/bench/onnx_unet.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Sequence

import torch

from rain.bench.pile import pile_flatness
from rain.checkpoint import load_models
from rain.compiled import compile_pipeline
from rain.pipeline import RainPipeline

VARIANTS = ("base", "channels_last", "bf16_weights", "bf16_matmul_weights", "compile", "onnx")


def variant_pipeline(model: Path, variant: str, frames_per_group: int | None = None) -> RainPipeline:
    """The model's pipeline with `variant` applied to fresh copies of its parts (nothing shared is changed),
    over a pile of `frames_per_group` frames per call (default: the model's)."""
    models, config = load_models(model)
    if frames_per_group:
        config = config.with_pile_shape(frames_per_group=frames_per_group)
    if variant == "channels_last":
        models.unet.to(memory_format=torch.channels_last)
    elif variant == "bf16_weights":
        models.unet.to(torch.bfloat16)
        models.pose_guider.to(torch.bfloat16)
    elif variant == "bf16_matmul_weights":  # only what autocast casts to bf16 anyway; norms stay fp32
        for module in models.unet.modules():
            if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Conv1d)):
                module.to(torch.bfloat16)
    elif variant == "compile":  # rain.compiled: the app's way, every pile shape compiled before timing
        return compile_pipeline(RainPipeline(models, config))
    elif variant == "onnx":
        from rain.bench.onnx_unet import OnnxUNet

        models = dataclasses.replace(models, unet=OnnxUNet(models.unet))
    elif variant != "base":
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return RainPipeline(models, config)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    p = argparse.ArgumentParser(prog="python -m rain.bench.variants", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=Path("checkpoints/body"))
    p.add_argument("--variant", choices=VARIANTS, default="base")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--frames-per-group", type=int, help="pile shape (default: the model's)")
    p.add_argument("--calls", type=int, default=30, help="timed pile calls (after filling and warm-up)")
    p.add_argument("--json", type=Path, required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    pipeline = variant_pipeline(args.model, args.variant, args.frames_per_group)
    result = {"variant": args.variant, "model": str(args.model), "threads": args.threads,
              "frames_per_group": pipeline.frames_per_group,
              "precision": pipeline.precision, **pile_flatness(pipeline, args.calls, max(1, args.calls // 3)),
              "seconds_including_load_and_warm_up": time.perf_counter() - t0}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    stages = {k: round(v, 1) for k, v in result["ms_per_call_by_stage"].items()}
    logging.getLogger(__name__).warning("%s: %.1f ms per call (p50), by stage %s", args.variant,
                                        result["ms_per_call_p50"], stages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
