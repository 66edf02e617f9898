"""Conditioning: camera frame -> landmarks -> condition image for the pose guider.

Typical live use (one `Conditioner` per stream / session)::

    from rain.conditioning import ConditionConfig, Conditioner
    cond = Conditioner(ConditionConfig(mode="face", resolution=512))
    result = cond(frame_rgb_uint8)        # result.image: (512, 512, 3) uint8
    cond.retarget = default_params()      # face sliders (see RETARGET_PARAMS)

Training data uses `render_condition` on stored landmarks: the same drawing as live.
Heavy backends (mediapipe, onnxruntime) are imported lazily.
"""
from rain.conditioning.align import align_body
from rain.conditioning.calibrate import face_measures, propose_params
from rain.conditioning.conditioner import ConditionResult, Conditioner, render_condition
from rain.conditioning.config import MODES, ConditionConfig
from rain.conditioning.crop import center_crop, prepare_frame, to_rgb_uint8
from rain.conditioning.detect import Detector, detect_frame, dwpose_available, make_detector
from rain.conditioning.draw import draw_body, draw_face_contours, draw_face_dots, draw_style
from rain.conditioning.landmarks import Landmarks
from rain.conditioning.neutral import neutral_landmarks
from rain.conditioning.retarget import (
    RETARGET_PARAMS, RetargetParam, default_params, neutral_params, retarget_face,
)
from rain.conditioning.smoothing import HoldFadeTracker, LandmarkSmoother, OneEuroFilter

__all__ = [
    "MODES", "RETARGET_PARAMS", "ConditionConfig", "ConditionResult", "Conditioner", "Detector",
    "HoldFadeTracker", "LandmarkSmoother", "Landmarks", "OneEuroFilter", "RetargetParam",
    "align_body", "center_crop", "default_params", "detect_frame", "draw_body", "draw_face_contours",
    "draw_face_dots", "draw_style", "dwpose_available", "face_measures", "make_detector",
    "neutral_landmarks", "neutral_params", "prepare_frame", "propose_params", "render_condition",
    "retarget_face", "to_rgb_uint8",
]
