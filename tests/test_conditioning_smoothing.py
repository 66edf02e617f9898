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


def _align(out, clean_fn, start=30, max_lag=4.0):
    """(lag in frames, error): the sub-frame lag (0.05-frame grid) at which ``out`` best matches the
    clean trajectory ``clean_fn(t)`` in RMS, and the error ``out - clean(t - lag)`` after frame
    ``start`` (the filter's warm-up is skipped)."""
    t = np.arange(len(out))[start:] / FPS
    best = None
    for lag in np.arange(0.0, max_lag + 1e-9, 0.05):
        err = out[start:] - clean_fn(t - lag / FPS)
        rms = float(np.sqrt(np.mean(err ** 2)))
        if best is None or rms < best[0]:
            best = (rms, float(lag), err)
    return best[1], best[2]


def _rms(err):
    return float(np.sqrt(np.mean(err ** 2)))


def _shake(err, cutoff_hz=3.0):
    """RMS of the error's components above ``cutoff_hz``: the jitter one sees as shaking. Head and
    body motion lives below it; detector noise is white, so most of it lies above."""
    spec = np.fft.rfft(err, axis=0)
    spec[np.fft.rfftfreq(len(err), 1.0 / FPS) < cutoff_hz] = 0.0
    return _rms(np.fft.irfft(spec, n=len(err), axis=0))


def _sway(t):
    """68 points swaying 0.1 frame widths at 0.5 Hz (a head moving side to side)."""
    return (0.5 + 0.1 * np.sin(2 * np.pi * 0.5 * t))[:, None, None] + np.zeros((1, 68, 2))


def test_default_filter_halves_jitter_with_at_most_two_frames_lag(rng):
    """Guards the requirement on the default strength: against the clean trajectory, aligned by the
    estimated (sub-frame) lag, the error above 3 Hz is at most half the raw detector noise's, with
    at most 2 frames of lag."""
    clean = _sway(np.arange(300) / FPS)
    noisy = clean + rng.normal(0, 0.004, clean.shape)
    out = _run(noisy, ConditionConfig().smoothing)
    lag, err = _align(out, _sway)
    raw_lag, raw_err = _align(noisy, _sway)
    assert raw_lag == 0.0  # the lag measure itself is sound
    assert lag <= 2.0, lag  # about 1.4 frames
    assert _shake(err) <= 0.5 * _shake(raw_err), (_shake(err), _shake(raw_err))  # about 0.4x
    # The total error (slow wander and the speed-dependent lag included) drops much less during
    # motion (about 0.73x); guarded here against regressions, it is not the requirement.
    assert _rms(err) <= 0.8 * _rms(raw_err)


def test_constant_speed_motion_lags_at_most_two_frames(rng):
    def line(t):
        return (0.2 + 0.3 * t)[:, None] * np.ones((1, 2))  # 0.3 frame widths per second

    clean = line(np.arange(120) / FPS)
    lag, _ = _align(_run(clean + rng.normal(0, 0.002, clean.shape), ConditionConfig().smoothing), line)
    assert lag <= 2.0, lag


def _still(t):
    return np.full((len(t), 1, 2), 0.5)  # broadcasts over any number of points


def test_still_points_are_strongly_stabilised(rng):
    noisy = 0.5 + rng.normal(0, 0.004, (200, 18, 2))
    _, err = _align(_run(noisy, ConditionConfig().smoothing), _still, max_lag=0.0)
    assert _rms(err) < 0.4 * 0.004  # about 0.35x of the detector noise


def test_strength_zero_is_off_and_more_strength_smooths_more(rng):
    noisy = 0.5 + rng.normal(0, 0.004, (150, 10, 2))
    np.testing.assert_allclose(_run(noisy, 0.0), noisy)
    errors = [_rms(_align(_run(noisy, s), _still, max_lag=0.0)[1]) for s in (0.2, 0.5, 0.8)]
    assert errors[0] > errors[1] > errors[2]
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


@pytest.mark.parametrize("strength", [0.0, 0.5])
def test_dropped_joint_is_held_then_marked_missing_never_zero(strength):
    """Guards that a dropped joint is held at its last position, also with smoothing off
    (strength 0 used to report the detector's raw (0, 0) with the held confidence)."""
    sm = LandmarkSmoother(strength=strength, hold_seconds=0.2)
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


def test_filter_off_holds_invalid_elements():
    """Guards the off branch (min_cutoff inf): invalid elements keep their last value."""
    flt = OneEuroFilter(*one_euro_params(0.0))
    flt(np.array([[0.2, 0.2], [0.4, 0.4]]), 0.0)
    out = flt(np.array([[0.0, 0.0], [0.6, 0.6]]), 1 / FPS, valid=np.array([[False], [True]]))
    np.testing.assert_array_equal(out, [[0.2, 0.2], [0.6, 0.6]])


def test_joint_lost_longer_than_the_hold_restarts_at_its_new_position():
    """Guards that a joint back after more than hold_seconds is drawn where it is now, not eased
    in from its stale held position; one back within the hold still moves smoothly."""
    sm = LandmarkSmoother(strength=0.9, hold_seconds=0.2)
    t = 0.0
    for _ in range(10):
        sm(_lm(0.3), t)
        t += 1 / FPS
    for gap_frames, expect_jump in ((3, False), (12, True)):  # 0.1 s (held) / 0.4 s (lost)
        for _ in range(gap_frames):
            lost = _lm(0.3)
            lost.body_conf[4] = 0.0
            sm(lost, t)
            t += 1 / FPS
        back = _lm(0.3)
        back.body[4] = 0.8
        out = sm(back, t)
        t += 1 / FPS
        if expect_jump:
            np.testing.assert_allclose(out.body[4], [0.8, 0.8], atol=1e-6)
        else:
            assert 0.3 < out.body[4, 0] < 0.7, out.body[4]
        for _ in range(30):  # settle back at 0.3 before the next case
            sm(_lm(0.3), t)
            t += 1 / FPS


def test_hands_missing_longer_than_the_hold_restart_at_their_new_position():
    """Guards the same for hands that vanish as a whole (``lm.hands`` None) and come back."""
    sm = LandmarkSmoother(strength=0.9, hold_seconds=0.2)

    def with_hands(x):
        lm = _lm(0.5)
        lm.hands, lm.hands_conf = np.full((2, 21, 2), x, np.float32), np.ones((2, 21), np.float32)
        return lm

    for i in range(10):
        sm(with_hands(0.3), i / FPS)
    for i in range(10, 25):  # 0.5 s without hands
        sm(_lm(0.5), i / FPS)
    out = sm(with_hands(0.8), 25 / FPS)
    np.testing.assert_allclose(out.hands, 0.8, atol=1e-6)


def test_zero_hold_still_smooths_a_continuously_seen_joint(rng):
    """hold_seconds=0 must not restart (i.e. switch off) the filter of joints seen every frame."""
    sm = LandmarkSmoother(strength=0.5, hold_seconds=0.0)
    outs = np.stack([sm(_lm(0.5 + rng.normal(0, 0.004)), i / FPS).body[0] for i in range(100)])
    assert np.std(outs[30:]) < 0.5 * 0.004


def test_timestamps_going_backwards_raise_and_repeats_are_repeated_frames():
    """Guards against silently filtering with a made-up dt: a timestamp going backwards (a
    restarted clock) raises; the same timestamp again returns the last output unchanged."""
    flt = OneEuroFilter(*one_euro_params(0.5))
    flt(np.array([0.2]), 1.0)
    second = flt(np.array([0.4]), 1.0 + 1 / FPS)
    np.testing.assert_array_equal(flt(np.array([0.9]), 1.0 + 1 / FPS), second)  # repeated frame
    with pytest.raises(ValueError, match="backwards"):
        flt(np.array([0.4]), 0.5)
    off = OneEuroFilter(*one_euro_params(0.0))
    off(np.array([0.2]), 1.0)
    np.testing.assert_array_equal(off(np.array([0.9]), 1.0), [0.9])  # off: every sample passes
    with pytest.raises(ValueError, match="backwards"):
        off(np.array([0.4]), 0.5)
    sm = LandmarkSmoother()
    sm(_lm(0.5), 10.0)
    with pytest.raises(ValueError, match="backwards"):
        sm(_lm(0.5), 0.0)  # a restarted clock
    flt.reset()
    flt(np.array([0.4]), 0.0)  # after reset a new clock is fine
