"""Stage `landmarker`: a cartoon face landmarker (rain/models/landmarker.py) for a model whose refiner aligns
the reference to each frame (RefinerConfig.reference "aligned").

1. Render `landmarker_images` cartoons of face worlds from training seeds (each world: its reference and
   FRAMES_PER_WORLD - 1 of its frames at random) with their exact 68 points, resized once to the landmarker's
   input (uint8, ~49 KB an image).
2. Train only the landmarker: L1 on the points, in pixels of the model's resolution.
3. Export the model folder with the landmarker (the other parts unchanged), and write its error on held-out
   references to `<out>/held_out.json`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from rain.checkpoint import load_models, save_models
from rain.conditioning.align import FACE_RIGID
from rain.config import MOVED_REFERENCES
from rain.images import to_tensor, to_uint8
from rain.models.landmarker import FaceLandmarker
from rain.train import loop
from rain.train.config import HELD_OUT_SEED_START, TrainConfig
from rain.worlds.face.world import FaceWorld

logger = logging.getLogger(__name__)

FRAMES_PER_WORLD = 4  # images a world gives: its reference and 3 random frames
WORLD_FRAMES = 48  # frames of expression track a world draws its frames from
HELD_OUT_WORLDS = 256  # held-out references the exported landmarker is measured on


def world_faces(world: FaceWorld, rng: np.random.Generator, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(image (S, S, 3) uint8, points (68, 2) normalised): the world's reference, then `count` - 1 random frames."""
    faces = [(world.reference, world.reference_landmarks.face)]
    for t in rng.integers(0, world.num_frames, count - 1):
        faces.append((world.frame(int(t)), world.landmarks(int(t)).face))
    return faces


def render_faces(count: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """`count` training cartoons: "images" (n, INPUT, INPUT, 3) uint8 as the landmarker sees them, "points" (n, 68, 2)."""
    rng = np.random.default_rng([seed, 11])
    images, points = [], []
    while len(images) < count:
        world_rng = np.random.default_rng(int(rng.integers(0, HELD_OUT_SEED_START)))
        for image, face in world_faces(FaceWorld(world_rng, WORLD_FRAMES, size), world_rng, FRAMES_PER_WORLD):
            images.append(to_uint8(FaceLandmarker.resized(to_tensor(image)[None]))[0])
            points.append(face)
    return {"images": np.stack(images[:count]), "points": np.stack(points[:count]).astype(np.float32)}


class FaceBatches(torch.utils.data.IterableDataset):
    """Endless random batches {"images": (b, 3, INPUT, INPUT) in [0, 1], "points": (b, 68, 2)} of rendered faces."""

    def __init__(self, faces: dict[str, np.ndarray], batch_size: int, seed: int) -> None:
        super().__init__()
        self.faces, self.batch_size, self.seed = faces, batch_size, seed

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        rng = np.random.default_rng(self.seed)
        while True:
            picks = rng.integers(0, len(self.faces["images"]), self.batch_size)
            yield {"images": to_tensor(self.faces["images"][picks]), "points": torch.from_numpy(self.faces["points"][picks])}


def landmark_step(landmarker: FaceLandmarker, batch: dict, generator: torch.Generator, size: int) -> dict:
    error = (landmarker(batch["images"]) - batch["points"]) * size  # (b, 68, 2) pixels
    return {"loss": error.abs().mean(), "px": error.detach().norm(dim=-1).mean()}


def held_out_error(landmarker: FaceLandmarker, size: int, worlds: int = HELD_OUT_WORLDS) -> dict[str, float]:
    """Mean distance (px of a size x size image) of the found points from the truth on `worlds` held-out references:
    over all 68 points, and over the rigid ones an alignment uses (FACE_RIGID)."""
    truth, found = [], []
    with torch.no_grad():
        for i in range(worlds):
            world = FaceWorld.from_seed(HELD_OUT_SEED_START + i, 1, size)
            found.append(landmarker(to_tensor(world.reference)[None])[0].numpy())
            truth.append(world.reference_landmarks.face)
    error = np.linalg.norm(np.stack(found) - np.stack(truth), axis=-1) * size  # (worlds, 68)
    rigid = error[:, list(FACE_RIGID)]
    return {"worlds": worlds, "all_px": float(error.mean()), "rigid_px": float(rigid.mean()),
            "rigid_px_p90": float(np.percentile(rigid.mean(1), 90)), "rigid_px_max": float(rigid.mean(1).max())}


def train_landmarker(cfg: TrainConfig, init: Path, out: Path) -> Path:
    """Stage `landmarker` from the model folder `init` (a refiner that aligns the reference); exports `out/model`."""
    models, config = load_models(init)
    if config.refiner.reference not in MOVED_REFERENCES:
        raise ValueError(f"{init}'s refiner does not align the reference: a landmarker would not be used "
                         "(train one with --stage refiner --refiner-reference aligned or warped first)")
    if cfg.landmarker_images < cfg.batch_size:
        raise ValueError(f"--landmarker-images must be at least a batch ({cfg.batch_size}), got {cfg.landmarker_images}")
    have = config.refiner.landmarker
    if have and cfg.landmarker and cfg.landmarker != have:
        raise ValueError(f"{init} has a landmarker of width {have}; --landmarker {cfg.landmarker} cannot change it")
    width = have or cfg.landmarker
    if not width:
        raise ValueError(f"{init} has no landmarker: give --landmarker WIDTH to grow one")
    config = dataclasses.replace(config, refiner=dataclasses.replace(config.refiner, landmarker=width))
    config.validate()

    # 1. the faces, and a fresh landmarker (or the model's own, trained on)
    torch.manual_seed(cfg.seed)
    landmarker = models.landmarker if models.landmarker is not None else FaceLandmarker(width)
    faces = render_faces(cfg.landmarker_images, config.resolution, cfg.seed)
    logger.info("rendered %d cartoons for the landmarker (%.1f GB)", len(faces["images"]), faces["images"].nbytes / 1e9)

    # 2. the landmarker alone
    loader = torch.utils.data.DataLoader(FaceBatches(faces, cfg.batch_size, cfg.seed), batch_size=None)
    step = lambda module, batch, generator: landmark_step(module, batch, generator, config.resolution)  # noqa: E731
    landmarker = loop.run(cfg, landmarker.train(), loader, step, out).eval()

    # 3. export, and measure on held-out references
    save_models(dataclasses.replace(models, landmarker=landmarker), config, out / "model")
    error = held_out_error(landmarker, config.resolution)
    (out / "held_out.json").write_text(json.dumps(error, indent=1))
    logger.info("landmarker stage exported to %s; held-out references: %s", out / "model", error)
    return out / "model"
