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


@dataclass(frozen=True)
class FaceWorldConfig:
    """Timings, pose ranges and expression statistics of the face world (`rain.worlds.face`).

    World landmarks are a human face template with identity and expression, posed in 3-D and then
    mapped into cartoon proportions by `retarget_face` with sliders drawn around the published
    defaults (``slider_jitter``), exactly like the live path maps a user's face."""

    size: int = 256  # side of the square frames (pixels)
    fps: float = 25.0  # frame rate of the expressions and of the written videos
    face_width: tuple[float, float] = (0.18, 0.5)  # human jaw width / frame side (before retarget)
    center_x: tuple[float, float] = (0.37, 0.63)  # range of the template centre x (frame sides)
    center_y: tuple[float, float] = (0.2, 0.55)  # range of the template centre y (measured: real
    # webcam-like crops put the face centroid at 0.22-0.39, higher than a centred portrait)
    drift: float = 0.03  # amplitude of the slow head translation (frame sides)
    scale_drift: float = 0.06  # amplitude of the slow relative scale change
    yaw: float = 0.45  # amplitude of the head yaw (radians)
    pitch: float = 0.2  # amplitude of the head pitch (radians)
    roll: float = 0.2  # amplitude of the head roll (radians)
    blink_interval: tuple[float, float] = (2.5, 5.0)  # seconds between blinks
    blink_seconds: float = 0.2  # duration of one blink
    talk_prob: float = 0.6  # fraction of segments in which the character talks
    segment_seconds: tuple[float, float] = (2.0, 6.0)  # length of one talk / silence segment
    mouth_open: float = 0.22  # max human mouth opening / jaw width
    smile: float = 1.0  # amplitude of the smile process (0..1 in the template)
    brow_raise: float = 1.0  # amplitude of the brow process
    slider_jitter: float = 0.12  # identity: relative jitter of the retarget scales (offsets: x 0.5)
    # Slider centres that differ from the published defaults: the published horizontal offsets
    # move eyes, mouth and nose 0.10-0.15 face sizes sideways off the jaw and brows (an asymmetric
    # face), so the world centres them on 0 and the live defaults should follow (see face/measure.py).
    slider_overrides: tuple[tuple[str, float], ...] = (
        ("eye_horizontal", 0.0), ("mouth_horizontal", 0.0), ("nose_horizontal", 0.0))
    human_jitter: float = 0.08  # identity: relative jitter of the human template proportions
    random_start_seconds: float = 4.0  # a clip starts up to this far into its processes
    reference_neutral_prob: float = 0.5  # reference frontal, eyes open, mouth closed; else random
    driving_size: int = 512  # side of the square driving video (pixels)
    driving_crop: float = _LIVE.crop_ratio  # the world square is this centre crop of the driving frame
    face_dot_radius: float = ConditionConfig(mode="face").face_dot_radius  # condition dots (live value)
    condition_style: str = ConditionConfig.face_style  # "dots": the published 26-dot condition; "contours": 68-point lines
    video_quality: int = 8  # imageio-ffmpeg quality (0..10) of the written mp4s


@dataclass(frozen=True)
class StyleWorldConfig:
    """Content sources, camera motion and style sampling of the style world (`rain.worlds.style_world`)."""

    size: int = 256  # side of the square frames (pixels)
    fps: float = 25.0  # frame rate of the written videos
    source_weights: tuple[float, float, float] = (1.0, 1.0, 2.0)  # body world, face world, photos
    pan: float = 0.15  # amplitude of the slow camera pan on photos (fractions of the crop side)
    zoom: float = 0.2  # amplitude of the slow relative zoom on photos
    rotate: float = 0.1  # amplitude of the slow camera rotation on photos (radians)
    move_period: tuple[float, float] = (4.0, 12.0)  # period range of the camera oscillations (s)
    crop: tuple[float, float] = (0.4, 0.9)  # crop side / photo short side
    families: tuple[str, ...] = ()  # style families to draw from; () = all of style_filters.STYLES
    video_quality: int = 8  # imageio-ffmpeg quality (0..10) of the written mp4s
