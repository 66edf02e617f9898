"""Render speed of the body world: ``python -m rain.worlds.bench [--size 256] [--clips 20] [--frames 100]``."""
from __future__ import annotations

import argparse
import time
from typing import Sequence

import numpy as np

from rain.worlds.body import BodyWorld


def bench(size: int, clips: int, frames: int) -> dict[str, float]:
    """Milliseconds per world setup and per frame (ground truth + condition image)."""
    setup = render = 0.0
    for seed in range(clips):
        t0 = time.perf_counter()
        world = BodyWorld.from_seed(seed, frames, size)
        _ = world.reference
        t1 = time.perf_counter()
        for _lm, _cond, _frame in world.frames():
            pass
        setup, render = setup + t1 - t0, render + time.perf_counter() - t1
    return {"setup_ms": 1e3 * setup / clips, "frame_ms": 1e3 * render / (clips * frames)}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--clips", type=int, default=20)
    p.add_argument("--frames", type=int, default=100)
    a = p.parse_args(argv)
    np.random.default_rng(0)  # warm numpy
    r = bench(a.size, a.clips, a.frames)
    print(f"size {a.size}: {r['frame_ms']:.2f} ms per frame (ground truth + condition), "
          f"{r['setup_ms']:.1f} ms per world setup ({a.clips} worlds x {a.frames} frames)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
