"""Face retarget sliders and calibration (rain/conditioning/retarget.py, calibrate.py).
Every check measures landmarks, in the face's own axes, on a tilted face."""
import numpy as np
import pytest

from rain.conditioning.calibrate import face_measures, propose_params
from rain.conditioning.landmarks import LEFT_EYE, MOUTH, NOSE, RIGHT_EYE, face_axes, face_size
from rain.conditioning.neutral import NEUTRAL_FACE
from rain.conditioning.retarget import (
    PARAMS_BY_NAME, RETARGET_PARAMS, default_params, neutral_params, resolve_params, retarget_face,
)

TILT = np.deg2rad(25.0)
ROT = np.array([[np.cos(TILT), -np.sin(TILT)], [np.sin(TILT), np.cos(TILT)]])


def _tilted(face=NEUTRAL_FACE, rot=ROT):
    return ((face - 0.5) @ rot.T + 0.5).astype(np.float32)


FACE = _tilted()
FACE[65:68] += np.array([0.0, 0.02]) @ ROT.T  # open the mouth a little so its height is measurable
AXES, SIZE = face_axes(FACE), face_size(FACE)


def local(face):
    return (np.asarray(face, np.float64) - FACE.mean(0)) @ AXES.T  # (68, 2) in the input's face axes


def c(face, idx):
    return local(face)[list(idx)].mean(0)


def span(face, i, j, axis):
    return local(face)[j, axis] - local(face)[i, axis]


def lid_gap(face):
    loc = local(face)
    return loc[[40, 41, 46, 47], 1].mean() - loc[[37, 38, 43, 44], 1].mean()


def test_parameters_are_the_published_ones():
    expected = {
        "face_length": (0.75, 0.1, 1.5), "eye_height": (3.0, 0.1, 4.0), "eye_width": (1.6, 0.1, 3.0),
        "mouth_height": (1.2, 0.1, 3.0), "mouth_width": (0.67, 0.1, 3.0), "jaw_width": (0.9, 0.1, 1.5),
        "eye_distance": (0.05, -0.25, 0.25), "eye_vertical": (0.10, -0.25, 0.25),
        "eye_horizontal": (0.15, -0.25, 0.25), "mouth_horizontal": (0.15, -0.25, 0.25),
        "mouth_vertical": (0.03, -0.25, 0.25), "nose_horizontal": (0.10, -0.25, 0.25),
        "nose_vertical": (0.05, -0.25, 0.25),
    }
    assert {p.name: (p.default, p.minimum, p.maximum) for p in RETARGET_PARAMS} == expected
    for p in RETARGET_PARAMS:
        assert p.label and 0 < p.step <= 0.05 and p.minimum <= p.neutral <= p.maximum
    assert default_params()["eye_height"] == 3.0


@pytest.mark.parametrize("params", [None, {}, "neutral"])
def test_neutral_is_the_identity(params):
    params = neutral_params() if params == "neutral" else params
    out = retarget_face(FACE, params)
    np.testing.assert_allclose(out, FACE, atol=1e-6)


def test_defaults_change_the_face_and_do_not_modify_the_input():
    before = FACE.copy()
    out = retarget_face(FACE, default_params())
    np.testing.assert_array_equal(FACE, before)
    assert np.abs(out - FACE).max() > 0.01


# (param, value, measure(face) -> float, expected(before) -> float)
EYES = RIGHT_EYE + LEFT_EYE
CASES = [
    ("face_length", 0.6, lambda f: local(f)[8, 1] - c(f, range(17, 27))[1], lambda v: 0.6 * v),
    ("jaw_width", 0.7, lambda f: span(f, 0, 16, 0), lambda v: 0.7 * v),
    ("eye_height", 3.0, lid_gap, lambda v: 3.0 * v),
    ("eye_width", 1.6, lambda f: span(f, 36, 39, 0), lambda v: 1.6 * v),
    ("mouth_height", 2.0, lambda f: np.ptp(local(f)[48:60, 1]), lambda v: 2.0 * v),
    ("mouth_width", 0.5, lambda f: span(f, 48, 54, 0), lambda v: 0.5 * v),
    ("eye_distance", 0.2, lambda f: c(f, LEFT_EYE)[0] - c(f, RIGHT_EYE)[0], lambda v: v + 0.2 * SIZE),
    ("eye_vertical", 0.1, lambda f: c(f, EYES)[1], lambda v: v + 0.1 * SIZE),
    ("eye_horizontal", -0.15, lambda f: c(f, EYES)[0], lambda v: v - 0.15 * SIZE),
    ("mouth_horizontal", 0.15, lambda f: c(f, MOUTH)[0], lambda v: v + 0.15 * SIZE),
    ("mouth_vertical", -0.2, lambda f: c(f, MOUTH)[1], lambda v: v - 0.2 * SIZE),
    ("nose_horizontal", 0.1, lambda f: c(f, NOSE)[0], lambda v: v + 0.1 * SIZE),
    ("nose_vertical", 0.05, lambda f: c(f, NOSE)[1], lambda v: v + 0.05 * SIZE),
]


@pytest.mark.parametrize("name, value, measure, expected", CASES, ids=[c[0] for c in CASES])
def test_each_parameter_does_what_it_says(name, value, measure, expected):
    out = retarget_face(FACE, {name: value})
    assert measure(out) == pytest.approx(expected(measure(FACE)), rel=1e-3, abs=1e-5)
    # and nothing else moves: points outside the part stay put
    moved = np.linalg.norm(out - FACE, axis=1) > 1e-6
    part = {"face_length": range(68), "jaw_width": range(17), "eye_height": EYES, "eye_width": EYES,
            "eye_distance": EYES, "eye_vertical": EYES, "eye_horizontal": EYES}.get(
        name, MOUTH if name.startswith("mouth") else NOSE)
    assert moved.any() and not moved[[i for i in range(68) if i not in set(part)]].any()


def test_sliders_follow_the_head_tilt():
    """Retargeting a rotated face equals rotating the retargeted face."""
    upright = NEUTRAL_FACE
    rotated_after = _tilted(retarget_face(upright, default_params()))
    np.testing.assert_allclose(retarget_face(_tilted(upright), default_params()), rotated_after, atol=1e-5)


def test_invalid_parameters_raise():
    with pytest.raises(ValueError, match="unknown"):
        resolve_params({"eye_size": 2.0})
    with pytest.raises(ValueError, match="outside"):
        retarget_face(FACE, {"eye_height": 5.0})
    with pytest.raises(ValueError):
        retarget_face(FACE[:60], {})


def test_calibration_of_a_face_to_itself_is_neutral():
    assert propose_params(FACE, FACE) == neutral_params()


def test_calibration_recovers_the_sliders_that_made_the_reference(rng):
    for _ in range(20):
        params = {p.name: round(float(rng.uniform(p.minimum, p.maximum)) / p.step) * p.step
                  for p in RETARGET_PARAMS}
        # the reference character: the user's face retargeted, then moved, scaled and tilted
        ref = retarget_face(FACE, params) * 1.7 + 0.3
        ref = _tilted(ref, ROT.T)
        proposed = propose_params(FACE, ref)
        for name, value in params.items():
            assert proposed[name] == pytest.approx(value, abs=PARAMS_BY_NAME[name].step * 0.51), name


def test_calibration_clips_and_keeps_defaults_when_unmeasurable():
    closed = FACE.copy()
    closed[[37, 38]] = closed[[41, 40]]
    closed[[43, 44]] = closed[[47, 46]]  # eyes shut: eye height cannot be measured
    assert face_measures(closed)["eye_height"] == pytest.approx(0.0, abs=1e-6)
    proposed = propose_params(closed, FACE)
    assert proposed["eye_height"] == PARAMS_BY_NAME["eye_height"].default
    wide = retarget_face(FACE, {"eye_width": 3.0})
    assert propose_params(retarget_face(FACE, {"eye_width": 0.5}), wide)["eye_width"] == 3.0  # 6x clipped


def test_calibration_refuses_a_degenerate_face():
    """Guards that a placeholder face (all points at 0.5, no face detected) or a collapsed brow
    raises instead of silently proposing the defaults after a division by zero."""
    placeholder = np.full((68, 2), 0.5, np.float32)
    with pytest.raises(ValueError, match="user face is degenerate"):
        propose_params(placeholder, FACE)
    with pytest.raises(ValueError, match="reference face is degenerate"):
        propose_params(FACE, placeholder)
    no_brow_span = FACE.copy()
    no_brow_span[17:27] = no_brow_span[17:27].mean(0)
    with pytest.raises(ValueError, match="degenerate"):
        face_measures(no_brow_span)
    with np.errstate(all="raise"):  # a real face computes without any floating point warning
        propose_params(FACE, FACE)
