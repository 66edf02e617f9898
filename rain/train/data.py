"""Clips from a procedural world as training batches (seeded, endless, never touching held-out seeds)."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from rain.images import to_tensor
from rain.train.config import HELD_OUT_SEED_START
from rain.train.maps import frame_references
from rain.worlds.options import WORLD_MODULES, world_config


def world_clip(world: str, rng: np.random.Generator, num_frames: int, size: int, config=None):
    """One clip of `world` (each world module exposes the same `make_clip(rng, num_frames, size, config)`)."""
    if world not in WORLD_MODULES:
        raise ValueError(f"unknown world {world!r}; available: {', '.join(WORLD_MODULES)}")
    import importlib

    return importlib.import_module(WORLD_MODULES[world]).make_clip(rng, num_frames, size, config)


class ClipStream(torch.utils.data.IterableDataset):
    """Endless clips: reference (3, S, S), conditions and frames (3, T, S, S), all in [0, 1]; with `aligned_jitter`
    also "aligned" (3, T, S, S), the reference moved onto each frame by its face's similarity, that many px off."""

    def __init__(self, world: str, num_frames: int, size: int, seed: int, style_families: str = "",
                 face_condition: str = "", aligned_jitter: float | None = None) -> None:
        super().__init__()
        if aligned_jitter is not None and (world != "face" or aligned_jitter < 0):
            raise ValueError(f"the reference aligned to each frame follows face landmarks: it needs the face world and "
                             f"a map jitter >= 0 (px), got world {world!r} and jitter {aligned_jitter}")
        self.world, self.num_frames, self.size, self.seed = world, num_frames, size, seed
        self.aligned_jitter = aligned_jitter  # None: no aligned reference; else its maps' random error (px)
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
        clip = world_clip(self.world, rng, self.num_frames, self.size, self.config)
        tensors = clip_tensors(clip)
        if self.aligned_jitter is not None:
            tensors["aligned"] = frame_references(clip, self.size, self.aligned_jitter, rng).transpose(0, 1)
        return tensors


def clip_tensors(clip) -> dict[str, torch.Tensor]:
    """A world's clip -> reference (3, S, S), conditions and frames (3, T, S, S), all in [0, 1]."""
    return {
        "reference": to_tensor(clip.reference),
        "conditions": to_tensor(clip.conditions).transpose(0, 1),
        "frames": to_tensor(clip.frames).transpose(0, 1),
    }
