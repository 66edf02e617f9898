"""`WorldConfig`: every setting of the procedural worlds, each default defined here once."""
from __future__ import annotations

from dataclasses import dataclass

from rain.conditioning.config import ConditionConfig

_LIVE = ConditionConfig(mode="body")  # the live defaults the condition drawing must match

MOTION_KINDS: tuple[str, ...] = ("walk", "wave", "dance", "turn", "jump", "idle", "random")


@dataclass(frozen=True)
class WorldConfig:
    """Sizes, timings and sampling probabilities of the body world."""

    size: int = 256  # side of the square reference / condition / ground-truth frames (pixels)
    fps: float = 25.0  # frame rate of the motions and of the written videos
    motion_kinds: tuple[str, ...] = MOTION_KINDS  # motions a segment is drawn from
    motion_weights: tuple[float, ...] = (3.0, 2.0, 2.5, 1.5, 1.0, 1.0, 2.0)  # relative probabilities
    segment_seconds: tuple[float, float] = (2.0, 6.0)  # length range of one motion segment
    blend_seconds: float = 1.0  # cross-fade between consecutive segments
    full_body_height: tuple[float, float] = (0.4, 0.95)  # figure height / frame height (full body)
    closeup_prob: float = 0.2  # probability of an upper-body close-up (legs out of frame)
    closeup_height: tuple[float, float] = (1.4, 2.2)  # figure height / frame height (close-up)
    drift_prob: float = 0.3  # probability of a slow camera shift over the clip
    drift_speed: float = 0.01  # max camera shift speed (frame sides per second)
    walk_across_prob: float = 0.5  # probability that a walk moves across the frame
    random_start_seconds: float = 4.0  # a clip starts up to this far into its motion chain
    reference_scale_jitter: float = 0.1  # relative scale change of the reference's camera
    reference_neutral_prob: float = 0.3  # reference in an A-pose, else a pose of another motion
    line_width: float = _LIVE.body_line_width  # draw_body limb half-width (same as live)
    min_conf: float = _LIVE.min_confidence  # draw_body confidence threshold (same as live)
    driving_size: int = 512  # side of the square driving video (pixels)
    driving_crop: float = _LIVE.crop_ratio  # the world square is this centre crop of the driving frame
    background_margin: float = 0.1  # extra background around the frame for camera drift (fraction)
    video_quality: int = 8  # imageio-ffmpeg quality (0..10) of the written mp4s

    def __post_init__(self) -> None:
        if len(self.motion_kinds) != len(self.motion_weights):
            raise ValueError("motion_kinds and motion_weights must have the same length")
        unknown = set(self.motion_kinds) - set(MOTION_KINDS)
        if unknown:
            raise ValueError(f"unknown motion kinds {sorted(unknown)}; known: {MOTION_KINDS}")
        if self.size < 16 or self.driving_size < 16:
            raise ValueError("size and driving_size must be >= 16 pixels")
        if not 0.1 <= self.driving_crop <= 1.0:
            raise ValueError(f"driving_crop must be in [0.1, 1], got {self.driving_crop}")
