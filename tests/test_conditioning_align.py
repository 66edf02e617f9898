"""Bone-length retargeting (rain/conditioning/align.py)."""
import numpy as np
import pytest

from rain.conditioning.align import BODY_TREE, NECK, align_body, bone_lengths
from rain.conditioning.landmarks import BODY_LIMBS, Landmarks
from rain.conditioning.neutral import neutral_landmarks


def _angles(body, seen):
    return {(a, b): np.arctan2(*(body[b] - body[a])[::-1]) for a, b in BODY_TREE if seen[a] and seen[b]}


def _user(rng):
    """A user with long arms and short legs in a random pose."""
    lm = neutral_landmarks()
    lm.body = (lm.body + rng.normal(0, 0.04, lm.body.shape)).astype(np.float32)
    for a, b in ((2, 3), (3, 4), (5, 6), (6, 7)):  # stretch the arms
        lm.body[b:b + 1] += (lm.body[b] - lm.body[a]) * 0.6
    return lm


def test_tree_covers_every_openpose_limb():
    assert sorted(BODY_TREE) == sorted(BODY_LIMBS)


def test_alignment_keeps_user_angles_and_takes_reference_lengths(rng):
    user, ref = _user(rng), neutral_landmarks()
    ref.body = (ref.body * 0.8 + 0.1).astype(np.float32)  # a smaller character
    out = align_body(user, ref)
    seen = user.body_conf > 0.3
    ua, oa = _angles(user.body, seen), _angles(out.body, seen)
    for bone in ua:
        assert np.cos(ua[bone] - oa[bone]) == pytest.approx(1.0, abs=1e-6), bone
    np.testing.assert_allclose(bone_lengths(out.body, seen), bone_lengths(ref.body, seen), atol=1e-5)
    np.testing.assert_allclose(out.body[NECK], ref.body[NECK], atol=1e-6)  # centred on the character
    assert not np.allclose(bone_lengths(user.body, seen), bone_lengths(ref.body, seen), atol=1e-3)


def test_anchor_adds_scaled_user_movement(rng):
    user, ref = _user(rng), neutral_landmarks()
    anchor = user.body[NECK] - np.array([0.05, 0.0])  # the user moved 0.05 right since calibration
    out = align_body(user, ref, user_anchor=anchor)
    lengths_u = bone_lengths(user.body, user.body_conf > 0.3)
    scale = np.median(bone_lengths(ref.body, ref.body_conf > 0.3) / lengths_u)
    np.testing.assert_allclose(out.body[NECK], ref.body[NECK] + [0.05 * scale, 0.0], atol=1e-6)


def test_missing_joints_stay_missing_and_finite(rng):
    user, ref = _user(rng), neutral_landmarks()
    user.body_conf[[9, 10]] = 0.0  # right knee and ankle not seen
    ref.body_conf[[6, 7]] = 0.0  # the character's left forearm is not known
    out = align_body(user, ref)
    np.testing.assert_array_equal(out.body_conf, user.body_conf)
    assert np.all(np.isfinite(out.body))
    seen_u = user.body_conf > 0.3
    # a bone the reference lacks keeps the user's length times the overall body scale
    lengths_u, lengths_o = bone_lengths(user.body, seen_u), bone_lengths(out.body, seen_u)
    k = BODY_TREE.index((6, 7))
    both = np.isfinite(bone_lengths(ref.body, ref.body_conf > 0.3)) & np.isfinite(lengths_u)
    scale = np.median(bone_lengths(ref.body, ref.body_conf > 0.3)[both] / lengths_u[both])
    assert lengths_o[k] == pytest.approx(lengths_u[k] * scale, rel=1e-5)


def test_face_and_hands_ride_along():
    user, ref = neutral_landmarks(), neutral_landmarks()
    ref.body = (ref.body + [0.1, 0.05]).astype(np.float32)
    user.hands = np.stack([np.tile(user.body[4], (21, 1)), np.tile(user.body[7], (21, 1))])
    user.hands_conf = np.ones((2, 21), np.float32)
    out = align_body(user, ref)
    np.testing.assert_allclose(out.face, user.face + [0.1, 0.05], atol=1e-5)
    np.testing.assert_allclose(out.hands[0], np.tile(out.body[4], (21, 1)), atol=1e-5)


def test_no_neck_returns_the_user_unchanged():
    user = neutral_landmarks()
    user.body_conf[NECK] = 0.0
    out = align_body(user, neutral_landmarks())
    np.testing.assert_array_equal(out.body, user.body)
    assert isinstance(out, Landmarks)
