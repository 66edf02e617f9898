"""Stage `refiner`: a full-resolution refiner (rain/models/refiner.py) for a trained, frozen model.

1. Stream `refiner_clips` training worlds (seeds below the held-out range) through the model exactly as a
   live stream runs it: the pile, its default shape, bf16 where supported. Keep every emitted frame with its
   condition image, the world's true frame and the reference (uint8, ~0.6 MB a frame).
2. Train only the refiner on random crops of those pairs (MSE against the true frame).
3. Export the model folder with the refiner (the other parts unchanged).
The pairs are the model's own output, so a refiner belongs to the weights it was trained after: a later
pile stage on the same folder keeps the refiner but warns that it is stale.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from rain.checkpoint import load_models, save_models
from rain.config import MOVED_REFERENCES, REFINER_REFERENCES
from rain.images import to_tensor, to_uint8
from rain.models.refiner import Refiner, aligned, deepened
from rain.pipeline import RainPipeline
from rain.train import loop
from rain.train.config import HELD_OUT_SEED_START, TrainConfig, kept_setting
from rain.train.data import world_clip
from rain.train.maps import frame_similarities, frame_warps
from rain.worlds.options import world_config

logger = logging.getLogger(__name__)


def stream_pairs(pipeline: RainPipeline, cfg: TrainConfig, reference: str = "as-is") -> dict[str, np.ndarray]:
    """Frames the model emits for `cfg.refiner_clips` training worlds, with their conditions and truths,
    (n, H, W, 3) uint8 each, and each frame's reference index into `references` (clips, H, W, 3); for a `reference`
    that moves (`MOVED_REFERENCES`), one reference per frame (n, H, W, 3), moved onto it by `frame_similarities`
    ("aligned") or `frame_warps` ("warped"). A UNet that aligns the reference streams with `frame_similarities`.
    The arrays are allocated once and filled, so the peak memory is what the pairs hold."""
    config = world_config(cfg.world, cfg.style_families, cfg.face_condition)
    rng = np.random.default_rng([cfg.seed, 7])
    size, t, moved = pipeline.config.resolution, cfg.refiner_frames, reference in MOVED_REFERENCES
    frame = lambda n: np.empty((n, size, size, 3), np.uint8)  # noqa: E731
    n = cfg.refiner_clips * t
    pairs = {"frames": frame(n), "conditions": frame(n), "truths": frame(n),
             "references": frame(n if moved else cfg.refiner_clips),
             "index": np.arange(n) if moved else np.repeat(np.arange(cfg.refiner_clips), t)}
    for i in range(cfg.refiner_clips):
        clip_rng = np.random.default_rng(int(rng.integers(0, HELD_OUT_SEED_START)))
        clip = world_clip(cfg.world, clip_rng, t, size, config)
        maps = None  # (t, 2, 3): each frame's reference map, for a refiner or UNet that aligns the reference
        if reference == "aligned" or pipeline.aligns_reference:
            maps = frame_similarities(clip, size, cfg.refiner_map_jitter, clip_rng)
        inputs = list(zip(clip.conditions, maps)) if pipeline.aligns_reference else clip.conditions
        out = np.stack(list(pipeline.render(clip.reference, inputs, seed=i)))  # (t, H, W, 3)
        if len(out) != t:
            raise RuntimeError(f"the pipeline emitted {len(out)} frames for a {t}-frame world")
        with torch.no_grad():  # the conditions as the refiner sees them (restyled by a style preset, if any)
            shown = to_uint8(pipeline.restyled(pipeline.encode_reference(clip.reference), to_tensor(clip.conditions)))
        rows = slice(i * t, (i + 1) * t)
        pairs["frames"][rows], pairs["conditions"][rows], pairs["truths"][rows] = out, shown, clip.frames
        if moved:
            maps = maps if reference == "aligned" else frame_warps(clip, size, cfg.refiner_map_jitter, clip_rng)
            pairs["references"][rows] = to_uint8(aligned(to_tensor(clip.reference)[None], torch.from_numpy(maps)))
        else:
            pairs["references"][i] = clip.reference
    logger.info("streamed %d worlds x %d frames for the refiner (%.1f GB)", cfg.refiner_clips, t,
                sum(a.nbytes for a in pairs.values()) / 1e9)
    return pairs


class PairCrops(torch.utils.data.IterableDataset):
    """Endless batches of random crops: frames, conditions, references and truths (b, 3, crop, crop) in [0, 1]."""

    def __init__(self, pairs: dict[str, np.ndarray], batch_size: int, crop: int, seed: int) -> None:
        super().__init__()
        size = pairs["frames"].shape[1]
        self.crop = crop or size
        if not 2 <= self.crop <= size or self.crop % 2:
            raise ValueError(f"a refiner crop must be even and within 2..{size}, got {crop}")
        self.pairs, self.batch_size, self.seed = pairs, batch_size, seed

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        rng = np.random.default_rng(self.seed)
        n, size, c = len(self.pairs["frames"]), self.pairs["frames"].shape[1], self.crop
        while True:
            picks = rng.integers(0, n, self.batch_size)
            tops, lefts = rng.integers(0, size - c + 1, (2, self.batch_size))
            crop = lambda a, rows: np.stack([a[r, t:t + c, l:l + c] for r, t, l in zip(rows, tops, lefts)])  # noqa: E731
            refs = self.pairs["index"][picks]
            yield {"frames": to_tensor(crop(self.pairs["frames"], picks)),
                   "conditions": to_tensor(crop(self.pairs["conditions"], picks)),
                   "references": to_tensor(crop(self.pairs["references"], refs)),
                   "truths": to_tensor(crop(self.pairs["truths"], picks))}


def refiner_step(refiner: torch.nn.Module, batch: dict, generator: torch.Generator) -> dict:
    refined = refiner(batch["frames"], batch["conditions"], batch["references"])
    return {"loss": F.mse_loss(refined.float(), batch["truths"])}


def train_refiner(cfg: TrainConfig, init: Path, out: Path) -> Path:
    """Stage `refiner` from the model folder `init` (its other parts frozen); exports `out/model`."""
    if cfg.refiner < 0 or cfg.refiner_clips < 1 or cfg.refiner_frames < 1:
        raise ValueError(f"--refiner (a width, >= 0), --refiner-clips and --refiner-frames (>= 1) got {cfg.refiner}, "
                         f"{cfg.refiner_clips}, {cfg.refiner_frames}")
    models, config = load_models(init)
    if not (cfg.refiner or config.refiner.width):
        raise ValueError(f"{init} has no refiner: give --refiner WIDTH to grow one")
    width = kept_setting(init, config.refiner, "width", cfg.refiner, "--refiner")
    deeper = bool(config.refiner.width) and cfg.refiner_levels > config.refiner.levels
    levels = cfg.refiner_levels if deeper else kept_setting(init, config.refiner, "levels", cfg.refiner_levels,
                                                            "--refiner-levels")

    reference = cfg.refiner_reference or config.refiner.reference
    if reference not in REFINER_REFERENCES:
        raise ValueError(f"--refiner-reference must be one of {REFINER_REFERENCES}, got {reference!r}")
    if reference in MOVED_REFERENCES and cfg.world != "face":
        raise ValueError(f"--refiner-reference {reference} moves the reference by face landmarks: it needs --world face")
    if cfg.refiner_map_jitter < 0 or (cfg.refiner_map_jitter and reference not in MOVED_REFERENCES):
        raise ValueError(f"--refiner-map-jitter (px, >= 0) moves an aligned or warped reference's maps: it needs "
                         f"--refiner-reference aligned or warped, got {cfg.refiner_map_jitter} with {reference!r}")

    # 1. the model's own frames, before the refiner: a zero-start refiner changes nothing, a trained one is retrained
    # (deepened: its new levels start as the identity)
    torch.manual_seed(cfg.seed)
    fresh = deepened(models.refiner, levels) if deeper else Refiner(width, levels)
    pipeline = RainPipeline(dataclasses.replace(models, refiner=None), config)
    pairs = stream_pairs(pipeline, cfg, reference)
    if config.refiner.width and not deeper:
        fresh.load_state_dict(models.refiner.state_dict())

    # 2. the refiner alone, on crops
    loader = torch.utils.data.DataLoader(PairCrops(pairs, cfg.batch_size, cfg.crop, cfg.seed), batch_size=None)
    refiner = loop.run(cfg, fresh.train(), loader, refiner_step, out)

    # 3. export
    config = dataclasses.replace(config, refiner=dataclasses.replace(config.refiner, width=width, levels=levels,
                                                                     reference=reference))
    save_models(dataclasses.replace(models, refiner=refiner.eval()), config, out / "model")
    logger.info("refiner stage exported to %s", out / "model")
    return out / "model"
