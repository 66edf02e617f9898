"""`python -m rain bench`: measured speed on this machine, written as JSON (see BENCHMARKS.md).

Module map: cli (options, the run, the JSON), e2e (LiveSession end to end, long-stream flatness and
memory), compare + samplers (pile vs chunked sliding window vs per-frame), flops (UNet FLOP/s vs matmul),
pile (the model alone), machine, worlds, stats, report (tables).
Timings live here, never in test assertions.
"""

from rain.bench.cli import main
from rain.bench.machine import rss_mib

__all__ = ["main", "rss_mib"]
