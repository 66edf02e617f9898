"""Real MediaPipe on real photos: anatomy, left/right, odd frames (rain/conditioning/detect_mediapipe.py).

Photos: scikit-image's astronaut (face + upper body) and matplotlib's grace_hopper.jpg (portrait).
We assert anatomy and consistency, not exact pixels.
"""
import cv2
import numpy as np
import pytest

from rain.conditioning.config import ConditionConfig
from rain.conditioning.crop import prepare_frame
from rain.conditioning.detect import detect_frame
from rain.conditioning.landmarks import LEFT_EYE, RIGHT_EYE, mirror

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
mp_module = pytest.importorskip("mediapipe")


def _photo(name):
    if name == "astronaut":
        from skimage.data import astronaut

        return astronaut()
    from matplotlib import cbook
    from PIL import Image

    return np.array(Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB"))


@pytest.fixture(scope="module")
def detector():
    from rain.conditioning.detect_mediapipe import MediaPipeDetector

    det = MediaPipeDetector(body=True, face=True, static_images=True)
    yield det
    det.close()


def _square(img, size=384):
    return prepare_frame(img, 0.9, size)


def _assert_sane_face(face):
    y = lambda idx: face[list(idx), 1].mean()  # noqa: E731
    brows, eyes = y(range(17, 27)), y(range(36, 48))
    nose_tip, mouth, chin = face[30, 1], y(range(48, 68)), face[8, 1]
    assert brows < eyes < nose_tip < mouth < chin, (brows, eyes, nose_tip, mouth, chin)
    # the person's right eye (36-41) is on the image's left, jaw 0 on the left, jaw 16 on the right
    assert face[list(RIGHT_EYE), 0].mean() < face[list(LEFT_EYE), 0].mean()
    assert face[0, 0] < face[8, 0] < face[16, 0]
    assert face[48, 0] < face[54, 0] and face[36, 0] < face[39, 0] < face[42, 0] < face[45, 0]
    assert np.all((face > 0) & (face < 1))


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_real_face_is_found_with_sane_68_points(detector, name):
    lm = detector.detect(_square(_photo(name)))
    assert lm is not None and lm.has_face()
    _assert_sane_face(lm.face)
    width = lm.face[16, 0] - lm.face[0, 0]
    assert 0.15 < width < 0.8  # a portrait-sized face


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_real_upper_body_is_found_with_sane_openpose_points(detector, name):
    lm = detector.detect(_square(_photo(name)))
    b, ok = lm.body, lm.body_conf > 0.5
    for j in (0, 1, 2, 5, 14, 15):  # nose, neck, shoulders, eyes
        assert ok[j], f"joint {j} not confident: {lm.body_conf.round(2)}"
    assert b[2, 1] > b[0, 1] and b[5, 1] > b[0, 1]  # shoulders below the nose
    assert b[14, 1] < b[0, 1] and b[15, 1] < b[0, 1]  # eyes above the nose
    assert b[2, 0] < b[1, 0] < b[5, 0]  # person's right shoulder on the image's left, neck between
    assert b[14, 0] < b[15, 0]
    # body and face agree: OpenPose eyes sit on the face's eye centroids
    for body_j, idx in ((14, RIGHT_EYE), (15, LEFT_EYE)):
        assert np.linalg.norm(b[body_j] - lm.face[list(idx)].mean(0)) < 0.03


def test_mirrored_photo_gives_mirrored_landmarks(detector):
    img = _square(_photo("astronaut"))
    a, b = detector.detect(img), detector.detect(np.ascontiguousarray(img[:, ::-1]))
    m = mirror(b)
    assert np.median(np.linalg.norm(a.face - m.face, axis=1)) < 0.015
    ok = (a.body_conf > 0.5) & (m.body_conf > 0.5)
    assert ok.sum() >= 6
    assert np.median(np.linalg.norm(a.body[ok] - m.body[ok], axis=1)) < 0.03


@pytest.mark.parametrize("background", [0, 128, 255])
def test_blank_frame_gives_none(detector, background):
    assert detector.detect(np.full((256, 256, 3), background, np.uint8)) is None


def test_tilted_head_follows_the_rotation(detector):
    img = _square(_photo("grace_hopper"))
    base = detector.detect(img).face
    rot = cv2.getRotationMatrix2D((192, 192), 20, 1.0)
    tilted = detector.detect(cv2.warpAffine(img, rot, (384, 384)))
    assert tilted is not None and tilted.has_face()
    expected = (np.c_[base * 384, np.ones(68)] @ rot.T) / 384
    assert np.median(np.linalg.norm(tilted.face - expected, axis=1)) < 0.02


def test_odd_frames_through_detect_frame(detector):
    cfg = ConditionConfig(mode="face", detect_size=384)
    img = _photo("astronaut")
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    huge = cv2.resize(img, (4000, 3000), interpolation=cv2.INTER_LINEAR)
    for frame in (gray, rgba, huge, (img.astype(np.uint16) * 257)):
        lm = detect_frame(detector, frame, cfg)
        assert lm is not None and lm.has_face()
        _assert_sane_face(lm.face)
    for frame in (cv2.resize(img, (12, 12)), np.rot90(img).copy(), np.zeros((1, 1, 3), np.uint8)):
        lm = detect_frame(detector, frame, cfg)  # may or may not find a face; must not crash
        assert lm is None or (np.all(np.isfinite(lm.face)) and lm.has_face())


def test_video_mode_tracks_across_frames():
    from rain.conditioning.detect_mediapipe import MediaPipeDetector

    det = MediaPipeDetector(body=False, face=True, static_images=False)
    try:
        img = _square(_photo("grace_hopper"), 256)
        faces = [det.detect(img).face for _ in range(3)]
        assert det.detect(np.zeros_like(img)) is None
        assert np.abs(faces[0] - faces[2]).max() < 0.02
    finally:
        det.close()


def test_hand_side_follows_the_nearest_body_wrist():
    from rain.conditioning.detect_mediapipe import _hand_side
    from rain.conditioning.neutral import neutral_landmarks

    lm = neutral_landmarks()  # right wrist on the image's left
    assert _hand_side(lm.body[4] + 0.01, "Right", lm) == 0
    assert _hand_side(lm.body[7] - 0.01, "Left", lm) == 1
    lm.body_conf[:] = 0.0  # no body: MediaPipe's selfie-view label is swapped
    assert _hand_side(np.zeros(2), "Left", lm) == 0 and _hand_side(np.zeros(2), "Right", lm) == 1


def test_hand_side_uses_the_configured_min_confidence():
    """Guards that the body-wrist threshold is the config's min_confidence, not a hard-coded 0.3."""
    from rain.conditioning.detect_mediapipe import _hand_side
    from rain.conditioning.neutral import neutral_landmarks

    lm = neutral_landmarks()
    lm.body_conf[:] = 0.4  # wrists seen at 0.4: trusted at min_confidence 0.3, not at 0.5
    near_right = lm.body[4] + 0.01
    assert _hand_side(near_right, "Right", lm, min_conf=0.3) == 0  # the wrist decides
    assert _hand_side(near_right, "Right", lm, min_conf=0.5) == 1  # the (swapped) label decides


class _Stub:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def test_detector_maps_hands_with_its_min_confidence(monkeypatch):
    """Guards the plumbing from ConditionConfig.min_confidence through make_detector and
    MediaPipeDetector to the hand-side decision, and the mapping of MediaPipe's hand output."""
    from rain.conditioning import detect
    from rain.conditioning.detect_mediapipe import MediaPipeDetector
    from rain.conditioning.neutral import neutral_landmarks

    made = {}
    monkeypatch.setattr(detect, "MediaPipeDetector", lambda **kw: made.update(kw) or "det")
    detect.make_detector(ConditionConfig(mode="body", backend="mediapipe", min_confidence=0.6))
    assert made["min_confidence"] == 0.6

    lm = neutral_landmarks()
    lm.body_conf[:] = 0.4
    xy = np.tile(lm.body[4] + 0.01, (21, 1))  # a hand at the person's right wrist
    hand = _Stub(landmark=[_Stub(x=float(x), y=float(y)) for x, y in xy])
    handed = _Stub(classification=[_Stub(label="Right", score=0.9)])  # selfie label: person's left
    result = _Stub(multi_hand_landmarks=[hand], multi_handedness=[handed])
    for min_conf, side in ((0.3, 0), (0.5, 1)):
        det = MediaPipeDetector(body=False, face=False, hands=False, min_confidence=min_conf)
        det._hands = _Stub(process=lambda image: result, close=lambda: None)
        out = lm.copy()
        assert det._detect_hands(np.zeros((8, 8, 3), np.uint8), out)
        assert out.hands.shape == (2, 21, 2) and out.hands_conf[side].min() == pytest.approx(0.9)
        assert out.hands_conf[1 - side].max() == 0.0
        np.testing.assert_allclose(out.hands[side], xy, atol=1e-6)
        det.close()


def test_hands_option_plumbing_on_a_real_photo():
    """Plumbing only: the hand graph runs next to the pose graph on a real photo, and whatever it
    returns has the right shape. It does not test that hands are found: no photo shipped with
    scikit-image or matplotlib shows hands MediaPipe detects (astronaut and camera tried at crops
    0.9 / 1.0 and 384 / 512 pixels: no hands), so hand detection quality is untested here; the
    mapping of MediaPipe's hand output is tested with a stub below."""
    from rain.conditioning.detect_mediapipe import MediaPipeDetector

    det = MediaPipeDetector(body=True, face=False, hands=True, static_images=True)
    try:
        lm = det.detect(_square(_photo("astronaut")))
        assert lm is not None and lm.has_body()
        assert lm.hands is None or (lm.hands.shape == (2, 21, 2) and np.all(np.isfinite(lm.hands)))
    finally:
        det.close()
