"""UNet FLOPs per pile call (torch.utils.flop_counter) and the FLOP/s it achieves on this machine, against
a large torch.mm measured in the same run (fp32, and bf16 when the pipeline runs under bf16 autocast).

FlopCounterMode counts matmuls, convolutions and attention (2 FLOPs per multiply-add); norms, activations
and other element-wise work are not counted, so the achieved figure is a lower bound of the work done.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from rain.bench.machine import matmul_flops
from rain.bench.samplers import unet_call
from rain.pipeline import RainPipeline
from rain.precision import autocast

logger = logging.getLogger(__name__)


def full_pile_inputs(pipeline: RainPipeline) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Latents (1, c, F, h, w), levels (F,) and pose features of a full pile (random, right shapes)."""
    cfg, g = pipeline.config, torch.Generator().manual_seed(0)
    f, groups, h = cfg.pile.default_frames, cfg.pile.default_groups, cfg.latent_size
    latents = torch.randn((1, cfg.unet.in_channels, f * groups, h, h), generator=g).to(pipeline.device)
    levels = torch.arange(groups, device=pipeline.device).repeat_interleave(f)
    images = torch.rand((1, 3, f * groups, cfg.resolution, cfg.resolution), generator=g).to(pipeline.device)
    with autocast(pipeline.precision, pipeline.device):
        pose = pipeline.models.pose_guider(images)
    return latents, levels, pose


@torch.no_grad()
def unet_flops(pipeline: RainPipeline, reps: int) -> dict:
    """FLOPs of one UNet call over a full pile and its median time (under the pipeline's precision)."""
    rng = np.random.default_rng(0)
    size = pipeline.config.resolution
    ref = pipeline.encode_reference(rng.integers(0, 256, (size, size, 3), np.uint8))
    latents, levels, pose = full_pile_inputs(pipeline)
    with autocast(pipeline.precision, pipeline.device):
        counter = FlopCounterMode(display=False)
        with counter:
            unet_call(pipeline, latents, levels, pose, ref)
        unet_call(pipeline, latents, levels, pose, ref)  # warm-up
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            unet_call(pipeline, latents, levels, pose, ref)
            times.append(time.perf_counter() - t0)
    flops, seconds = float(counter.get_total_flops()), float(np.median(times))
    return {"frames_per_call": int(latents.shape[2]), "flops_per_call": flops, "reps": reps,
            "seconds_per_call_median": seconds, "achieved_flops_per_s": flops / seconds}


def flops_report(pipeline: RainPipeline, reps: int, matmul_size: int) -> dict:
    """UNet achieved FLOP/s over fp32 (and bf16) matmul FLOP/s."""
    result = {"unet": unet_flops(pipeline, reps), "matmul_fp32": matmul_flops(matmul_size, torch.float32)}
    achieved = result["unet"]["achieved_flops_per_s"]
    result["unet_over_matmul_fp32"] = achieved / result["matmul_fp32"]["flops_per_s"]
    if pipeline.precision == "bf16":
        result["matmul_bf16"] = matmul_flops(matmul_size, torch.bfloat16)
        result["unet_over_matmul_bf16"] = achieved / result["matmul_bf16"]["flops_per_s"]
    logger.info("UNet: %.2f GFLOP per call, %.1f GFLOP/s achieved (%.0f%% of fp32 matmul)",
                result["unet"]["flops_per_call"] / 1e9, achieved / 1e9, 100 * result["unet_over_matmul_fp32"])
    return result
