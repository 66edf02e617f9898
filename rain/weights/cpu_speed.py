"""`python -m rain.weights.cpu_speed --resolution 128`: how slow the published architecture is on this CPU.

Builds the `sd15` architecture (the RAIN-v0.1 model, 2.6 B parameters in all) at a small resolution with
random uniform weights (no download: only the speed matters), encodes one reference and times pile calls
(UNet over 16 frames + LCM step + decode of 4 frames) through the real `RainPipeline`. The number
goes into `runtime.CPU_MEASURED_SECONDS` and the no-GPU warning.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from typing import Sequence

import numpy as np
import torch

from rain.config import sd15
from rain.pipeline import RainPipeline
from rain.weights.load import build_empty

logger = logging.getLogger(__name__)


def materialise(module: torch.nn.Module, scale: float = 0.02) -> None:
    """Give every meta parameter real memory with small uniform values (cheaper than a proper init)."""
    for sub in module.modules():
        for name, p in list(sub._parameters.items()):
            if p is not None and p.is_meta:
                sub._parameters[name] = torch.nn.Parameter(torch.empty(p.shape).uniform_(-scale, scale),
                                                           requires_grad=False)


def measure(resolution: int, calls: int) -> dict[str, float]:
    config = dataclasses.replace(sd15(), resolution=resolution)
    models = build_empty(config)
    for module in models.named_parts().values():
        materialise(module)
    pipeline = RainPipeline(models, config)
    rng = np.random.default_rng(0)
    stream = pipeline.new_stream(pipeline.encode_reference(rng.integers(0, 256, (resolution, resolution, 3), np.uint8)))
    conditions = rng.integers(0, 256, (4, resolution, resolution, 3), np.uint8)
    for _ in range(config.pile.num_groups - 1):  # fill the pile (these calls are cheaper)
        pipeline.step(stream, conditions)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        pipeline.step(stream, conditions)
        times.append(time.perf_counter() - t0)
    return {"resolution": resolution, "seconds_per_call": float(np.median(times)), "calls": calls,
            "threads": torch.get_num_threads(), "precision": pipeline.precision}


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="python -m rain.weights.cpu_speed", description=__doc__)
    p.add_argument("--resolution", type=int, default=128)
    p.add_argument("--calls", type=int, default=2)
    args = p.parse_args(argv)
    logger.info("%s", json.dumps(measure(args.resolution, args.calls)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
