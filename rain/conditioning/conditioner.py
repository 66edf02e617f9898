"""From camera frames to condition images: the one entry point for the live stream and the
one drawing function shared with training.

- `render_condition(landmarks, config, ...)`: landmarks (or the frame, in style mode) -> the
  condition image. Training data and the live stream both call this, so they match bit for bit.
- `Conditioner`: per-stream state (its own detector, One-Euro smoother, hold/fade tracker,
  retarget sliders, reference). ``conditioner(frame)`` -> `ConditionResult`; never raises on an
  empty scene (it holds, then fades to neutral), only on an invalid frame or a timestamp going
  backwards (ValueError). With ``align_body`` on and no reference set it draws unaligned and says
  so in a warning (once per Conditioner).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from rain.conditioning.align import align_body
from rain.conditioning.calibrate import propose_params
from rain.conditioning.config import ConditionConfig
from rain.conditioning.crop import prepare_frame
from rain.conditioning.detect import Detector, detect_frame, make_detector
from rain.conditioning.draw import draw_body, draw_face_contours, draw_face_dots, draw_style
from rain.conditioning.landmarks import Landmarks
from rain.conditioning.retarget import resolve_params, retarget_face
from rain.conditioning.smoothing import HoldFadeTracker, LandmarkSmoother
from rain.conditioning.warp import face_map

log = logging.getLogger(__name__)


def render_condition(config: ConditionConfig, landmarks: Landmarks | None = None,
                     square: np.ndarray | None = None, retarget: Mapping[str, float] | None = None,
                     reference: Landmarks | None = None, user_anchor: np.ndarray | None = None) -> np.ndarray:
    """The condition image (resolution, resolution, 3) uint8 RGB for ``config.mode``.
    body: OpenPose drawing of ``landmarks`` (aligned to ``reference`` if config.align_body, which
    then needs the reference: ValueError without it);
    face: 26 dots (or contours) of ``landmarks.face`` after the ``retarget`` sliders;
    style: ``square`` (the centre-cropped frame) resized, with optional edges."""
    size = config.resolution
    if config.mode == "style":
        if square is None:
            raise ValueError("style mode needs the cropped frame (square=...)")
        return draw_style(square, size, config.style_edges)
    if landmarks is None:
        raise ValueError(f"{config.mode} mode needs landmarks")
    if config.mode == "body":
        lm = landmarks
        if config.align_body:
            if reference is None:
                raise ValueError("align_body needs the reference landmarks (reference=...), "
                                 "or turn ConditionConfig.align_body off")
            lm = align_body(landmarks, reference, config.min_confidence, user_anchor)
        return draw_body(lm, size, config.body_line_width, config.min_confidence, config.draw_hands)
    face = drawn_face(config, landmarks, retarget)
    if config.face_style == "contours":
        return draw_face_contours(face, size, config.face_line_width, landmarks.face_conf,
                                  config.min_confidence)
    return draw_face_dots(face, size, config.face_dot_radius, landmarks.face_conf, config.min_confidence)


def drawn_face(config: ConditionConfig, landmarks: Landmarks, retarget: Mapping[str, float] | None = None) -> np.ndarray:
    """The 68 face points (68, 2) a face condition draws: `landmarks.face` after the `retarget` sliders."""
    if config.apply_retarget and retarget:
        return retarget_face(landmarks.face, retarget)
    return landmarks.face


@dataclass
class ConditionResult:
    image: np.ndarray  # (R, R, 3) uint8 RGB condition image
    landmarks: Landmarks | None  # the landmarks drawn (smoothed / held / faded); None in style mode
    status: str  # "tracking", "holding", "fading", "neutral" (nobody seen yet or faded) or "style"
    detect_ms: float  # time spent in the detector for this frame
    face_map: np.ndarray | None = None  # face mode with a `face_reference`: the reference -> this frame map, a
    # similarity (2, 3) or a warp (G, G, 2) (`Conditioner.face_map_kind`)

    @property
    def pile_input(self) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """What `RainPipeline.render` takes for this frame: the image, paired with its map if it has one."""
        return self.image if self.face_map is None else (self.image, self.face_map)


class Conditioner:
    """Camera frame -> condition image for one stream (not thread safe; one per session)."""

    def __init__(self, config: ConditionConfig | None = None, detector: Detector | None = None,
                 retarget: Mapping[str, float] | None = None, reference: Landmarks | None = None,
                 neutral: Landmarks | None = None) -> None:
        self.config = config or ConditionConfig()
        cfg = self.config
        self.detector = detector
        if detector is None and cfg.mode != "style":
            self.detector = make_detector(cfg)
        self.retarget = retarget
        self.reference = reference  # the character's landmarks (body alignment)
        self.face_reference: Landmarks | None = None  # the character's face in its whole square (face mode: a
        # map per frame, for a model that aligns the reference, rain/conditioning/align.py and warp.py)
        self.face_map_kind = "similarity"  # the maps that model takes (`RainPipeline.face_map`)
        self.user_anchor: np.ndarray | None = None  # user's neck at calibration (body alignment)
        self.smoother = LandmarkSmoother(cfg.smoothing, cfg.hold_seconds, cfg.min_confidence)
        self.tracker = HoldFadeTracker(cfg.hold_seconds, cfg.fade_seconds, neutral)
        self.last_detection: Landmarks | None = None  # raw (unsmoothed) last detection
        self._t_detection = self._t_frame = -math.inf  # stream times of last_detection, last frame
        self._frames = 0
        self._warned_no_reference = False

    @property
    def retarget(self) -> dict[str, float] | None:
        return self._retarget

    @retarget.setter
    def retarget(self, params: Mapping[str, float] | None) -> None:
        self._retarget = None if params is None else resolve_params(params)

    def __call__(self, frame: np.ndarray, t: float | None = None) -> ConditionResult:
        """Condition image for one frame taken at ``t`` seconds (default: frame count / fps)."""
        cfg = self.config
        t = self._frames / cfg.fps if t is None else t
        self._frames += 1
        if cfg.mode == "style":
            square = prepare_frame(frame, cfg.crop_ratio, cfg.resolution)
            return ConditionResult(render_condition(cfg, square=square), None, "style", 0.0)
        t0 = time.perf_counter()
        raw = detect_frame(self.detector, frame, cfg)
        detect_ms = (time.perf_counter() - t0) * 1000.0
        smoothed = None if raw is None else self.smoother(raw, t)
        self._t_frame = t
        if raw is not None:
            self.last_detection, self._t_detection = raw, t
        lm, status = self.tracker.update(smoothed, t)
        image = render_condition(self._draw_config(), lm, retarget=self.retarget,
                                 reference=self.reference, user_anchor=self.user_anchor)
        moved = None
        if cfg.mode == "face" and self.face_reference is not None:
            drawn = Landmarks(face=drawn_face(cfg, lm, self.retarget), face_conf=lm.face_conf)
            moved = face_map(self.face_map_kind, self.face_reference, drawn, cfg.resolution, cfg.min_confidence)
        return ConditionResult(image, lm, status, detect_ms, moved)

    def _draw_config(self) -> ConditionConfig:
        """The config to draw with: alignment is switched off, with a warning once, while
        ``align_body`` is on but no reference is set."""
        cfg = self.config
        if cfg.mode != "body" or not cfg.align_body or self.reference is not None:
            return cfg
        if not self._warned_no_reference:
            log.warning("align_body is on but the Conditioner has no reference landmarks; drawing "
                        "the body unaligned until Conditioner.reference is set")
            self._warned_no_reference = True
        return replace(cfg, align_body=False)

    def calibrate(self, reference_face: np.ndarray) -> dict[str, float]:
        """Propose and apply retarget sliders from the last detected (neutral) user face and the
        reference character's 68 points; also records the body anchor. ValueError unless the last
        detection has a confident face (``has_face(min_confidence)``) seen at most
        ``calibrate_max_age_seconds`` (stream time) before the newest frame."""
        cfg, lm = self.config, self.last_detection
        if lm is None:
            raise ValueError("calibrate: no face detected yet; look at the camera and retry")
        if not lm.has_face(cfg.min_confidence):
            raise ValueError(
                "calibrate: the last detection has no confident face (in body mode the MediaPipe "
                "backend does not detect faces; use face mode or DWPose); look at the camera and retry")
        age = self._t_frame - self._t_detection
        if age > cfg.calibrate_max_age_seconds:
            raise ValueError(f"calibrate: the last face was seen {age:.2f} s ago (more than "
                             f"calibrate_max_age_seconds={cfg.calibrate_max_age_seconds}); "
                             "look at the camera and retry")
        params = propose_params(lm.face, reference_face)
        self.user_anchor = lm.body[1].copy()
        self.retarget = params
        return params

    def reconfigure(self, config: ConditionConfig) -> None:
        """Apply new settings mid-stream. The detector is kept unless the mode, backend or hands
        setting changed; the smoother and hold/fade tracker restart when their settings changed."""
        old, self.config = self.config, config
        if (old.mode, old.backend, old.detect_hands, old.dwpose_dir) != (
                config.mode, config.backend, config.detect_hands, config.dwpose_dir):
            self.close()
            self.detector = None if config.mode == "style" else make_detector(config)
        if (old.smoothing, old.hold_seconds, old.min_confidence) != (
                config.smoothing, config.hold_seconds, config.min_confidence):
            self.smoother = LandmarkSmoother(config.smoothing, config.hold_seconds, config.min_confidence)
        if (old.hold_seconds, old.fade_seconds) != (config.hold_seconds, config.fade_seconds):
            self.tracker = HoldFadeTracker(config.hold_seconds, config.fade_seconds, self.tracker.neutral)

    def close(self) -> None:
        if self.detector is not None:
            self.detector.close()
            self.detector = None
