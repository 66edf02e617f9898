"""`python -m rain bench --json OUT.json`: speed of the pile on this machine, and whether it stays flat.

Measures, for a preset or a trained model: ms per pile call (UNet over the whole pile + LCM step +
decode of the clean group) and frames per second, over the first and the last window of a long
stream, their ratio, and resident-memory growth. Timings live here, never in test assertions.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from rain.checkpoint import load_models
from rain.config import PRESETS
from rain.pipeline import RainPipeline


def rss_mib() -> float:
    """Current resident set size in MiB (Linux /proc; falls back to the peak)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pile_flatness(pipeline: RainPipeline, calls: int, window: int) -> dict:
    rng = np.random.default_rng(0)
    size = pipeline.config.resolution
    stream = pipeline.new_stream(pipeline.encode_reference(rng.integers(0, 256, (size, size, 3), np.uint8)))
    conditions = rng.integers(0, 256, (pipeline.frames_per_group, size, size, 3), np.uint8)
    times, stages = [], {}
    for _ in range(pipeline.config.pile.num_groups + 2):  # fill the pile, warm up
        pipeline.step(stream, conditions)
    rss0 = rss_mib()
    for i in range(calls):
        t0 = time.perf_counter()
        pipeline.step(stream, conditions)
        times.append(time.perf_counter() - t0)
        for k, v in stream.stats.items():
            stages[k] = stages.get(k, 0.0) + v
    first, last = np.mean(times[:window]) * 1000, np.mean(times[-window:]) * 1000
    return {
        "calls": calls, "window": window, "ms_per_call_first": first, "ms_per_call_last": last,
        "last_over_first": last / first, "fps_steady": pipeline.frames_per_group * 1000 / np.median(np.array(times) * 1000),
        "ms_per_call_p50": float(np.percentile(times, 50) * 1000), "ms_per_call_p95": float(np.percentile(times, 95) * 1000),
        "rss_growth_mib": rss_mib() - rss0, "ms_per_call_by_stage": {k: v / calls * 1000 for k, v in stages.items()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rain bench", description=__doc__)
    p.add_argument("--preset", choices=sorted(PRESETS), default="cpu", help="random weights of this preset")
    p.add_argument("--model", type=Path, help="a trained model folder instead of --preset")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--window", type=int, default=100)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--json", type=Path, required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.model:
        models, config = load_models(args.model)
        pipeline = RainPipeline(models, config, args.precision)
    else:
        pipeline = RainPipeline.from_config(PRESETS[args.preset](), precision=args.precision)
    result = {"machine": {"cpu": platform.processor() or platform.machine(), "threads": args.threads,
                          "torch": torch.__version__, "precision": pipeline.precision},
              "model": str(args.model) if args.model else f"preset {args.preset} (random weights)",
              "pile": pile_flatness(pipeline, args.calls, args.window)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0
