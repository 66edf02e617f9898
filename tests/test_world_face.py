"""The procedural face world: determinism, shapes, landmark sanity, conditions, blinks, files."""
import json

import imageio.v2 as imageio
import numpy as np
import pytest

from rain.conditioning.conditioner import render_condition
from rain.conditioning.config import ConditionConfig
from rain.conditioning.landmarks import LEFT_EYE, MOUTH, RIGHT_EYE, face_axes
from rain.worlds.body import Clip
from rain.worlds.cli import main as synth_main
from rain.worlds.config import FaceWorldConfig
from rain.worlds.face import FaceWorld, make_clip, make_sequence

SIZE = 64


def _local(face: np.ndarray) -> np.ndarray:
    return (face - face.mean(0)) @ face_axes(face).T  # x along the eye line, y to the chin


def _eye_height(face: np.ndarray) -> float:
    """Mean eye height over the two eyes / jaw width, in the face's own axes."""
    loc = _local(face)
    h = loc[[40, 41, 46, 47], 1].mean() - loc[[37, 38, 43, 44], 1].mean()
    return float(h / np.linalg.norm(face[16] - face[0]))


def test_deterministic_for_a_seed_and_seeds_differ():
    a, b, c = make_sequence(3, 6, SIZE), make_sequence(3, 6, SIZE), make_sequence(4, 6, SIZE)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.conditions, b.conditions)
    assert np.array_equal(a.reference, b.reference)
    assert all(np.array_equal(x.face, y.face) for x, y in zip(a.landmarks, b.landmarks))
    assert not np.array_equal(a.frames, c.frames)


def test_clip_shapes_and_dtypes():
    clip = make_clip(np.random.default_rng(0), 5, SIZE)
    assert isinstance(clip, Clip)
    assert clip.frames.shape == clip.conditions.shape == (5, SIZE, SIZE, 3)
    assert clip.reference.shape == (SIZE, SIZE, 3)
    assert clip.frames.dtype == clip.conditions.dtype == clip.reference.dtype == np.uint8
    assert len(clip.landmarks) == 5
    for lm in clip.landmarks + [clip.reference_landmarks]:
        assert lm.face.shape == (68, 2) and lm.has_face()


def test_conditions_are_render_condition_of_the_landmarks():
    clip = make_clip(np.random.default_rng(1), 4, SIZE)
    cfg = ConditionConfig(mode="face", resolution=SIZE)
    for lm, cond in zip(clip.landmarks, clip.conditions):
        assert np.array_equal(cond, render_condition(cfg, lm))
    assert clip.conditions.max() > 0


def test_landmarks_are_sane():
    for seed in range(6):
        world = FaceWorld.from_seed(seed, 100, SIZE)
        for t in range(0, 100, 7):
            face = world.landmarks(t).face
            loc = _local(face)
            eyes_y = loc[list(RIGHT_EYE + LEFT_EYE), 1].mean()
            assert loc[list(MOUTH), 1].mean() > eyes_y  # mouth below the eyes
            assert loc[8, 1] > loc[list(MOUTH), 1].max()  # chin below the mouth
            assert loc[list(RIGHT_EYE), 0].mean() < loc[list(LEFT_EYE), 0].mean()  # right eye on image left
            assert loc[0, 0] < loc[16, 0] and loc[17, 0] < loc[26, 0]
            assert np.all((face > -0.1) & (face < 1.1))


def test_blinks_close_the_eyes():
    world = FaceWorld.from_seed(0, 250, SIZE)  # 10 s: at least two blinks
    h = np.array([_eye_height(world.landmarks(t).face) for t in range(250)])
    closed = world.expression.eye_open < 0.05
    assert closed.sum() >= 2
    assert h[closed].max() < 0.02 and np.median(h) > 0.08
    frames = {t: world.frame(t) for t in (int(np.argmax(closed)), int(np.argmax(~closed)))}
    assert not np.array_equal(*frames.values())


def test_cli_writes_face_files(tmp_path):
    out = tmp_path / "face"
    assert synth_main(["--world", "face", "--seed", "2", "--frames", "6", "--size", str(SIZE),
                       "--out", str(out)]) == 0
    for name in ("reference.png", "reference_condition.png", "landmarks.npz", "meta.json"):
        assert (out / name).is_file()
    for name in ("conditions.mp4", "frames.mp4", "driving.mp4"):
        assert imageio.mimread(out / name, memtest=False).__len__() == 6
    data = np.load(out / "landmarks.npz")
    assert data["face"].shape == (6, 68, 2) and data["human_face"].shape == (6, 68, 2)
    assert json.loads((out / "meta.json").read_text())["world"] == "face"


def test_contour_conditions_on_request():
    from rain.worlds.config import FaceWorldConfig
    world = FaceWorld.from_seed(1, 2, SIZE, FaceWorldConfig(condition_style="contours"))
    lm, cond, _ = next(world.frames())
    assert np.array_equal(cond, render_condition(ConditionConfig(mode="face", resolution=SIZE,
                                                                 face_style="contours"), lm))


def test_synth_writes_contour_conditions_on_request(tmp_path):
    args = ["--world", "face", "--seed", "2", "--frames", "1", "--size", str(SIZE)]
    for style in ("dots", "contours"):
        assert synth_main([*args, "--out", str(tmp_path / style), "--face-condition", style]) == 0
    world = FaceWorld.from_seed(2, 1, SIZE, FaceWorldConfig(condition_style="contours"))
    written = imageio.imread(tmp_path / "contours" / "reference_condition.png")
    assert np.array_equal(written, world.condition(world.reference_landmarks))
    assert not np.array_equal(written, imageio.imread(tmp_path / "dots" / "reference_condition.png"))
    for bad, match in ((["--face-condition", "mesh"], "face condition must be one of"),
                       (["--world", "body", "--face-condition", "dots"], "face world only")):
        with pytest.raises(SystemExit, match=match):
            synth_main([*args, "--out", str(tmp_path / "bad"), *bad])


def test_mediapipe_reads_the_driving_frames():
    pytest.importorskip("mediapipe")
    from rain.conditioning.crop import prepare_frame
    from rain.conditioning.detect_mediapipe import MediaPipeDetector
    det = MediaPipeDetector(body=False, face=True, static_images=True)
    try:
        for seed in (0, 1):
            world = FaceWorld.from_seed(seed, 1, 256)
            lm = det.detect(prepare_frame(world.driving_frame(0), world.config.driving_crop, 384))
            assert lm is not None and lm.has_face()
            gt = world.human_landmarks(0).face
            err = np.linalg.norm(lm.face - gt, axis=1).mean() / np.linalg.norm(gt[16] - gt[0])
            assert err < 0.08
    finally:
        det.close()


def test_a_real_face_after_the_world_sliders_lies_inside_the_world():
    """NEUTRAL_FACE was measured with MediaPipe on a real photo (grace_hopper): retargeted with the
    sliders the world is centred on, every normalised feature falls inside the world's 1-99 %."""
    from rain.conditioning.neutral import NEUTRAL_FACE
    from rain.conditioning.retarget import retarget_face
    from rain.worlds.config import FaceWorldConfig
    from rain.worlds.face.geometry import world_sliders
    from rain.worlds.face.measure import features, world_features
    world = world_features(num_worlds=30, frames=10)
    real = features(retarget_face(NEUTRAL_FACE, world_sliders(FaceWorldConfig())))
    for name, value in real.items():
        lo, hi = np.percentile(world[name], [1, 99])
        assert lo < value < hi, (name, value, lo, hi)
