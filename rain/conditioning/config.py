"""`ConditionConfig`: every setting of the conditioning stage, each default defined here once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["body", "face", "style"]
Backend = Literal["auto", "mediapipe", "dwpose"]
FaceStyle = Literal["dots", "contours"]
StyleEdges = Literal["none", "overlay", "only"]

MODES: tuple[str, ...] = ("body", "face", "style")
FACE_STYLES: tuple[str, ...] = ("dots", "contours")
_CHOICES = {"backend": ("auto", "mediapipe", "dwpose"), "face_style": FACE_STYLES,
            "style_edges": ("none", "overlay", "only")}


@dataclass(frozen=True)
class ConditionConfig:
    """Settings for turning a camera frame into a condition image. Frozen: validated once in
    ``__post_init__``; derive variants with ``dataclasses.replace``. The class attributes are the
    defaults, and the drawing / smoothing / detection functions of this package read their default
    arguments from them (e.g. ``ConditionConfig.min_confidence``), so each default lives here only."""

    mode: Mode = "face"  # which condition to draw: OpenPose body, face dots, or the frame (style)
    resolution: int = 512  # side of the square condition image the pose guider reads (pixels)
    crop_ratio: float = 0.9  # side of the centre square crop as a fraction of the frame's short side
    detect_size: int = 384  # side of the square the detector sees (the crop resized); lower = faster
    backend: Backend = "auto"  # "auto": DWPose when its ONNX files exist, else MediaPipe
    dwpose_dir: str = "checkpoints/dwpose"  # folder holding the DWPose detector + pose ONNX files
    static_images: bool = False  # True: every frame detected from scratch (photos, training data)
    detect_hands: bool = False  # MediaPipe backend: also run the hand model (slower); DWPose always has hands
    min_confidence: float = 0.3  # points below this confidence count as missing (not drawn)
    smoothing: float = 0.5  # One-Euro smoothing strength, 0 = off, 1 = strongest
    fps: float = 30.0  # frame rate assumed when the caller gives no timestamps
    hold_seconds: float = 0.5  # after losing the person, keep the last landmarks this long
    fade_seconds: float = 1.0  # then fade to the neutral pose over this long
    face_style: FaceStyle = "dots"  # "dots": the published 26-dot condition; "contours": 68-point polylines
    face_dot_radius: float = 0.035  # dot radius as a fraction of the face size (jaw width)
    face_line_width: float = 0.02  # contour line width as a fraction of the face size
    body_line_width: float = 0.008  # OpenPose limb half-width as a fraction of the image side
    draw_hands: bool = True  # body condition: draw hand skeletons when hands were detected
    style_edges: StyleEdges = "none"  # style condition: add a Canny edge map ("overlay") or use it alone
    apply_retarget: bool = True  # face mode: apply the retarget sliders (when set) before drawing
    align_body: bool = False  # body mode: bone-length retargeting to the reference skeleton
    calibrate_max_age_seconds: float = 1.0  # calibrate only from a face this recent (stream time)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        if not 0.05 <= self.crop_ratio <= 1.0:
            raise ValueError(f"crop_ratio must be in [0.05, 1], got {self.crop_ratio}")
        if self.resolution < 8 or self.detect_size < 32:
            raise ValueError("resolution must be >= 8 and detect_size >= 32 pixels")
        if not 0.0 <= self.smoothing <= 1.0:
            raise ValueError(f"smoothing must be in [0, 1], got {self.smoothing}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {self.min_confidence}")
        if self.hold_seconds < 0 or self.fade_seconds < 0 or self.fps <= 0:
            raise ValueError("hold_seconds and fade_seconds must be >= 0 and fps > 0")
        if self.calibrate_max_age_seconds < 0:
            raise ValueError(f"calibrate_max_age_seconds must be >= 0, got {self.calibrate_max_age_seconds}")
