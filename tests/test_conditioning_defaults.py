"""House rule "every default defined once": ConditionConfig is the single source of the conditioning
defaults; functions in rain/conditioning read theirs from it (rain/conditioning/config.py)."""
import ast
import inspect
from dataclasses import fields
from pathlib import Path

import pytest

import rain.conditioning as rc
from rain.conditioning.config import ConditionConfig
from rain.conditioning.detect_dwpose import DWPoseDetector
from rain.conditioning.detect_mediapipe import MediaPipeDetector, _hand_side
from rain.conditioning.landmarks import Landmarks

PACKAGE = Path(rc.__file__).parent
# parameter names that carry a ConditionConfig setting under another name
ALIASES = {"min_conf": "min_confidence", "threshold": "min_confidence", "line_width": "body_line_width",
           "radius": "face_dot_radius", "width": "face_line_width", "strength": "smoothing",
           "folder": "dwpose_dir", "hands": "detect_hands", "edges": "style_edges"}
SETTINGS = {f.name for f in fields(ConditionConfig)}


def _literal_setting_defaults(path):
    """(function, parameter) pairs in ``path`` whose parameter is a ConditionConfig setting (by
    name or alias) and whose default is written as a literal."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        args = node.args.posonlyargs + node.args.args
        pairs = list(zip(args[len(args) - len(node.args.defaults):], node.args.defaults))
        pairs += [(a, d) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d is not None]
        for arg, default in pairs:
            if (arg.arg in SETTINGS or arg.arg in ALIASES) and isinstance(default, ast.Constant):
                found.append(f"{path.name}:{node.lineno} {node.name}({arg.arg}={default.value!r})")
    return found


def test_no_conditioning_default_is_restated_as_a_literal():
    """Guards the rule: a default argument that is a ConditionConfig setting reads the config's
    class attribute (e.g. ``ConditionConfig.min_confidence``) instead of repeating the number."""
    found = [hit for path in sorted(PACKAGE.glob("*.py")) if path.name != "config.py"
             for hit in _literal_setting_defaults(path)]
    assert not found, found


@pytest.mark.parametrize("fn, param, setting", [
    (rc.draw_body, "line_width", "body_line_width"), (rc.draw_body, "min_conf", "min_confidence"),
    (rc.draw_body, "draw_hands", "draw_hands"), (rc.draw_face_dots, "radius", "face_dot_radius"),
    (rc.draw_face_dots, "min_conf", "min_confidence"), (rc.draw_face_contours, "width", "face_line_width"),
    (rc.draw_face_contours, "min_conf", "min_confidence"), (rc.draw_style, "edges", "style_edges"),
    (rc.align_body, "min_conf", "min_confidence"), (Landmarks.has_body, "threshold", "min_confidence"),
    (Landmarks.has_face, "threshold", "min_confidence"), (rc.LandmarkSmoother, "strength", "smoothing"),
    (rc.LandmarkSmoother, "hold_seconds", "hold_seconds"),
    (rc.LandmarkSmoother, "min_conf", "min_confidence"),
    (rc.HoldFadeTracker, "hold_seconds", "hold_seconds"),
    (rc.HoldFadeTracker, "fade_seconds", "fade_seconds"),
    (DWPoseDetector, "folder", "dwpose_dir"), (MediaPipeDetector, "static_images", "static_images"),
    (MediaPipeDetector, "hands", "detect_hands"), (MediaPipeDetector, "min_confidence", "min_confidence"),
    (_hand_side, "min_conf", "min_confidence"),
])
def test_function_defaults_are_the_config_defaults(fn, param, setting):
    """The values themselves: calling with default arguments behaves as the default config."""
    assert inspect.signature(fn).parameters[param].default == getattr(ConditionConfig(), setting)
