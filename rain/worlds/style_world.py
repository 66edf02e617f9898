"""The style world: content videos paired with the same frames in a style given by an exemplar.

    world = StyleWorld.from_seed(7, num_frames=64)
    world.reference                 # ANOTHER content image in the clip's style (the exemplar)
    for lm, condition, frame in world.frames():
        ...                         # condition = render_condition(style config, square=content frame),
                                    # frame = apply_style(content frame, world.style); lm is empty
    clip = make_clip(rng, 16)       # a `rain.worlds.body.Clip` (landmarks: empty `Landmarks()`)

The model must read the style from the reference and apply it to the live frame. The styled frame
is a pure function of (content frame, style), so smooth content motion gives consistent frames.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Iterator

import numpy as np

from rain.conditioning.conditioner import render_condition
from rain.conditioning.config import ConditionConfig
from rain.conditioning.landmarks import Landmarks
from rain.worlds.body import Clip, collect_clip
from rain.worlds.config import StyleWorldConfig
from rain.worlds.style_filters import Style, apply_style, sample_style
from rain.worlds.style_sources import sample_source

log = logging.getLogger(__name__)
STYLE_FILES: tuple[str, ...] = ("reference.png", "reference_content.png", "conditions.mp4", "frames.mp4",
                                "meta.json")


class StyleWorld:
    """One content video, one style and one exemplar (another content image in that style)."""

    def __init__(self, rng: np.random.Generator, num_frames: int, size: int | None = None,
                 config: StyleWorldConfig | None = None) -> None:
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        self.config = cfg = config or StyleWorldConfig()
        self.size = size or cfg.size
        self.num_frames = num_frames
        self.condition_config = ConditionConfig(mode="style", resolution=self.size)
        self.style: Style = sample_style(rng, cfg.families or None)
        self.source = sample_source(rng, num_frames, self.size, cfg)
        exclude = getattr(self.source, "name", None)
        self.reference_source = sample_source(rng, 1, self.size, cfg, exclude=exclude)

    @classmethod
    def from_seed(cls, seed: int, num_frames: int, size: int | None = None,
                  config: StyleWorldConfig | None = None) -> "StyleWorld":
        return cls(np.random.default_rng(seed), num_frames, size, config)

    def content(self, t: int) -> np.ndarray:
        """(S, S, 3) uint8 content frame t (unstyled)."""
        return self.source.frame(t)

    def condition(self, content: np.ndarray) -> np.ndarray:
        """The live style condition of a content frame (render_condition, mode "style")."""
        return render_condition(self.condition_config, square=content)

    def frame(self, t: int) -> np.ndarray:
        return apply_style(self.content(t), self.style)

    @property
    def reference_content(self) -> np.ndarray:
        return self.reference_source.frame(0)

    @property
    def reference(self) -> np.ndarray:
        return apply_style(self.reference_content, self.style)

    @property
    def reference_landmarks(self) -> Landmarks:
        return Landmarks()

    def frames(self) -> Iterator[tuple[Landmarks, np.ndarray, np.ndarray]]:
        """Yield (empty landmarks, condition, styled frame) for every frame, in order."""
        for t in range(self.num_frames):
            content = self.content(t)
            yield Landmarks(), self.condition(content), apply_style(content, self.style)

    def to_clip(self) -> Clip:
        return collect_clip(self.reference, Landmarks(), self.frames())


def make_clip(rng: np.random.Generator, num_frames: int, size: int = StyleWorldConfig.size,
              config: StyleWorldConfig | None = None) -> Clip:
    """A fresh random clip drawn from ``rng`` (training: one call per sample)."""
    return StyleWorld(rng, num_frames, size, config).to_clip()


def make_sequence(seed: int, num_frames: int, size: int = StyleWorldConfig.size,
                  config: StyleWorldConfig | None = None) -> Clip:
    return StyleWorld.from_seed(seed, num_frames, size, config).to_clip()


def write_sequence(seed: int, num_frames: int, size: int, out: Path, config: StyleWorldConfig | None = None) -> None:
    """reference.png (exemplar), reference_content.png, conditions.mp4 (content), frames.mp4
    (styled ground truth), meta.json (style family and parameters, source)."""
    from rain.worlds.io import _writer  # imageio-ffmpeg only when writing
    import imageio.v2 as imageio
    world = StyleWorld.from_seed(seed, num_frames, size, config)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    imageio.imwrite(out / "reference.png", world.reference)
    imageio.imwrite(out / "reference_content.png", world.reference_content)
    cfg = world.config
    with _writer(out / "conditions.mp4", cfg.fps, cfg.video_quality) as wc, \
            _writer(out / "frames.mp4", cfg.fps, cfg.video_quality) as wf:
        for _, cond, frame in world.frames():
            wc.append_data(cond)
            wf.append_data(frame)
    meta = {"world": "style", "seed": seed, "num_frames": num_frames, "size": world.size, "fps": cfg.fps,
            "style": {"family": world.style.family, "params": _jsonable(dict(world.style.params))},
            "source": _describe(world.source), "reference_source": _describe(world.reference_source),
            "config": dataclasses.asdict(cfg), "files": list(STYLE_FILES),
            "condition": "render_condition(ConditionConfig(mode='style')) of the content frame"}
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    log.info("wrote %d frames of world style seed %d to %s", num_frames, seed, out)


def _describe(src) -> dict:
    return {"kind": src.kind, "name": getattr(src, "name", None)}


def _jsonable(params: dict) -> dict:
    return {k: (np.asarray(v).tolist() if isinstance(v, (tuple, np.ndarray)) else v)
            for k, v in params.items()}
