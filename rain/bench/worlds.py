"""The held-out procedural worlds the benchmark drives the model with (seeds >= HELD_OUT_SEED_START)."""

from __future__ import annotations

from typing import Iterator, Protocol

import numpy as np

from rain.train.config import HELD_OUT_SEED_START

BENCH_SEED = HELD_OUT_SEED_START + 4242  # held out: never seen in training


class World(Protocol):
    reference: np.ndarray

    def driving_frame(self, t: int) -> np.ndarray: ...

    def frames(self) -> Iterator[tuple[object, np.ndarray, np.ndarray]]: ...


def make_world(mode: str, frames: int, size: int, seed: int = BENCH_SEED) -> World:
    """The world of a mode: body and style are driven by the body world, face by the face world."""
    if mode == "face":
        from rain.worlds.face.world import FaceWorld

        return FaceWorld.from_seed(seed, num_frames=frames, size=size)
    from rain.worlds.body import BodyWorld

    return BodyWorld.from_seed(seed, num_frames=frames, size=size)


def world_conditions(world: World, with_truth: bool) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """(condition drawn from the world's own landmarks, ground-truth frame or None) per frame.

    The body world draws a condition without rendering the frame when no truth is needed (cheaper)."""
    if not with_truth and hasattr(world, "landmarks") and hasattr(world, "num_frames"):
        for t in range(world.num_frames):  # type: ignore[attr-defined]
            yield world.condition(world.landmarks(t)), None  # type: ignore[attr-defined]
        return
    for _, condition, frame in world.frames():
        yield condition, frame if with_truth else None
