"""The reference warped onto each frame by all its face points (rain/conditioning/warp.py, `RefinerConfig.reference =
"warped"`): the spline, its map kind through the pipeline, the conditioner, the live session and the refiner stage."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import RecordingSteps, random_images
from rain.checkpoint import load_models, save_models
from rain.conditioning import ConditionConfig
from rain.conditioning.align import face_similarity
from rain.conditioning.landmarks import Landmarks
from rain.conditioning.warp import WARP_NODES, face_map, face_warp, similarity_warp
from rain.config import RefinerConfig, tiny
from rain.eval.evaluate import stream_sequence
from rain.eval.metrics import psnr
from rain.images import to_tensor, to_uint8
from rain.live import LiveSession
from rain.models import build_models
from rain.models.refiner import aligned
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START, TrainConfig
from rain.train.maps import frame_warps
from rain.train.refine import stream_pairs, train_refiner
from rain.worlds.face.world import FaceWorld


def warped_pipeline(width: int = 4) -> RainPipeline:
    config = dataclasses.replace(tiny(), refiner=RefinerConfig(width=width, reference="warped"))
    models = build_models(config, seed=0)
    torch.nn.init.normal_(models.refiner.out.weight, std=0.1)  # a refiner that draws something
    return RainPipeline(models, config, precision="fp32")


def at(warp: np.ndarray, points: np.ndarray, size: int) -> np.ndarray:
    """The warp (G, G, 2) read at frame pixels (n, 2), bilinearly: where in the reference each takes its colour."""
    grid = torch.from_numpy(warp).permute(2, 0, 1)[None]  # (1, 2, G, G)
    where = torch.from_numpy(points / (size - 1) * 2 - 1).float()[None, None]  # (1, 1, n, 2)
    return torch.nn.functional.grid_sample(grid, where, align_corners=True)[0, :, 0].T.numpy()


def test_a_similaritys_warp_moves_the_reference_as_the_similarity_does():
    image = FaceWorld.from_seed(5, 1, 64).reference
    similarity = np.array([[1.1, -0.2, 3.0], [0.2, 1.1, -4.0]], np.float32)
    by_matrix = aligned(to_tensor(image)[None], torch.from_numpy(similarity[None]))
    by_warp = aligned(to_tensor(image)[None], torch.from_numpy(similarity_warp(similarity, 64)[None]))
    assert by_warp.shape == by_matrix.shape and (by_warp - by_matrix).abs().max() < 1e-3
    with pytest.raises(ValueError, match="similarities .* or warps"):
        aligned(to_tensor(image)[None], torch.zeros(1, 3, 3))


def test_the_warp_takes_each_frame_point_from_its_reference_point_and_beyond_the_face_follows_the_similarity():
    world = FaceWorld.from_seed(HELD_OUT_SEED_START + 2, 40, 256)
    reference, errors, moved = world.reference_landmarks, [], []
    for t in (5, 15, 25, 35):  # px between each frame point's source and its reference point: warp, similarity
        frame = world.landmarks(t)
        warp, similar = face_warp(reference, frame, 256), face_similarity(reference, frame, 256)
        errors.append(np.linalg.norm(at(warp, frame.face * 256, 256) - reference.face * 256, axis=1).mean())
        moved.append(np.linalg.norm(at(similarity_warp(similar, 256), frame.face * 256, 256) - reference.face * 256,
                                    axis=1).mean())
    assert warp.shape == (WARP_NODES, WARP_NODES, 2) and warp.dtype == np.float32
    assert np.mean(errors) < 1.2 and np.mean(errors) < 0.6 * np.mean(moved)  # the spline follows the points
    corners = warp[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert np.abs(corners - similarity_warp(similar, 256)[[0, 0, -1, -1], [0, -1, 0, -1]]).max() < 0.5
    unseen = Landmarks(face=frame.face, face_conf=np.zeros(68, np.float32))
    assert np.array_equal(face_warp(reference, unseen, 256), similarity_warp(np.eye(2, 3, dtype=np.float32), 256))
    assert np.array_equal(face_map("similarity", reference, frame, 256), similar)
    with pytest.raises(ValueError, match="a face map is one of"):
        face_map("affine", reference, frame, 256)


def test_the_warped_reference_is_closer_to_held_out_frames_than_the_similaritys_within_the_face():
    """The point of the warp, measured: on held-out cartoons the reference warped by the 68 points matches the true
    frame better than the one moved by the similarity, within the face's box (docs/warp/warp_probe.py: +2 dB)."""
    gains = []
    for i in range(3):
        world = FaceWorld.from_seed(HELD_OUT_SEED_START + i, 48, 256)
        reference = to_tensor(world.reference)[None]
        for t in (12, 30, 47):
            frame, truth = world.landmarks(t), world.frame(t)
            (x0, y0), (x1, y1) = (frame.face.min(0) * 256).astype(int), (frame.face.max(0) * 256).astype(int)
            box = (slice(max(y0, 0), y1), slice(max(x0, 0), x1))
            maps = [face_similarity(world.reference_landmarks, frame, 256), face_warp(world.reference_landmarks, frame, 256)]
            similar, warped = (to_uint8(aligned(reference, torch.from_numpy(m[None])))[0] for m in maps)
            gains.append(psnr(warped[box], truth[box]) - psnr(similar[box], truth[box]))
    assert np.mean(gains) > 0.5


def test_a_warped_refiner_takes_warps_through_the_pipeline_and_refuses_similarities(rng):
    pipeline = warped_pipeline()
    assert pipeline.aligns_reference and pipeline.face_map == "warp"
    seen = []
    pipeline.models.refiner.register_forward_hook(lambda module, inputs, output: seen.append(inputs[2]))
    f, size = pipeline.frames_per_group, pipeline.config.resolution
    reference, conditions = random_images(rng, 1, size)[0], random_images(rng, f, size)
    shifts = [np.array([[1, 0, i], [0, 1, -i]], np.float32) for i in range(f)]
    maps = np.stack([similarity_warp(m, size) for m in shifts])
    stream = pipeline.new_stream(pipeline.encode_reference(reference))
    frames = [pipeline.step(stream, conditions, maps)] + list(pipeline.drain(stream))
    assert sum(len(x) for x in frames) == f
    assert torch.allclose(seen[0], aligned(stream.reference.image, torch.from_numpy(np.stack(shifts))), atol=1e-3)
    with pytest.raises(ValueError, match="this model takes warps"):
        pipeline.step(stream, conditions, np.stack(shifts))
    with pytest.raises(ValueError, match="must be finite"):
        pipeline.step(stream, conditions, np.full_like(maps, np.nan))
    list(pipeline.render(reference, list(conditions)))  # no maps: the identity, the reference where it is
    assert torch.allclose(seen[-1], stream.reference.image.expand(f, -1, -1, -1), atol=1e-3)


def test_a_live_face_session_hands_a_warped_refiner_a_warp_per_frame_on_a_real_photo():
    """Real MediaPipe on scikit-image's astronaut, as the reference and as the camera: the session's conditioner makes
    the kind of map the model takes."""
    from skimage import data

    pipeline = warped_pipeline()
    calls = []

    photo = data.astronaut()
    session = LiveSession(pipeline, ConditionConfig(mode="face", resolution=pipeline.config.resolution), overlap=False)
    session.pipeline = RecordingSteps(pipeline, calls)
    session.set_reference(photo)
    assert session.conditioner.face_reference is not None and session.conditioner.face_map_kind == "warp"
    for i in range(8):
        session.push(photo, now=i * 0.1)
    assert calls and all(c is not None and c.shape == (pipeline.frames_per_group, WARP_NODES, WARP_NODES, 2)
                         for c in calls)
    session.close()


def test_the_refiner_stage_trains_on_warped_references_and_the_eval_streams_with_them(tmp_path):
    config = tiny()
    save_models(build_models(config, seed=0), config, tmp_path / "init")
    cfg = TrainConfig(stage="refiner", world="face", steps=2, batch_size=2, crop=32, lr=1e-2, save_every=2,
                      mixed_precision="no", refiner=4, refiner_reference="warped", refiner_map_jitter=1.5,
                      refiner_clips=2, refiner_frames=4)
    models, trained = load_models(train_refiner(cfg, tmp_path / "init", tmp_path / "run"))
    assert trained.refiner.reference == "warped"
    pairs = stream_pairs(RainPipeline(dataclasses.replace(models, refiner=None), trained, precision="fp32"), cfg,
                         "warped")
    assert len(pairs["references"]) == len(pairs["frames"]) == 8 and np.array_equal(pairs["index"], np.arange(8))
    world = FaceWorld.from_seed(HELD_OUT_SEED_START, 5, trained.resolution)
    assert len([o for o, _ in stream_sequence(RainPipeline(models, trained, precision="fp32"), world, seed=0)]) == 5


def test_warp_jitter_moves_the_reference_points_once_per_clip_by_seed():
    clip = FaceWorld.from_seed(4, 3, 64).to_clip()
    plain = frame_warps(clip, 64)
    jittered = [frame_warps(clip, 64, 1.5, np.random.default_rng(s)) for s in (1, 1, 2)]
    assert np.array_equal(jittered[0], jittered[1]) and not np.array_equal(jittered[0], jittered[2])
    assert 0 < np.abs(jittered[0] - plain).mean() < 4  # a few pixels, not another map
