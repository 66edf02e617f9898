"""The machine a benchmark ran on: CPU model, cores, threads, memory readings and matmul FLOP/s."""

from __future__ import annotations

import logging
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

logger = logging.getLogger(__name__)


def cpu_model() -> str:
    """The 'model name' line of /proc/cpuinfo (falls back to platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask), else os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine_info(precision: str) -> dict:
    return {"cpu": cpu_model(), "cores": usable_cores(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "precision": precision, "python": platform.python_version()}


def rss_mib() -> float:
    """Resident set size now (VmRSS of /proc/self/status) in MiB; NaN where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def matmul_flops(size: int, dtype: torch.dtype, reps: int = 5) -> dict:
    """Median FLOP/s of a (size x size) @ (size x size) torch.mm in `dtype` (2 * size**3 FLOPs a call)."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    torch.mm(a, b)  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    seconds = float(np.median(times))
    flops = 2.0 * size**3 / seconds
    logger.info("matmul %s %dx%d: %.1f GFLOP/s", dtype, size, size, flops / 1e9)
    return {"size": size, "dtype": str(dtype).removeprefix("torch."), "reps": reps,
            "seconds_median": seconds, "flops_per_s": flops}
