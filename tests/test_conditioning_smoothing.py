"""One-Euro smoothing, dropped joints, hold-and-fade (rain/conditioning/smoothing.py)."""
import numpy as np
import pytest

from rain.conditioning.config import ConditionConfig
from rain.conditioning.landmarks import Landmarks
from rain.conditioning.neutral import neutral_landmarks
from rain.conditioning.smoothing import (
    HoldFadeTracker, LandmarkSmoother, OneEuroFilter, blend, one_euro_params,
)

FPS = 30.0


def _run(signal, strength):
    flt = OneEuroFilter(*one_euro_params(strength))
    return np.stack([flt(x, i / FPS) for i, x in enumerate(signal)])


def _lag(out, clean, max_lag=8, start=30):
    n = len(out)
    errors = [np.mean((out[start:] - clean[start - k:n - k]) ** 2) for k in range(max_lag + 1)]
    return int(np.argmin(errors))


def _jitter(x, start=30):
    """Frame-to-frame shake: std of the second difference over time."""
    return float(np.std(np.diff(x[start:], 2, axis=0)))


def test_default_filter_halves_jitter_with_at_most_two_frames_lag(rng):
    strength = ConditionConfig().smoothing
    t = np.arange(300) / FPS
    # 68 points swaying 0.1 frame widths at 0.5 Hz (a head moving side to side), plus detector noise
    clean = 0.5 + 0.1 * np.sin(2 * np.pi * 0.5 * t)[:, None, None] + np.zeros((1, 68, 2))
    noisy = clean + rng.normal(0, 0.004, clean.shape)
    out = _run(noisy, strength)
    assert _jitter(out) <= 0.5 * _jitter(noisy)
    assert _lag(out, clean) <= 2
    assert _lag(noisy, clean) == 0  # the lag measure itself is sound


def test_constant_speed_motion_lags_at_most_two_frames(rng):
    t = np.arange(120) / FPS
    clean = (0.2 + 0.3 * t)[:, None] * np.ones((1, 2))  # 0.3 frame widths per second
    out = _run(clean + rng.normal(0, 0.002, clean.shape), ConditionConfig().smoothing)
    assert _lag(out, clean) <= 2


def test_still_points_are_strongly_stabilised(rng):
    noisy = 0.5 + rng.normal(0, 0.004, (200, 18, 2))
    out = _run(noisy, ConditionConfig().smoothing)
    assert np.std(out[30:]) < np.std(noisy) / 2.5


def test_strength_zero_is_off_and_more_strength_smooths_more(rng):
    noisy = 0.5 + rng.normal(0, 0.004, (150, 10, 2))
    np.testing.assert_allclose(_run(noisy, 0.0), noisy)
    jitters = [_jitter(_run(noisy, s)) for s in (0.2, 0.5, 0.8)]
    assert jitters[0] > jitters[1] > jitters[2]
    with pytest.raises(ValueError):
        one_euro_params(1.5)


def test_invalid_elements_hold_their_last_output():
    flt = OneEuroFilter(*one_euro_params(0.5))
    flt(np.array([[0.2, 0.2], [0.4, 0.4]]), 0.0)
    out = flt(np.array([[0.0, 0.0], [0.6, 0.6]]), 1 / FPS, valid=np.array([[False], [True]]))
    np.testing.assert_allclose(out[0], [0.2, 0.2])
    assert 0.4 < out[1, 0] <= 0.6


def _lm(x, conf=1.0):
    lm = neutral_landmarks()
    lm.body[:] = x
    lm.body_conf[:] = conf
    return lm


def test_dropped_joint_is_held_then_marked_missing_never_zero():
    sm = LandmarkSmoother(strength=0.5, hold_seconds=0.2)
    for i in range(10):
        out = sm(_lm(0.7), i / FPS)
    for i in range(10, 30):
        dropped = _lm(0.7)
        dropped.body[4], dropped.body_conf[4] = 0.0, 0.0  # the detector lost the right wrist
        out = sm(dropped, i / FPS)
        np.testing.assert_allclose(out.body[4], [0.7, 0.7], atol=1e-6)  # held, not pulled to 0
        held = (i - 9) / FPS <= 0.2 + 1e-9
        assert (out.body_conf[4] > 0) == held, i


def test_joint_appearing_later_starts_at_its_value():
    sm = LandmarkSmoother(strength=0.9)
    first = _lm(0.5)
    first.body_conf[7] = 0.0
    sm(first, 0.0)
    later = _lm(0.5)
    later.body[7] = 0.9
    out = sm(later, 1 / FPS)
    np.testing.assert_allclose(out.body[7], [0.9, 0.9], atol=1e-6)


def test_hold_then_fade_to_neutral():
    neutral = neutral_landmarks()
    tr = HoldFadeTracker(hold_seconds=0.5, fade_seconds=1.0, neutral=neutral)
    assert tr.update(None, 0.0)[1] == "neutral"  # nobody seen yet
    seen = _lm(0.9)
    assert tr.update(seen, 1.0)[1] == "tracking"
    lm, status = tr.update(None, 1.4)
    assert status == "holding"
    np.testing.assert_array_equal(lm.body, seen.body)
    lm, status = tr.update(None, 2.0)  # half way through the fade
    assert status == "fading"
    np.testing.assert_allclose(lm.body, 0.5 * (seen.body + neutral.body), atol=1e-6)
    lm, status = tr.update(None, 2.6)
    assert status == "neutral"
    np.testing.assert_allclose(lm.body, neutral.body)
    assert tr.update(seen, 3.0)[1] == "tracking"


def test_blend_endpoints():
    a, b = _lm(0.2), _lm(0.8, conf=0.5)
    np.testing.assert_allclose(blend(a, b, 0.0).body, a.body)
    np.testing.assert_allclose(blend(a, b, 1.0).body_conf, b.body_conf)
    assert isinstance(blend(a, b, 0.5), Landmarks)
