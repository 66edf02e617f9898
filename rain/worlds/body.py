"""The procedural body world: a puppet character performing chained motions in front of a static
background, with known OpenPose-18 landmarks and condition images drawn exactly as in live use.

All random choices are made when a `BodyWorld` is built; rendering a frame is deterministic and
needs no generator, so a sequence can be streamed frame by frame::

    world = BodyWorld.from_seed(7, num_frames=300)      # or BodyWorld(rng, num_frames)
    world.reference, world.reference_landmarks           # (S, S, 3) uint8, Landmarks
    for lm, condition, frame in world.frames():          # (S, S, 3) uint8 each
        ...
    clip = make_clip(rng, 16)                            # everything in memory
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from rain.conditioning.crop import crop_box
from rain.conditioning.draw import draw_body
from rain.conditioning.landmarks import Landmarks
from rain.worlds.backgrounds import make_background
from rain.worlds.characters import Character, humanize, sample_character
from rain.worlds.config import WorldConfig
from rain.worlds.geometry import Geometry, project
from rain.worlds.motions import chain, neutral_pose, sample_segment
from rain.worlds.render import make_shapes, render_figure
from rain.worlds.skeleton import Build, P, Skeleton3D, skeleton_3d


@dataclass(frozen=True)
class Clip:
    """A rendered clip (all frames in memory)."""

    reference: np.ndarray  # (S, S, 3) uint8: the same character (same background) in another pose
    reference_landmarks: Landmarks  # OpenPose-18 landmarks of the reference
    landmarks: list[Landmarks]  # one per frame
    conditions: np.ndarray  # (T, S, S, 3) uint8, draw_body of each frame's landmarks
    frames: np.ndarray  # (T, S, S, 3) uint8 ground truth


def _camera(rng: np.random.Generator, cfg: WorldConfig, b: Build,
            num_frames: int) -> tuple[np.ndarray, bool]:
    """(T, 3) camera track [scale, cx, cy] (full body or close-up framing, optional slow drift) and
    whether it is a close-up."""
    top = -(b.torso_len + b.neck_len + 2 * b.head_r * b.head_aspect)  # head top (body Y)
    closeup = bool(rng.random() < cfg.closeup_prob)
    if closeup:
        scale = rng.uniform(*cfg.closeup_height) / b.height
        cx, cy = 0.5 + rng.uniform(-0.08, 0.08), rng.uniform(0.03, 0.12) - scale * top
    else:
        frac = rng.uniform(*cfg.full_body_height)
        scale = frac / b.height
        slack = 1.0 - frac
        cx = 0.5 + rng.uniform(-0.3, 0.3) * slack
        cy = rng.uniform(0.25, 0.75) * slack - scale * top + 0.02
    cam = np.tile([scale, cx, cy], (num_frames, 1))
    if rng.random() < cfg.drift_prob:
        t = np.arange(num_frames) / cfg.fps
        velocity = rng.uniform(-cfg.drift_speed, cfg.drift_speed, 2)
        limit = cfg.background_margin * 0.9  # never drift past the background margin
        cam[:, 1:] += np.clip(velocity[None] * t[:, None], -limit, limit)
    return cam, closeup


class BodyWorld:
    """One character, background, camera and motion; frames are rendered on demand."""

    def __init__(self, rng: np.random.Generator, num_frames: int, size: int | None = None,
                 config: WorldConfig | None = None) -> None:
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        self.config = cfg = config or WorldConfig()
        self.size = size or cfg.size
        self.num_frames = num_frames
        self.character: Character = sample_character(rng)
        self.human: Character = humanize(self.character, rng)
        b = self.character.build
        self.camera, self.closeup = _camera(rng, cfg, b, num_frames)  # (T, 3), bool
        self.params, self.segments = self._motion(rng)  # (T, P), [(start frame, motion kind)]
        self.skeleton: Skeleton3D = skeleton_3d(self.params, b)
        self.geometry: Geometry = project(self.skeleton, b, self.camera)
        self._shapes = make_shapes(self.character)
        self._human_shapes = make_shapes(self.human)
        self._margin = int(round(cfg.background_margin * self.size))
        self._background = self._make_background(rng)
        self.reference_params = self._reference_pose(rng)  # (1, P)
        self._ref_geometry = project(skeleton_3d(self.reference_params, b), b, self._reference_camera(rng))

    def _motion(self, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """The chained motion, started at a random point so short clips also begin mid-motion."""
        cfg, t = self.config, self.num_frames
        scale, cx = float(self.camera[0, 0]), float(self.camera[0, 1])
        limit = max(0.0, (0.42 - abs(cx - 0.5)) / scale - 0.12)  # root_x keeping the body in view
        skip = int(rng.integers(0, int(cfg.random_start_seconds * cfg.fps) + 1))
        params, segments = chain(rng, cfg, t + skip, limit)  # (skip + T, P)
        kept = [(s - skip, k) for s, k in segments if s < skip + t]
        first = max(i for i, (s, _) in enumerate(kept) if s <= 0)  # the segment playing at frame 0
        return params[skip:], [(max(0, s), k) for s, k in kept[first:]]

    def _make_background(self, rng: np.random.Generator) -> np.ndarray:
        """Background with margin for the camera drift; its floor line is under the soles."""
        b, cam = self.character.build, self.camera[0]
        floor = float(cam[2] + cam[0] * (b.thigh + b.shin + 0.03 + 0.3 * b.leg_w))
        side = self.size + 2 * self._margin
        return make_background(rng, side, (floor * self.size + self._margin) / side)

    def _reference_camera(self, rng: np.random.Generator) -> np.ndarray:
        """(1, 3) the clip's first camera with a jittered scale; the floor (or, in a close-up,
        the neck) stays where it was."""
        b = self.character.build
        cam = self.camera[:1].copy()
        cam[0, 0] *= 1.0 + rng.uniform(-1, 1) * self.config.reference_scale_jitter
        anchor = -b.torso_len if self.closeup else b.thigh + b.shin
        cam[0, 2] += (self.camera[0, 0] - cam[0, 0]) * anchor
        return cam

    @classmethod
    def from_seed(cls, seed: int, num_frames: int, size: int | None = None,
                  config: WorldConfig | None = None) -> "BodyWorld":
        return cls(np.random.default_rng(seed), num_frames, size, config)

    def _reference_pose(self, rng: np.random.Generator) -> np.ndarray:
        """An A-pose or a random instant of another motion, facing roughly the camera."""
        if rng.random() < self.config.reference_neutral_prob:
            q = neutral_pose(1)
        else:
            kinds = [k for k in self.config.motion_kinds if k not in ("turn", "walk")] or ["idle"]
            t = np.array([rng.uniform(0.0, 5.0)])
            q = sample_segment(rng, self.config, t, str(rng.choice(kinds)))[1]
        q[:, P["root_x"]] = 0.0
        q[:, P["yaw"]] = rng.uniform(-0.3, 0.3)
        return q

    def background(self, t: int) -> np.ndarray:
        """(S, S, 3) uint8 background of frame t (a crop following the camera drift); a new array."""
        d = (self.camera[t, 1:] - self.camera[0, 1:]) * self.size
        x0, y0 = (self._margin - np.round(d)).astype(int)
        return self._background[y0:y0 + self.size, x0:x0 + self.size].copy()

    def landmarks(self, t: int) -> Landmarks:
        return self.geometry.landmarks(t)

    def condition(self, lm: Landmarks) -> np.ndarray:
        """The live body condition image of the landmarks (rain.conditioning.draw.draw_body)."""
        return draw_body(lm, self.size, self.config.line_width, self.config.min_conf)

    def frame(self, t: int) -> np.ndarray:
        """Ground-truth frame t: (S, S, 3) uint8."""
        return render_figure(self.background(t), self.geometry, t, self.character, self._shapes, self.size)

    @property
    def reference(self) -> np.ndarray:
        """(S, S, 3) uint8: the character in the reference pose over the clip's background."""
        return render_figure(self.background(0), self._ref_geometry, 0, self.character, self._shapes, self.size)

    @property
    def reference_landmarks(self) -> Landmarks:
        return self._ref_geometry.landmarks(0)

    def frames(self) -> Iterator[tuple[Landmarks, np.ndarray, np.ndarray]]:
        """Yield (landmarks, condition (S, S, 3), frame (S, S, 3)) for every frame, in order."""
        for t in range(self.num_frames):
            lm = self.landmarks(t)
            yield lm, self.condition(lm), self.frame(t)

    def driving_frame(self, t: int) -> np.ndarray:
        """Skeleton-free, human-looking frame for the live detector: (D, D, 3) uint8 with the world
        square as its centre ``driving_crop`` crop (what the live centre crop takes)."""
        d = self.config.driving_size
        top, _, side = crop_box(d, d, self.config.driving_crop)  # the live crop, to the pixel
        img = (np.array([200.0, 200.0, 195.0], np.float32)
               * np.linspace(1.0, 0.8, d, dtype=np.float32)[:, None, None]).astype(np.uint8)
        img = np.ascontiguousarray(np.broadcast_to(img, (d, d, 3)))
        return render_figure(img, self.geometry, t, self.human, self._human_shapes, side, top, human=True)

    def to_clip(self) -> Clip:
        return collect_clip(self.reference, self.reference_landmarks, self.frames())


def collect_clip(reference: np.ndarray, reference_landmarks: Landmarks,
                 frames: Iterator[tuple[Landmarks, np.ndarray, np.ndarray]]) -> Clip:
    """A `Clip` from any world's (landmarks, condition, frame) stream (shared by every world)."""
    lms, conds, images = [], [], []
    for lm, cond, frame in frames:
        lms.append(lm)
        conds.append(cond)
        images.append(frame)
    return Clip(reference, reference_landmarks, lms, np.stack(conds), np.stack(images))


def make_clip(rng: np.random.Generator, num_frames: int, size: int = WorldConfig.size,
              config: WorldConfig | None = None) -> Clip:
    """A fresh random clip drawn from ``rng`` (training: one call per sample)."""
    return BodyWorld(rng, num_frames, size, config).to_clip()


def make_sequence(seed: int, num_frames: int, size: int = WorldConfig.size,
                  config: WorldConfig | None = None) -> Clip:
    """The sequence of a seed, all in memory (deterministic for the seed and config)."""
    return BodyWorld.from_seed(seed, num_frames, size, config).to_clip()


def iter_sequence(seed: int, num_frames: int, size: int = WorldConfig.size,
                  config: WorldConfig | None = None) -> Iterator[tuple[Landmarks, np.ndarray, np.ndarray]]:
    """Stream the sequence of a seed: (landmarks, condition, frame) per frame, the same frames as
    `make_sequence`. For the reference as well, use the world itself:
    ``w = BodyWorld.from_seed(seed, num_frames, size); w.reference; w.frames()``."""
    return BodyWorld.from_seed(seed, num_frames, size, config).frames()


def write_sequence(seed: int, num_frames: int, size: int, out: Path) -> None:
    """Write the sequence of a seed to ``out``; see `rain.worlds.io.write_sequence` for the files."""
    from rain.worlds.io import write_sequence as _write  # lazy: imageio-ffmpeg only when writing
    _write(seed, num_frames, size, out)
