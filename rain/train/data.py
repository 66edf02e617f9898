"""Clips from a procedural world as training batches (seeded, endless, never touching held-out seeds)."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from rain.images import to_tensor
from rain.train.config import HELD_OUT_SEED_START
from rain.worlds.options import WORLD_MODULES, world_config


def world_clip(world: str, rng: np.random.Generator, num_frames: int, size: int, config=None):
    """One clip of `world` (each world module exposes the same `make_clip(rng, num_frames, size, config)`)."""
    if world not in WORLD_MODULES:
        raise ValueError(f"unknown world {world!r}; available: {', '.join(WORLD_MODULES)}")
    import importlib

    return importlib.import_module(WORLD_MODULES[world]).make_clip(rng, num_frames, size, config)


class ClipStream(torch.utils.data.IterableDataset):
    """Endless clips: reference (3, S, S), conditions and frames (3, T, S, S), all in [0, 1]."""

    def __init__(self, world: str, num_frames: int, size: int, seed: int, style_families: str = "",
                 face_condition: str = "") -> None:
        super().__init__()
        self.world, self.num_frames, self.size, self.seed = world, num_frames, size, seed
        self.config = world_config(world, style_families, face_condition)  # fails before training starts

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        worker = 0 if info is None else info.id
        rng = np.random.default_rng([self.seed, worker])
        while True:
            # each clip is a fresh world drawn from a training seed (< HELD_OUT_SEED_START)
            yield self.sample(np.random.default_rng(int(rng.integers(0, HELD_OUT_SEED_START))))

    def sample(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """One clip of a fresh world drawn with `rng`, as tensors."""
        return clip_tensors(world_clip(self.world, rng, self.num_frames, self.size, self.config))


def clip_tensors(clip) -> dict[str, torch.Tensor]:
    """A world's clip -> reference (3, S, S), conditions and frames (3, T, S, S), all in [0, 1]."""
    return {
        "reference": to_tensor(clip.reference),
        "conditions": to_tensor(clip.conditions).transpose(0, 1),
        "frames": to_tensor(clip.frames).transpose(0, 1),
    }
