"""The procedural body world: determinism, shapes, skeleton sanity, conditions, files."""
import json

import imageio.v2 as imageio
import numpy as np
import pytest

from rain.conditioning.draw import draw_body
from rain.conditioning.landmarks import BODY_LIMBS
from rain.worlds import BodyWorld, Clip, WorldConfig, iter_sequence, make_clip, make_sequence
from rain.worlds.cli import main as synth_main
from rain.worlds.geometry import PART_NAMES, project
from rain.worlds.motions import neutral_pose
from rain.worlds.skeleton import P, Build, skeleton_3d

SIZE = 64
# Bones between OpenPose joints whose 3-D length is fixed by the build (head points excluded).
BONES = ((2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (11, 12), (12, 13))


def _world(seed: int, frames: int = 60, **cfg) -> BodyWorld:
    return BodyWorld.from_seed(seed, frames, SIZE, WorldConfig(**cfg) if cfg else None)


def test_deterministic_for_a_seed_and_seeds_differ():
    a, b, c = make_sequence(3, 8, SIZE), make_sequence(3, 8, SIZE), make_sequence(4, 8, SIZE)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.conditions, b.conditions)
    assert np.array_equal(a.reference, b.reference)
    assert all(np.array_equal(x.body, y.body) for x, y in zip(a.landmarks, b.landmarks))
    assert not np.array_equal(a.frames, c.frames)
    assert not np.array_equal(a.reference, c.reference)


def test_streaming_matches_in_memory_sequence():
    clip = make_sequence(5, 6, SIZE)
    for t, (lm, cond, frame) in enumerate(iter_sequence(5, 6, SIZE)):
        assert np.array_equal(lm.body, clip.landmarks[t].body)
        assert np.array_equal(cond, clip.conditions[t]) and np.array_equal(frame, clip.frames[t])
    assert t == 5
    assert np.array_equal(BodyWorld.from_seed(5, 6, SIZE).reference, clip.reference)


def test_clip_shapes_and_dtypes():
    clip = make_clip(np.random.default_rng(0), 5, SIZE)
    assert isinstance(clip, Clip)
    assert clip.frames.shape == clip.conditions.shape == (5, SIZE, SIZE, 3)
    assert clip.reference.shape == (SIZE, SIZE, 3)
    assert clip.frames.dtype == clip.conditions.dtype == clip.reference.dtype == np.uint8
    assert len(clip.landmarks) == 5
    for lm in clip.landmarks + [clip.reference_landmarks]:
        assert lm.body.shape == (18, 2) and lm.body_conf.shape == (18,)
        assert set(np.unique(lm.body_conf)) <= {0.0, 1.0}


def test_conditions_are_draw_body_of_the_landmarks():
    clip = make_clip(np.random.default_rng(1), 4, SIZE)
    for lm, cond in zip(clip.landmarks, clip.conditions):
        assert np.array_equal(cond, draw_body(lm, SIZE))
    assert clip.conditions.max() > 0  # something was drawn


@pytest.mark.parametrize("kind", WorldConfig().motion_kinds)
def test_every_motion_keeps_bones_and_is_smooth(kind):
    for seed in range(3):
        w = _world(seed, 150, motion_kinds=(kind,), motion_weights=(1.0,))
        joints = w.skeleton.joints  # (T, 18, 3)
        for a, b in BONES:
            length = np.linalg.norm(joints[:, a] - joints[:, b], axis=-1)  # (T,)
            assert np.ptp(length) < 1e-6, (kind, a, b)
            proj = np.linalg.norm(w.geometry.points[:, a] - w.geometry.points[:, b], axis=-1)
            assert np.all(proj <= w.geometry.scale * length + 1e-4)
        # smooth: no joint moves more than 0.09 figure heights between frames at 25 fps
        step = np.linalg.norm(np.diff(joints[..., :2], axis=0), axis=-1).max()
        assert step < 0.09, (kind, seed, step)
        # feet never below the floor
        floor = w.character.build.thigh + w.character.build.shin
        assert joints[:, [10, 13], 1].max() <= floor + 1e-6


def test_neck_between_shoulders_and_head_above_neck():
    w = _world(11, 200)
    pts = w.geometry.points  # (T, 23, 2)
    mid = pts[:, [2, 5]].mean(1)
    assert np.all(np.linalg.norm(pts[:, 1] - mid, axis=-1) < 0.05 * w.geometry.scale)
    assert np.all(w.skeleton.joints[:, 0, 1] < w.skeleton.joints[:, 1, 1])  # nose above neck
    assert np.all(w.skeleton.joints[:, 1, 1] < w.skeleton.joints[:, [8, 11], 1].mean(1))


def test_long_chained_sequence_is_continuous_across_segments():
    w = _world(2, 1500, segment_seconds=(2.0, 3.0))
    assert len(w.segments) >= 10
    step = np.linalg.norm(np.diff(w.skeleton.joints[..., :2], axis=0), axis=-1).max()
    assert step < 0.1
    assert np.abs(np.diff(w.params, axis=0)).max() < 0.5  # no angle jumps at segment borders


def test_out_of_frame_points_have_confidence_zero():
    w = _world(0, 30, closeup_prob=1.0)
    pts, conf = w.geometry.points[:, :18], w.geometry.conf
    outside = np.any((pts < 0) | (pts > 1), axis=-1)
    assert outside.any(), "a close-up should cut the legs"
    assert np.all(conf[outside] == 0)
    assert np.all(conf[:, 1] == 1)  # the neck is in view
    lm = w.landmarks(0)
    lm_cut = lm.copy()
    lm_cut.body_conf[:] = np.where(outside[0], 0.0, lm.body_conf)
    assert np.array_equal(w.condition(lm), draw_body(lm_cut, SIZE))


def test_full_body_framing_keeps_the_figure_in_frame():
    w = _world(1, 20, closeup_prob=0.0, drift_prob=0.0)
    assert np.all(w.geometry.conf[:, [1, 2, 5, 8, 11]] == 1)


def test_turn_puts_the_far_arm_behind_the_torso_and_hides_the_far_ear():
    b = Build()
    q = np.repeat(neutral_pose(1), 2, 0)
    q[1, P["yaw"]] = np.pi / 2  # person turns to their left: the right side faces the camera
    g = project(skeleton_3d(q, b), b, np.tile([0.5, 0.5, 0.5], (2, 1)))
    rank = {PART_NAMES[p]: i for i, p in enumerate(g.order[1])}
    assert rank["l_upper_arm"] < rank["torso"] < rank["r_upper_arm"]
    assert g.conf[1, 17] == 0 and g.conf[1, 16] == 1  # left ear hidden, right ear seen
    assert g.conf[0, 16] == g.conf[0, 17] == 1  # both ears seen when facing the camera
    width = lambda t: abs(g.points[t, 2, 0] - g.points[t, 5, 0])  # noqa: E731
    assert width(1) < 0.2 * width(0)  # shoulders narrow in profile


def test_reference_is_another_pose_of_the_same_character():
    for seed in range(4):
        w = BodyWorld.from_seed(seed, 40, 128, WorldConfig(drift_prob=0.0))
        clip = w.to_clip()
        diff = np.abs(clip.frames.astype(np.int16) - clip.reference.astype(np.int16)).mean(axis=(1, 2, 3))
        assert diff.min() > 0.05, seed
        ref_pose = clip.reference_landmarks.body
        assert all(np.abs(lm.body - ref_pose).max() > 1e-3 for lm in clip.landmarks)
        for color in (w.character.shirt, w.character.skin):  # flat colours: exact pixels exist
            in_ref = np.all(clip.reference == np.array(color, np.uint8), axis=-1).sum()
            in_frame = np.all(clip.frames[0] == np.array(color, np.uint8), axis=-1).sum()
            assert in_ref > 0 and in_frame > 0, (seed, color)


def test_cli_writes_a_decodable_sequence(tmp_path):
    out = tmp_path / "seq"
    assert synth_main(["--world", "body", "--seed", "7", "--frames", "6", "--size", "64", "--out", str(out)]) == 0
    for name in ("reference.png", "conditions.mp4", "frames.mp4", "driving.mp4", "landmarks.npz", "meta.json"):
        assert (out / name).is_file(), name
    assert imageio.imread(out / "reference.png").shape == (64, 64, 3)
    for name in ("conditions.mp4", "frames.mp4", "driving.mp4"):
        frames = [f for f in imageio.get_reader(out / name)]
        assert len(frames) == 6, name
    assert frames[0].shape == (WorldConfig().driving_size,) * 2 + (3,)
    lm = np.load(out / "landmarks.npz")
    assert lm["body"].shape == (6, 18, 2) and lm["body_conf"].shape == (6, 18)
    assert np.array_equal(lm["body"], np.stack([x.body for x in make_sequence(7, 6, 64).landmarks]))
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == 7 and meta["num_frames"] == 6 and meta["world"] == "body"


def test_limbs_constant_matches_openpose_layout():
    assert len(BODY_LIMBS) == 17  # the world relies on the 18-point OpenPose layout
