"""The detector interface and the factory that picks a backend.

A detector takes a square uint8 RGB image (the centre crop, see `crop.py`) and returns
`Landmarks` normalised to it, or None when nobody (or, in face mode, no face) is in view.
Backends: "mediapipe" (default, models inside the wheel) and "dwpose" (full tier, ONNX files in
``ConditionConfig.dwpose_dir``). "auto" takes DWPose when its files are present. When DWPose is
asked for but unavailable, the factory says so in a warning and falls back to MediaPipe.
"""
from __future__ import annotations

import logging
from typing import Protocol

import numpy as np

from rain.conditioning.config import ConditionConfig
from rain.conditioning.crop import prepare_frame
from rain.conditioning.detect_dwpose import DWPoseDetector, dwpose_paths
from rain.conditioning.detect_mediapipe import MediaPipeDetector
from rain.conditioning.landmarks import Landmarks

log = logging.getLogger(__name__)


class Detector(Protocol):
    name: str

    def detect(self, image: np.ndarray) -> Landmarks | None:
        """Square uint8 RGB (S, S, 3) -> Landmarks or None."""

    def close(self) -> None:
        """Release the models."""


def dwpose_available(folder: str) -> bool:
    """True when both DWPose ONNX files are present in ``folder``."""
    try:
        dwpose_paths(folder)
    except FileNotFoundError:
        return False
    return True


def make_detector(config: ConditionConfig, body: bool | None = None, face: bool | None = None) -> Detector:
    """A detector for ``config`` (one per stream). ``body`` / ``face`` default to what the mode
    needs: body mode -> body (+ hands if configured), face mode -> face, style mode -> both off."""
    body = config.mode == "body" if body is None else body
    face = config.mode == "face" if face is None else face
    if config.backend in ("dwpose", "auto"):
        try:
            return DWPoseDetector(config.dwpose_dir)
        except FileNotFoundError as exc:
            level = logging.WARNING if config.backend == "dwpose" else logging.INFO
            log.log(level, "DWPose unavailable, falling back to MediaPipe: %s", exc)
        except Exception as exc:  # a corrupt or incompatible ONNX file
            log.warning("DWPose failed to load (%s: %s); falling back to MediaPipe",
                        type(exc).__name__, exc)
    elif config.backend != "mediapipe":
        raise ValueError(f"unknown backend {config.backend!r}; use 'auto', 'mediapipe' or 'dwpose'")
    return MediaPipeDetector(body=body, face=face, hands=body and config.detect_hands,
                             static_images=config.static_images, min_confidence=config.min_confidence)


def detect_frame(detector: Detector, frame: np.ndarray, config: ConditionConfig) -> Landmarks | None:
    """Any camera frame -> validated centre crop at ``detect_size`` -> landmarks, or None when
    the part the mode needs (body in body mode, face in face mode) is not confidently seen."""
    lm = detector.detect(prepare_frame(frame, config.crop_ratio, config.detect_size))
    if lm is None:
        return None
    if config.mode == "body" and not lm.has_body(config.min_confidence):
        return None
    if config.mode == "face" and not lm.has_face(config.min_confidence):
        return None
    return lm
