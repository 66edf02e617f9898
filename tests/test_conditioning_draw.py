"""Condition images (rain/conditioning/draw.py): the 26-dot face, OpenPose body, contours, style."""
import cv2
import numpy as np
import pytest

from rain.conditioning.draw import (
    FACE_DOT_GROUPS, LIMB_STRENGTH, OPENPOSE_COLORS, draw_body, draw_face_contours, draw_face_dots,
    draw_style, face_dot_positions,
)
from rain.conditioning.landmarks import BODY_LIMBS, Landmarks
from rain.conditioning.neutral import NEUTRAL_FACE, neutral_landmarks


def _components(img, color):
    mask = np.all(img == np.array(color, np.uint8), axis=-1).astype(np.uint8)
    n, _, _, centroids = cv2.connectedComponentsWithStats(mask)
    return n - 1, centroids[1:]


def test_face_condition_has_26_dots_in_their_group_colours():
    size = 1024
    face = NEUTRAL_FACE.copy()
    face[65:68, 1] += 0.02  # open the mouth (the neutral face's inner lips touch)
    img = draw_face_dots(face, size, radius=0.008)
    assert img.shape == (size, size, 3) and img.dtype == np.uint8
    expected = face_dot_positions(face) * size
    total, k = 0, 0
    for _, color, subsets in FACE_DOT_GROUPS:
        n, centroids = _components(img, color)
        assert n == len(subsets), (color, n)
        for sub in subsets:  # each dot sits on the centroid of its subset
            d = np.linalg.norm(centroids - (expected[k] - 0.5), axis=1).min()
            assert d < 1.5
            k += 1
        total += n
    assert total == 26
    assert len({c for _, c, _ in FACE_DOT_GROUPS}) == len(FACE_DOT_GROUPS)  # one colour per group


def test_face_dot_radius_is_proportional_to_face_size():
    conf = np.zeros(68, np.float32)
    conf[[30, 33]] = 1.0  # only the nose dot, so dots cannot overlap

    def area(face):
        return np.count_nonzero(draw_face_dots(face, 512, radius=0.05, face_conf=conf).max(-1) > 127)

    small, big = NEUTRAL_FACE, 0.5 + (NEUTRAL_FACE - 0.5) * 2.0
    r_px = 0.05 * np.linalg.norm(small[16] - small[0]) * 512
    assert area(small) == pytest.approx(np.pi * r_px**2, rel=0.15)
    assert area(big) / area(small) == pytest.approx(4.0, rel=0.1)


def test_face_dots_skip_unseen_points_and_background_is_black():
    conf = np.ones(68, np.float32)
    conf[36:48] = 0.0  # eyes not seen
    img = draw_face_dots(NEUTRAL_FACE, 512, face_conf=conf)
    for name, color, _ in FACE_DOT_GROUPS:
        n, _ = _components(img, color)
        assert (n == 0) == (name in ("right_eye", "left_eye"))
    assert img[0, 0].tolist() == [0, 0, 0] and img[-1, -1].tolist() == [0, 0, 0]


def test_drawing_is_deterministic():
    lm = neutral_landmarks()
    a = (draw_body(lm, 256), draw_face_dots(lm.face, 256), draw_face_contours(lm.face, 256))
    b = (draw_body(lm.copy(), 256), draw_face_dots(lm.face.copy(), 256), draw_face_contours(lm.face, 256))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
        assert x.any()


def test_body_joints_and_limbs_use_the_openpose_colours():
    size = 512
    lm = neutral_landmarks()
    img = draw_body(lm, size)
    for j in range(18):
        x, y = np.round(lm.body[j] * size).astype(int)
        assert img[y, x].tolist() == list(OPENPOSE_COLORS[j]), j
    # a long limb's middle has the limb colour at 60 % (limb 2: right shoulder -> elbow)
    a, b = BODY_LIMBS[2]
    x, y = np.round((lm.body[a] + lm.body[b]) / 2 * size).astype(int)
    assert img[y, x].tolist() == [round(c * LIMB_STRENGTH) for c in OPENPOSE_COLORS[2]]


def test_unseen_body_joint_and_its_limbs_are_not_drawn():
    size = 512
    lm = neutral_landmarks()
    lm.body_conf[4] = 0.0  # right wrist
    img = draw_body(lm, size)
    x, y = np.round(lm.body[4] * size).astype(int)
    assert img[y - 2:y + 3, x - 2:x + 3].max() == 0
    xe, ye = np.round((lm.body[3] * 0.3 + lm.body[4] * 0.7) * size).astype(int)
    assert img[ye, xe].max() == 0  # elbow -> wrist limb gone
    assert draw_body(Landmarks(), size).max() == 0  # nothing seen: black


def test_hands_drawn_only_when_present_and_enabled():
    lm = neutral_landmarks()
    hand = lm.body[4] + np.stack([np.zeros(21), np.linspace(0, 0.1, 21)], 1)
    lm.hands = np.stack([hand, hand + [0.3, 0]]).astype(np.float32)
    lm.hands_conf = np.ones((2, 21), np.float32)
    with_hands, without = draw_body(lm, 256), draw_body(lm, 256, draw_hands=False)
    assert np.count_nonzero(with_hands != without) > 50
    lm.hands = lm.hands_conf = None
    np.testing.assert_array_equal(draw_body(lm, 256), without)


def test_face_contours_are_drawn_in_several_colours():
    img = draw_face_contours(NEUTRAL_FACE, 256)
    colours = {tuple(c) for c in img.reshape(-1, 3)[img.reshape(-1, 3).max(1) == 255]}
    assert len(colours) >= 5


def test_style_condition_is_the_frame_with_optional_edges():
    rng = np.random.default_rng(0)
    frame = np.zeros((128, 128, 3), np.uint8)
    frame[32:96, 32:96] = rng.integers(60, 200, 3, dtype=np.uint8)
    plain = draw_style(frame, 64)
    np.testing.assert_array_equal(plain, cv2.resize(frame, (64, 64), interpolation=cv2.INTER_AREA))
    only = draw_style(frame, 64, "only")
    assert set(np.unique(only)) == {0, 255} and only[0, 0].max() == 0
    over = draw_style(frame, 64, "overlay")
    changed = np.any(over != plain, -1)
    assert changed.any() and np.all(over[changed] == 255)
    with pytest.raises(ValueError):
        draw_style(frame, 64, "sobel")
