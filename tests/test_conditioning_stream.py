"""The Conditioner: camera frames -> condition images, hold/fade on empty scenes, and the same
drawing for training and live (rain/conditioning/conditioner.py)."""
import io
from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest

from rain.conditioning.conditioner import Conditioner, render_condition
from rain.conditioning.config import ConditionConfig
from rain.conditioning.crop import prepare_frame
from rain.conditioning.landmarks import Landmarks
from rain.conditioning.neutral import neutral_landmarks
from rain.conditioning.retarget import default_params

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class ScriptedDetector:
    """A stand-in detector replaying a list of results (Landmarks or None)."""

    name = "scripted"

    def __init__(self, results):
        self.results, self.closed = list(results), False

    def detect(self, image):
        assert image.dtype == np.uint8 and image.shape[0] == image.shape[1]
        return self.results.pop(0)

    def close(self):
        self.closed = True


def _person(shift=0.0):
    lm = neutral_landmarks()
    lm.body += shift
    lm.face += shift
    return lm


FRAME = np.zeros((480, 640, 3), np.uint8)


def test_stream_tracks_holds_fades_and_returns_to_neutral():
    cfg = ConditionConfig(mode="face", resolution=128, hold_seconds=0.5, fade_seconds=1.0)
    seen = _person(0.05)
    det = ScriptedDetector([seen] + [None] * 4)
    cond = Conditioner(cfg, detector=det)
    first = cond(FRAME, t=0.0)
    assert first.status == "tracking" and first.image.shape == (128, 128, 3) and first.image.any()
    held = cond(FRAME, t=0.4)
    assert held.status == "holding"
    np.testing.assert_array_equal(held.image, first.image)
    fading = cond(FRAME, t=1.0)
    assert fading.status == "fading" and not np.array_equal(fading.image, first.image)
    neutral = cond(FRAME, t=1.6)
    assert neutral.status == "neutral"
    np.testing.assert_array_equal(neutral.image, render_condition(cfg, neutral_landmarks()))
    cond(FRAME, t=2.0)
    cond.close()
    assert det.closed


def test_empty_scene_from_the_start_shows_the_neutral_pose():
    cfg = ConditionConfig(mode="body", resolution=64)
    cond = Conditioner(cfg, detector=ScriptedDetector([None, None]))
    for _ in range(2):
        out = cond(FRAME)
        assert out.status == "neutral" and out.image.any() and np.all(np.isfinite(out.landmarks.body))


def test_face_mode_ignores_a_detection_without_a_face():
    body_only = _person()
    body_only.face_conf[:] = 0.0
    cond = Conditioner(ConditionConfig(mode="face", resolution=64),
                       detector=ScriptedDetector([body_only]))
    assert cond(FRAME).status == "neutral"


def test_training_and_live_draw_identical_images(tmp_path):
    """Landmarks stored for training and re-drawn give the live image bit for bit."""
    for mode in ("face", "body"):
        cfg = ConditionConfig(mode=mode, resolution=96)
        cond = Conditioner(cfg, detector=ScriptedDetector([_person(0.02)]), retarget=default_params())
        live = cond(FRAME, t=0.0)
        buf = io.BytesIO()
        np.savez(buf, **live.landmarks.to_dict())
        buf.seek(0)
        stored = Landmarks.from_dict(dict(np.load(buf)))
        again = render_condition(cfg, stored, retarget=default_params())
        np.testing.assert_array_equal(again, live.image)


def test_style_mode_is_the_cropped_frame_and_needs_no_detector(rng):
    frame = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    cond = Conditioner(ConditionConfig(mode="style", resolution=64))
    assert cond.detector is None
    out = cond(frame)
    assert out.status == "style" and out.landmarks is None
    np.testing.assert_array_equal(out.image, prepare_frame(frame, 0.9, 64))


def test_retarget_and_alignment_change_the_image():
    cfg = ConditionConfig(mode="face", resolution=128)
    plain = Conditioner(cfg, detector=ScriptedDetector([_person()]))(FRAME).image
    slid = Conditioner(cfg, detector=ScriptedDetector([_person()]), retarget=default_params())(FRAME).image
    assert not np.array_equal(plain, slid)
    ref = neutral_landmarks()
    ref.body = (0.5 + (ref.body - 0.5) * 0.6).astype(np.float32)  # a smaller character
    body = ConditionConfig(mode="body", resolution=128, align_body=True)
    aligned = Conditioner(body, detector=ScriptedDetector([_person()]), reference=ref)(FRAME).image
    unaligned = Conditioner(ConditionConfig(mode="body", resolution=128),
                            detector=ScriptedDetector([_person()]))(FRAME).image
    assert np.count_nonzero(aligned.max(-1)) < np.count_nonzero(unaligned.max(-1))


def test_calibrate_uses_the_last_detection():
    cond = Conditioner(ConditionConfig(mode="face"), detector=ScriptedDetector([_person()]))
    with pytest.raises(ValueError, match="no face"):
        cond.calibrate(neutral_landmarks().face)
    cond(FRAME)
    params = cond.calibrate(neutral_landmarks().face)
    assert params["eye_height"] == 1.0 and cond.retarget == params


def test_calibrate_refuses_a_detection_without_a_confident_face():
    """Guards body mode without a face model: the face is a 0.5 placeholder with confidence 0, and
    calibrating from it used to return the default sliders silently (with a divide by zero)."""
    body_only = _person()
    body_only.face[:], body_only.face_conf[:] = 0.5, 0.0
    cond = Conditioner(ConditionConfig(mode="body"), detector=ScriptedDetector([body_only]))
    assert cond(FRAME).status == "tracking"
    with pytest.raises(ValueError, match="no confident face"):
        cond.calibrate(neutral_landmarks().face)
    assert cond.retarget is None and cond.user_anchor is None


def test_calibrate_refuses_a_stale_face():
    """Guards against calibrating from a face last seen long ago (the user has left)."""
    cfg = ConditionConfig(mode="face")
    cond = Conditioner(cfg, detector=ScriptedDetector([_person(), None, None]))
    cond(FRAME, t=0.0)
    cond(FRAME, t=cfg.calibrate_max_age_seconds / 2)
    assert cond.calibrate(neutral_landmarks().face)["eye_height"] == 1.0  # recent enough
    cond(FRAME, t=cfg.calibrate_max_age_seconds + 0.1)
    with pytest.raises(ValueError, match="seen 1.10 s ago"):
        cond.calibrate(neutral_landmarks().face)


def test_align_body_without_a_reference_is_never_silent(caplog):
    """Guards that align_body=True without a reference does not silently draw unaligned:
    render_condition raises, and the Conditioner draws unaligned with one warning per stream."""
    cfg = ConditionConfig(mode="body", resolution=64, align_body=True)
    with pytest.raises(ValueError, match="align_body needs the reference"):
        render_condition(cfg, _person())
    cond = Conditioner(cfg, detector=ScriptedDetector([_person(), _person()]))
    with caplog.at_level("WARNING", logger="rain.conditioning.conditioner"):
        images = [cond(FRAME).image for _ in range(2)]
    assert sum("no reference landmarks" in r.getMessage() for r in caplog.records) == 1
    np.testing.assert_array_equal(images[1], render_condition(replace(cfg, align_body=False), _person()))


def test_invalid_frames_and_sliders_raise_value_errors():
    cond = Conditioner(ConditionConfig(mode="face"), detector=ScriptedDetector([]))
    with pytest.raises(ValueError, match="None"):
        cond(None)
    with pytest.raises(ValueError):
        cond.retarget = {"eye_height": 9.0}


def test_real_camera_frames_with_mediapipe():
    pytest.importorskip("mediapipe")
    from skimage.data import astronaut

    img = astronaut()
    cond = Conditioner(ConditionConfig(mode="face", resolution=256), retarget=default_params())
    try:
        results = [cond(img), cond(img), cond(np.zeros_like(img))]
        assert [r.status for r in results] == ["tracking", "tracking", "holding"]
        assert results[0].image.any() and results[0].detect_ms > 0
    finally:
        cond.close()


def test_restarted_clock_raises_instead_of_filtering_wrongly():
    """Guards that a stream whose timestamps go backwards (restarted clock) gets a ValueError."""
    cond = Conditioner(ConditionConfig(mode="face"), detector=ScriptedDetector([_person(), _person()]))
    cond(FRAME, t=5.0)
    with pytest.raises(ValueError, match="backwards"):
        cond(FRAME, t=0.0)


def test_config_is_frozen_and_checks_min_confidence():
    """Guards that ConditionConfig cannot be changed past its validation, and that
    min_confidence is range-checked like the other settings."""
    cfg = ConditionConfig()
    with pytest.raises(FrozenInstanceError):
        cfg.min_confidence = 2.0
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="min_confidence"):
            ConditionConfig(min_confidence=bad)
    with pytest.raises(ValueError, match="calibrate_max_age_seconds"):
        ConditionConfig(calibrate_max_age_seconds=-1.0)
    assert replace(cfg, min_confidence=0.5).min_confidence == 0.5
