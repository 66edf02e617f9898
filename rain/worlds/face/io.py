"""Write a face-world sequence to disk: images, mp4 videos, landmarks, metadata."""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import imageio.v2 as imageio
import numpy as np

from rain.worlds.face.world import FaceWorld
from rain.worlds.io import _writer

log = logging.getLogger(__name__)

FACE_FILES: tuple[str, ...] = ("reference.png", "reference_condition.png", "conditions.mp4", "frames.mp4",
                               "driving.mp4", "landmarks.npz", "meta.json")


def _meta(world: FaceWorld, seed: int) -> dict:
    cfg = world.config
    return {
        "world": "face", "seed": seed, "num_frames": world.num_frames, "size": world.size, "fps": cfg.fps,
        "identity": dataclasses.asdict(world.identity), "sliders": world.sliders,
        "face_width": world.width, "centre": world.centre.tolist(),
        "driving": {"size": cfg.driving_size, "crop_ratio": cfg.driving_crop,
                    "note": "human-proportioned (pre-retarget) portrait; the world square is its "
                            "centre crop_ratio square"},
        "config": dataclasses.asdict(cfg), "files": list(FACE_FILES),
        "landmarks": "iBUG-68 face, normalised to the world square; face = cartoon (drawn), "
                     "human_face = before retargeting; conf 0 = outside the square",
    }


def write_world(world: FaceWorld, seed: int, out: Path) -> None:
    """reference.png, reference_condition.png, conditions.mp4, frames.mp4, driving.mp4,
    landmarks.npz (face (T, 68, 2), face_conf (T, 68), human_face (T, 68, 2), reference_face,
    expression tracks), meta.json."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    imageio.imwrite(out / "reference.png", world.reference)
    ref = world.reference_landmarks
    imageio.imwrite(out / "reference_condition.png", world.condition(ref))
    fps, q, n = world.config.fps, world.config.video_quality, world.num_frames
    face, human = np.zeros((n, 68, 2), np.float32), np.zeros((n, 68, 2), np.float32)
    conf = np.zeros((n, 68), np.float32)
    with _writer(out / "conditions.mp4", fps, q) as wc, _writer(out / "frames.mp4", fps, q) as wf, \
            _writer(out / "driving.mp4", fps, q) as wd:
        for t, (lm, cond, frame) in enumerate(world.frames()):
            face[t], conf[t], human[t] = lm.face, lm.face_conf, world.human_landmarks(t).face
            wc.append_data(cond)
            wf.append_data(frame)
            wd.append_data(world.driving_frame(t))
    tracks = {f"expr_{f.name}": getattr(world.expression, f.name).astype(np.float32)
              for f in dataclasses.fields(world.expression)}
    np.savez_compressed(out / "landmarks.npz", face=face, face_conf=conf, human_face=human,
                        reference_face=ref.face, reference_face_conf=ref.face_conf, **tracks)
    (out / "meta.json").write_text(json.dumps(_meta(world, seed), indent=2))
    log.info("wrote %d frames of world face seed %d to %s", n, seed, out)
