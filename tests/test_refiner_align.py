"""A refiner that reads the reference aligned to each frame (`RefinerConfig.reference = "aligned"`): the similarity
of the face landmarks (rain/conditioning/align.py), the warp (rain/models/refiner.py `aligned`), the pipeline, the
refiner stage, the eval and the live paths that hand the similarities on."""

import dataclasses

import cv2
import numpy as np
import pytest
import torch

from conftest import RecordingSteps, random_images
from rain.checkpoint import load_models, save_models
from rain.conditioning import ConditionConfig, Conditioner
from rain.conditioning.align import face_similarity, uncropped
from rain.conditioning.landmarks import Landmarks
from rain.config import RefinerConfig, tiny
from rain.eval.evaluate import stream_sequence
from rain.images import to_tensor, to_uint8
from rain.live import LiveSession
from rain.models import build_models
from rain.models.refiner import aligned
from rain.pipeline import RainPipeline
from rain.train.config import TrainConfig
from rain.train.maps import _then, frame_references
from rain.train.refine import stream_pairs, train_refiner
from rain.worlds.face.world import FaceWorld


def similarity(scale: float, angle: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, shift[0]], [s, c, shift[1]]], np.float32)


def aligned_pipeline(width: int = 4) -> RainPipeline:
    config = dataclasses.replace(tiny(), refiner=RefinerConfig(width=width, reference="aligned"))
    models = build_models(config, seed=0)
    torch.nn.init.normal_(models.refiner.out.weight, std=0.1)  # a refiner that draws something
    return RainPipeline(models, config, precision="fp32")


def test_the_similarity_of_moved_landmarks_is_recovered_and_falls_back_to_the_identity():
    world = FaceWorld.from_seed(3, 1, 128)
    reference = world.reference_landmarks
    true = similarity(1.2, 0.3, (-10.0, 7.5))
    moved = reference.copy()
    moved.face = ((reference.face * 128) @ true[:, :2].T + true[:, 2]) / 128  # every point moved by `true`
    assert np.allclose(face_similarity(reference, moved, 128), true, atol=1e-3)
    assert np.allclose(face_similarity(reference, reference, 128), np.eye(2, 3), atol=1e-5)
    unseen = moved.copy()
    unseen.face_conf = np.zeros_like(unseen.face_conf)
    assert np.array_equal(face_similarity(reference, unseen, 128), np.eye(2, 3))  # no face: left where it is
    assert np.array_equal(face_similarity(Landmarks(), moved, 128), np.eye(2, 3))


def test_landmarks_of_a_centre_crop_map_back_to_the_whole_square():
    marks = Landmarks(face=np.full((68, 2), 0.5, np.float32), face_conf=np.ones(68, np.float32))
    marks.face[0] = (0.0, 1.0)  # the crop's corner
    whole = uncropped(marks, 0.8)
    assert np.allclose(whole.face[0], (0.1, 0.9)) and np.allclose(whole.face[1], (0.5, 0.5))


def test_the_warp_matches_opencv_and_the_identity_keeps_the_image():
    image = FaceWorld.from_seed(5, 1, 64).reference
    matrices = np.stack([similarity(1.1, -0.2, (3.0, -4.0)), np.eye(2, 3, dtype=np.float32)])
    warped = to_uint8(aligned(to_tensor(image)[None], torch.from_numpy(matrices)))  # (2, H, W, 3)
    opencv = cv2.warpAffine(image, matrices[0], (64, 64), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert np.abs(warped[0].astype(int) - opencv).max() <= 1
    assert np.array_equal(warped[1], image)


def test_the_pipeline_hands_the_refiner_the_reference_moved_onto_each_frame(rng):
    pipeline = aligned_pipeline()
    seen = []
    pipeline.models.refiner.register_forward_hook(lambda module, inputs, output: seen.append(inputs[2]))
    f, size = pipeline.frames_per_group, pipeline.config.resolution
    reference, conditions = random_images(rng, 1, size)[0], random_images(rng, f, size)
    maps = np.stack([similarity(1.0 + 0.1 * i, 0.05 * i, (i, -i)) for i in range(f)])
    stream = pipeline.new_stream(pipeline.encode_reference(reference))
    frames = [pipeline.step(stream, conditions, maps)] + list(pipeline.drain(stream))
    assert sum(len(x) for x in frames) == f
    state = stream.reference
    assert torch.allclose(seen[0], aligned(state.image, torch.from_numpy(maps)))
    list(pipeline.render(reference, list(conditions)))  # no maps: the identity, the reference where it is
    assert torch.allclose(seen[-1], state.image.expand(f, -1, -1, -1), atol=1e-5)


def test_the_pipeline_refuses_maps_it_cannot_use(rng):
    pipeline = aligned_pipeline()
    f, size = pipeline.frames_per_group, pipeline.config.resolution
    conditions = random_images(rng, f, size)
    stream = pipeline.new_stream(pipeline.encode_reference(conditions[0]))
    with pytest.raises(ValueError, match="one per condition image"):
        pipeline.step(stream, conditions, np.zeros((f + 1, 2, 3), np.float32))
    mirrored = np.repeat(np.array([[[-1, 0, 0], [0, 1, 0]]], np.float32), f, axis=0)
    with pytest.raises(ValueError, match="positive determinant"):
        pipeline.step(stream, conditions, mirrored)
    with pytest.raises(ValueError, match="every condition image a map of the reference onto it, or none"):
        pipeline.step_group(stream, [(conditions[0], np.eye(2, 3, dtype=np.float32))] + list(conditions[1:]))
    with pytest.raises(ValueError, match="RefinerConfig.reference must be one of"):
        dataclasses.replace(tiny(), refiner=RefinerConfig(width=4, reference="bent")).validate()
    plain = RainPipeline.from_config(tiny(), precision="fp32")
    with pytest.raises(ValueError, match="takes no maps"):
        plain.step(plain.new_stream(plain.encode_reference(conditions[0])), conditions,
                   np.repeat(np.eye(2, 3, dtype=np.float32)[None], f, axis=0))


def test_the_refiner_stage_trains_on_aligned_references_and_the_eval_streams_with_them(tmp_path):
    config = tiny()
    save_models(build_models(config, seed=0), config, tmp_path / "init")
    cfg = TrainConfig(stage="refiner", world="face", steps=2, batch_size=2, crop=32, lr=1e-2, save_every=2,
                      mixed_precision="no", refiner=4, refiner_reference="aligned", refiner_clips=2,
                      refiner_frames=4)
    model = train_refiner(cfg, tmp_path / "init", tmp_path / "run")
    models, trained = load_models(model)
    assert trained.refiner.reference == "aligned"
    pipeline = RainPipeline(dataclasses.replace(models, refiner=None), trained, precision="fp32")
    pairs = stream_pairs(pipeline, cfg, "aligned")
    assert len(pairs["references"]) == len(pairs["frames"]) == 8 and np.array_equal(pairs["index"], np.arange(8))
    assert not np.array_equal(pairs["references"][0], pairs["references"][1])  # each frame its own

    world = FaceWorld.from_seed(1_000_000, 5, trained.resolution)
    full = RainPipeline(models, trained, precision="fp32")
    out = [o for o, _ in stream_sequence(full, world, seed=0)]
    assert len(out) == 5
    clip = world.to_clip()
    assert frame_references(clip, trained.resolution).shape == (5, 3, trained.resolution, trained.resolution)
    with pytest.raises(ValueError, match="needs --world face"):
        train_refiner(dataclasses.replace(cfg, world="style"), tmp_path / "init", tmp_path / "run2")
    with pytest.raises(ValueError, match="needs --refiner-reference aligned"):
        train_refiner(dataclasses.replace(cfg, refiner_reference="as-is", refiner_map_jitter=2.0), tmp_path / "init",
                      tmp_path / "run3")


def test_map_jitter_moves_each_frames_reference_by_a_seeded_random_similarity():
    clip = FaceWorld.from_seed(4, 3, 64).to_clip()
    plain = frame_references(clip, 64)
    jittered = [frame_references(clip, 64, 2.0, np.random.default_rng(s)) for s in (1, 1, 2)]
    assert torch.equal(jittered[0], jittered[1]) and not torch.equal(jittered[0], jittered[2])
    assert not torch.equal(jittered[0], plain)
    assert (jittered[0] - plain).abs().mean() < 0.1  # a few pixels, not another image
    a, b = similarity(1.1, 0.2, (3, 4)), similarity(0.9, -0.5, (-1, 2))
    full = lambda m: np.vstack([m, [0, 0, 1]])  # noqa: E731
    assert np.allclose(full(_then(a, b)), full(b) @ full(a))


def test_a_live_face_session_hands_each_frame_its_similarity_on_a_real_photo():
    """Real MediaPipe on scikit-image's astronaut, as the reference and as the camera: the maps reach the pile. The
    same face on both sides, but the camera is seen through a 0.6 centre crop: the map zooms the reference by 1/0.6
    about the centre (within 3 %: the camera's tracking detector and the reference's still-image one differ a little)."""
    from skimage import data

    pipeline = aligned_pipeline()
    calls = []

    photo = data.astronaut()
    condition = ConditionConfig(mode="face", resolution=pipeline.config.resolution, crop_ratio=0.6)
    session = LiveSession(pipeline, condition, overlap=False)
    session.pipeline = RecordingSteps(pipeline, calls)
    session.set_reference(photo)
    assert session.conditioner.face_reference is not None
    for i in range(8):
        session.push(photo, now=i * 0.1)
    assert calls and all(c is not None and c.shape == (pipeline.frames_per_group, 2, 3) for c in calls)
    size = pipeline.config.resolution
    zoom = np.array([[1 / 0.6, 0, -0.2 / 0.6 * size], [0, 1 / 0.6, -0.2 / 0.6 * size]], np.float32)
    assert np.allclose(calls[-1][:, :, :2], zoom[:, :2], atol=0.05)
    assert np.allclose(calls[-1][:, :, 2], zoom[:, 2], atol=0.03 * size)
    session.close()

    conditioner = Conditioner(condition)  # without a face reference there is no map
    assert conditioner(photo).face_map is None
    conditioner.close()


def test_an_offline_video_aligns_the_reference_too(tmp_path):
    """The upload path (rain/live/offline.py) on a real mp4 of the astronaut, real MediaPipe: the refiner reads the
    reference zoomed onto the 0.6 crop, not where it is."""
    import imageio_ffmpeg
    from skimage import data

    from rain.live.offline import animate_video

    pipeline = aligned_pipeline()
    seen = []
    pipeline.models.refiner.register_forward_hook(lambda module, inputs, output: seen.append(inputs[2]))
    photo = data.astronaut()
    video = tmp_path / "astronaut.mp4"
    writer = imageio_ffmpeg.write_frames(str(video), photo.shape[1::-1], fps=10, macro_block_size=1)
    writer.send(None)
    for _ in range(6):
        writer.send(np.ascontiguousarray(photo))
    writer.close()
    condition = ConditionConfig(mode="face", resolution=pipeline.config.resolution, crop_ratio=0.6)
    progress = list(animate_video(pipeline, photo, video, condition, tmp_path / "out.mp4"))
    assert progress[-1].video is not None and seen
    where = pipeline.encode_reference(photo).image
    assert all(not torch.allclose(s, where.expand_as(s), atol=0.05) for s in seen)
