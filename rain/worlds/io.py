"""Write a world sequence to disk: images, mp4 videos (imageio-ffmpeg, libx264), landmarks, metadata."""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import imageio.v2 as imageio
import numpy as np

from rain.worlds.body import BodyWorld
from rain.worlds.config import WorldConfig
from rain.worlds.skeleton import PARAMS

log = logging.getLogger(__name__)

SEQUENCE_FILES: tuple[str, ...] = (
    "reference.png", "reference_condition.png", "conditions.mp4", "frames.mp4", "driving.mp4",
    "landmarks.npz", "meta.json",
)


def _writer(path: Path, fps: float, quality: int):
    # macro_block_size=2: libx264 / yuv420p only needs even sides; avoids resizing 8x8-odd sizes.
    return imageio.get_writer(str(path), fps=fps, codec="libx264", quality=quality,
                              pixelformat="yuv420p", macro_block_size=2, ffmpeg_log_level="error")


def _meta(world: BodyWorld, seed: int) -> dict:
    cfg = world.config
    return {
        "world": "body", "seed": seed, "num_frames": world.num_frames, "size": world.size,
        "fps": cfg.fps, "segments": [{"start": s, "motion": k} for s, k in world.segments],
        "character": dataclasses.asdict(world.character),
        "driving": {"size": cfg.driving_size, "crop_ratio": cfg.driving_crop,
                    "note": "the world square is the centre crop_ratio square of driving.mp4"},
        "config": dataclasses.asdict(cfg), "files": list(SEQUENCE_FILES),
        "landmarks": "OpenPose-18, normalised to the world square, confidence 0 = unseen/outside",
    }


def write_world(world: BodyWorld, seed: int, out: Path) -> None:
    """Write every file of `SEQUENCE_FILES` for an already built world into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    imageio.imwrite(out / "reference.png", world.reference)
    ref_lm = world.reference_landmarks
    imageio.imwrite(out / "reference_condition.png", world.condition(ref_lm))
    fps, q = world.config.fps, world.config.video_quality
    body = np.zeros((world.num_frames, 18, 2), np.float32)  # (T, 18, 2)
    conf = np.zeros((world.num_frames, 18), np.float32)  # (T, 18)
    with _writer(out / "conditions.mp4", fps, q) as wc, _writer(out / "frames.mp4", fps, q) as wf, \
            _writer(out / "driving.mp4", fps, q) as wd:
        for t, (lm, cond, frame) in enumerate(world.frames()):
            body[t], conf[t] = lm.body, lm.body_conf
            wc.append_data(cond)
            wf.append_data(frame)
            wd.append_data(world.driving_frame(t))
    np.savez_compressed(
        out / "landmarks.npz", body=body, body_conf=conf, reference_body=ref_lm.body,
        reference_body_conf=ref_lm.body_conf, camera=world.camera.astype(np.float32),
        params=world.params.astype(np.float32), param_names=np.array(PARAMS),
        joints_3d=world.skeleton.joints.astype(np.float32))
    (out / "meta.json").write_text(json.dumps(_meta(world, seed), indent=2))
    log.info("wrote %d frames of world body seed %d to %s", world.num_frames, seed, out)


def write_sequence(seed: int, num_frames: int, size: int, out: Path, config: WorldConfig | None = None) -> None:
    """The sequence of a seed on disk: reference.png, reference_condition.png, conditions.mp4,
    frames.mp4 (ground truth), driving.mp4 (human-looking, for the live detector), landmarks.npz
    (body (T, 18, 2), body_conf (T, 18), reference_*, camera, params, joints_3d), meta.json."""
    write_world(BodyWorld.from_seed(seed, num_frames, size, config), seed, out)
