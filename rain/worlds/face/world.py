"""The procedural face world: a cartoon character talking, blinking, smiling and moving its head,
with known iBUG-68 landmarks and the live 26-dot condition of each frame.

All random choices are made when a `FaceWorld` is built; rendering is deterministic::

    world = FaceWorld.from_seed(7, num_frames=300)      # or FaceWorld(rng, num_frames)
    world.reference, world.reference_landmarks           # (S, S, 3) uint8, Landmarks
    for lm, condition, frame in world.frames(): ...      # Landmarks, (S, S, 3), (S, S, 3)
    clip = make_clip(rng, 16)                            # a `rain.worlds.body.Clip`
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from rain.conditioning.conditioner import render_condition
from rain.conditioning.config import ConditionConfig
from rain.conditioning.landmarks import Landmarks
from rain.worlds.backgrounds import make_background
from rain.worlds.body import Clip, collect_clip
from rain.worlds.config import FaceWorldConfig
from rain.worlds.face.expression import Expression, neutral_expression, sample_expression
from rain.worlds.face.geometry import face_landmarks, sample_human, sample_sliders
from rain.worlds.face.identity import humanize, sample_identity
from rain.worlds.face.render import render_face

_MARGIN = 0.1  # points further than this outside the square get confidence 0 (as the live detector)


def face_record(face: np.ndarray) -> Landmarks:
    """Landmarks with the 68 face points (68, 2) and live-style confidences (1 inside the square
    with a 0.1 margin, else 0); no body."""
    seen = np.all((face >= -_MARGIN) & (face <= 1 + _MARGIN), axis=1)
    return Landmarks(face=face, face_conf=seen.astype(np.float32))


class FaceWorld:
    """One cartoon identity, background and expression track; frames are rendered on demand."""

    def __init__(self, rng: np.random.Generator, num_frames: int, size: int | None = None,
                 config: FaceWorldConfig | None = None) -> None:
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        self.config = cfg = config or FaceWorldConfig()
        self.size = size or cfg.size
        self.num_frames = num_frames
        self.condition_config = ConditionConfig(mode="face", resolution=self.size,
                                                face_dot_radius=cfg.face_dot_radius,
                                                face_style=cfg.condition_style)
        self.identity = sample_identity(rng)
        self.human_identity = humanize(self.identity, rng)
        self.human = sample_human(rng, cfg.human_jitter)  # (68, 2) template coordinates
        self.sliders = sample_sliders(rng, cfg)
        self.width = float(rng.uniform(*cfg.face_width))
        self.centre = np.array([rng.uniform(*cfg.center_x), rng.uniform(*cfg.center_y)])
        self._background = make_background(rng, self.size, 2.0)  # no floor
        skip = int(rng.integers(0, int(cfg.random_start_seconds * cfg.fps) + 1))
        track = sample_expression(rng, num_frames + skip, cfg)
        self.expression: Expression = track.slice(skip, skip + num_frames)
        self.reference_expression = (neutral_expression(rng) if rng.random() < cfg.reference_neutral_prob
                                     else sample_expression(rng, 1, cfg))

    @classmethod
    def from_seed(cls, seed: int, num_frames: int, size: int | None = None,
                  config: FaceWorldConfig | None = None) -> "FaceWorld":
        return cls(np.random.default_rng(seed), num_frames, size, config)

    def _points(self, e: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        return face_landmarks(self.human, e, self.centre, self.width, self.sliders, self.config)

    @staticmethod
    def gaze(e: dict[str, float]) -> np.ndarray:
        """Iris offset: the eyes keep looking at the camera, counter to the head's yaw and pitch."""
        return np.clip(np.array([-1.6 * e["yaw"], 1.2 * e["pitch"]]), -1, 1)

    def landmarks(self, t: int) -> Landmarks:
        return face_record(self._points(self.expression.at(t))[1])

    def human_landmarks(self, t: int) -> Landmarks:
        """The person's (pre-retarget) 68 points of frame t: what a detector should see."""
        return face_record(self._points(self.expression.at(t))[0])

    def condition(self, lm: Landmarks) -> np.ndarray:
        """The live face condition (26 dots) of cartoon landmarks, no retargeting."""
        return render_condition(self.condition_config, lm)

    def frame(self, t: int) -> np.ndarray:
        e = self.expression.at(t)
        return render_face(self._background, self._points(e)[1], self.identity, self.gaze(e))

    @property
    def reference(self) -> np.ndarray:
        e = self.reference_expression.at(0)
        return render_face(self._background, self._points(e)[1], self.identity, self.gaze(e))

    @property
    def reference_landmarks(self) -> Landmarks:
        return face_record(self._points(self.reference_expression.at(0))[1])

    def frames(self) -> Iterator[tuple[Landmarks, np.ndarray, np.ndarray]]:
        """Yield (landmarks, condition, frame) for every frame, in order."""
        for t in range(self.num_frames):
            e = self.expression.at(t)
            cartoon = self._points(e)[1]
            lm = face_record(cartoon)
            yield lm, self.condition(lm), render_face(self._background, cartoon, self.identity, self.gaze(e))

    def driving_frame(self, t: int) -> np.ndarray:
        """A human-proportioned (not retargeted) portrait of frame t, (D, D, 3) uint8, with the
        world square as its centre ``driving_crop`` crop, for trying the live detector on."""
        from rain.worlds.face.driving import driving_frame
        return driving_frame(self, t)

    def to_clip(self) -> Clip:
        return collect_clip(self.reference, self.reference_landmarks, self.frames())


def make_clip(rng: np.random.Generator, num_frames: int, size: int = FaceWorldConfig.size,
              config: FaceWorldConfig | None = None) -> Clip:
    """A fresh random clip drawn from ``rng`` (training: one call per sample)."""
    return FaceWorld(rng, num_frames, size, config).to_clip()


def make_sequence(seed: int, num_frames: int, size: int = FaceWorldConfig.size,
                  config: FaceWorldConfig | None = None) -> Clip:
    return FaceWorld.from_seed(seed, num_frames, size, config).to_clip()


def write_sequence(seed: int, num_frames: int, size: int, out: Path, config: FaceWorldConfig | None = None) -> None:
    """Write the sequence of a seed to ``out``; see `rain.worlds.face.io.write_world` for the files."""
    from rain.worlds.face.io import write_world  # lazy: imageio-ffmpeg only when writing
    write_world(FaceWorld.from_seed(seed, num_frames, size, config), seed, out)
