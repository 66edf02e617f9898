"""A UNet that reads the reference aligned to each frame (rain/models/aligned_reference.py): grown as a no-op, fed by
the pipeline with each frame's map, trained on the face world's true maps, and refused where it cannot work."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import random_images
from rain.bench.flops import unet_flops
from rain.checkpoint import load_models, save_models
from rain.config import RefinerConfig
from rain.images import to_tensor, to_uint8
from rain.models import build_models
from rain.models.colour_skip import RATE
from rain.models.refiner import aligned
from rain.pipeline import RainPipeline
from rain.train.config import TrainConfig
from rain.train.data import ClipStream, world_clip
from rain.train.refine import stream_pairs
from rain.train.maps import frame_references
from rain.train.stages import train_distill, train_rain, with_aligned_reference
from test_colour_skip import set_map, tiny_pixel
from test_refiner_align import similarity


def face_cfg(**changes) -> TrainConfig:
    return TrainConfig(stage="pile", world="face", steps=2, batch_size=1, save_every=2, log_every=1,
                       mixed_precision="no", lr=1e-2, **changes)


def render(models, config, reference, conditions, maps) -> np.ndarray:
    pipeline = RainPipeline(models, config, precision="fp32")
    return np.stack(list(pipeline.render(reference, list(zip(conditions, maps)))))


def test_a_grown_reader_is_a_no_op_and_its_gate_copies_the_reference_moved_onto_each_frame(rng):
    config = tiny_pixel("reference")
    models = build_models(config, seed=0)
    set_map(models.unet.skip, np.eye(3))  # the output is the skip's source, exactly
    size, f = config.resolution, 4
    reference, conditions = random_images(rng, 1, size)[0], random_images(rng, f, size)
    maps = np.stack([similarity(1.0 + 0.1 * i, 0.1 * i, (2.0 * i, -3.0 * i)) for i in range(f)])
    before = np.stack(list(RainPipeline(models, config, precision="fp32").render(reference, conditions)))
    grown = with_aligned_reference(models, config, face_cfg(aligned_reference=1))
    assert grown.unet.aligned_reference and models.unet.aligned is not None
    assert np.array_equal(render(models, grown, reference, conditions, maps), before)  # zero convs: a no-op

    with torch.no_grad():  # the gate all the way: the source is the aligned reference
        models.unet.aligned.gate.bias.fill_(1.0 / RATE)
    frames = render(models, grown, reference, conditions, maps).reshape(f, size, size, 3)
    expected = to_uint8(aligned(to_tensor(reference)[None], torch.from_numpy(maps)))
    assert np.abs(frames.astype(int) - expected.astype(int)).max() <= 1
    assert np.abs(expected.astype(int) - reference[None].astype(int)).mean() > 10  # the maps do move it


def test_the_face_stream_yields_each_frames_aligned_reference():
    stream = ClipStream("face", 3, 64, seed=0, aligned_jitter=0.0)
    batch = stream.sample(np.random.default_rng(5))
    clip = world_clip("face", np.random.default_rng(5), 3, 64, stream.config)
    assert batch["aligned"].shape == (3, 3, 64, 64)
    assert torch.allclose(batch["aligned"], frame_references(clip, 64).transpose(0, 1))
    jittered = ClipStream("face", 3, 64, seed=0, aligned_jitter=2.0).sample(np.random.default_rng(5))
    assert not torch.allclose(jittered["aligned"], batch["aligned"])
    with pytest.raises(ValueError, match="face world"):
        ClipStream("body", 3, 64, seed=0, aligned_jitter=0.0)


def test_the_pile_stage_grows_and_trains_the_reader_on_the_face_world(tmp_path, rng):
    config = tiny_pixel("reference")
    save_models(build_models(config, seed=0), config, tmp_path / "init")
    model = train_rain(face_cfg(aligned_reference=1, aligned_jitter=1.5), tmp_path / "init", tmp_path / "run")
    trained, trained_config = load_models(model)  # strict: the reader's tensors are in unet.safetensors
    assert trained_config.unet.aligned_reference and trained.unet.aligned.features.weight.abs().sum() > 0
    size = config.resolution
    reference, conditions = random_images(rng, 1, size)[0], random_images(rng, 2, size)
    maps = np.stack([similarity(1.1, 0.0, (1.0, 1.0))] * 2)
    assert render(trained, trained_config, reference, conditions, maps).shape[-3:] == (size, size, 3)
    train_rain(face_cfg(aligned_jitter=1.0), model, tmp_path / "run2")  # a model that has one trains on
    train_rain(dataclasses.replace(face_cfg(), stage="image"), model, tmp_path / "run_image")  # single frames too

    with pytest.raises(ValueError, match="needs --world face"):
        train_rain(dataclasses.replace(face_cfg(), world="body"), model, tmp_path / "run3")
    with pytest.raises(ValueError, match="distillation does not feed it"):
        train_distill(dataclasses.replace(face_cfg(), stage="distill", teacher=str(model)), None, tmp_path / "run4")


def test_the_reader_is_refused_where_it_cannot_work(tmp_path):
    config = tiny_pixel("reference")
    models = build_models(config, seed=0)
    with pytest.raises(ValueError, match="does not"):
        with_aligned_reference(models, config, face_cfg(aligned_jitter=1.0))
    with pytest.raises(ValueError, match="needs --world face"):
        with_aligned_reference(models, config, dataclasses.replace(face_cfg(aligned_reference=1), world="body"))
    with pytest.raises(ValueError, match="is 1"):
        with_aligned_reference(models, config, face_cfg(aligned_reference=2))
    plain = tiny_pixel("")
    bad = dataclasses.replace(plain, unet=dataclasses.replace(plain.unet, aligned_reference=True))
    with pytest.raises(ValueError, match="feeds a colour skip from the reference"):
        bad.validate()
    with pytest.raises(ValueError, match="needs it per frame"):
        grown = with_aligned_reference(models, config, face_cfg(aligned_reference=1))
        RainPipeline(models, grown, precision="fp32").models.unet(
            torch.zeros(1, 192, 1, 8, 8), torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 1, 32),
            source=torch.zeros(1, 192, 1, 8, 8))


def test_the_refiner_stage_streams_the_unet_with_the_maps_its_refiner_reads():
    config = dataclasses.replace(tiny_pixel("reference"), refiner=RefinerConfig(width=4, reference="aligned"))
    models = build_models(config, seed=0)
    set_map(models.unet.skip, np.eye(3))
    config = with_aligned_reference(models, config, face_cfg(aligned_reference=1))
    with torch.no_grad():  # the output is the aligned reference itself (the fresh refiner adds nothing)
        models.unet.aligned.gate.bias.fill_(1.0 / RATE)
    pipeline = RainPipeline(models, config, precision="fp32")
    cfg = TrainConfig(stage="refiner", world="face", refiner_clips=2, refiner_frames=4, refiner_map_jitter=2.0)
    pairs = stream_pairs(pipeline, cfg, "aligned")
    assert np.abs(pairs["frames"].astype(int) - pairs["references"].astype(int)).max() <= 1
    assert np.abs(pairs["references"][1:4].astype(int) - pairs["references"][:1].astype(int)).mean() > 1  # moving


def test_train_only_moves_the_named_parts_and_nothing_else(tmp_path):
    config = tiny_pixel("reference")
    save_models(build_models(config, seed=0), config, tmp_path / "init")
    before, _ = load_models(tmp_path / "init")
    model = train_rain(face_cfg(aligned_reference=1, train_only="aligned,skip"), tmp_path / "init", tmp_path / "run")
    after, _ = load_models(model)
    trained = {n for n, p in after.unet.named_parameters() if n.startswith(("aligned.", "skip."))}
    old = dict(before.unet.named_parameters())
    assert all(torch.equal(p, old[n]) for n, p in after.unet.named_parameters() if n not in trained)
    assert any(p.abs().sum() > 0 for n, p in after.unet.named_parameters() if n.startswith("aligned."))
    for a, b in ((before.reference_net, after.reference_net), (before.pose_guider, after.pose_guider)):
        assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    with pytest.raises(ValueError, match="this model has no shift"):
        train_rain(face_cfg(train_only="shift"), model, tmp_path / "run2")
    with pytest.raises(ValueError, match="names UNet parts"):
        train_rain(face_cfg(train_only="body"), model, tmp_path / "run3")


def test_a_grown_shift_of_the_aligned_copy_is_a_no_op_then_moves_each_frames_copy(rng):
    config = tiny_pixel("reference")
    models = build_models(config, seed=0)
    set_map(models.unet.skip, np.eye(3))
    config = with_aligned_reference(models, config, face_cfg(aligned_reference=1))
    with torch.no_grad():
        models.unet.aligned.gate.bias.fill_(1.0 / RATE)
    size, f = config.resolution, 4
    reference, conditions = random_images(rng, 1, size)[0], random_images(rng, f, size)
    maps = np.stack([similarity(1.0 + 0.1 * i, 0.1 * i, (2.0 * i, -3.0 * i)) for i in range(f)])
    before = render(models, config, reference, conditions, maps)
    shifted = with_aligned_reference(models, config, face_cfg(aligned_shift=2))
    assert shifted.unet.aligned_shift == 2 and models.unet.aligned.shift.axes == "separable"
    assert np.array_equal(render(models, shifted, reference, conditions, maps), before)
    from test_reference_shift import pick_separable
    pick_separable(models.unet.aligned.shift, 1, -2)  # every patch: the copy at (y + 1, x - 2), edges repeated
    frames = render(models, shifted, reference, conditions, maps).reshape(f, size, size, 3)
    copies = to_uint8(aligned(to_tensor(reference)[None], torch.from_numpy(maps)))
    expected = np.pad(copies, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="edge")[:, 3:3 + size, :size]
    assert np.abs(frames.astype(int) - expected.astype(int)).max() <= 1
    with pytest.raises(ValueError, match="aligned_shift moves an aligned reference"):
        plain = tiny_pixel("reference")
        dataclasses.replace(plain, unet=dataclasses.replace(plain.unet, aligned_shift=2)).validate()


def test_a_live_face_session_streams_the_unet_with_the_reference_aligned_on_a_real_photo():
    """Real MediaPipe on the astronaut: the live path hands a UNet that aligns (no refiner) each frame's map, and the
    UNet reads the reference moved by it (the camera's face, cropped to 0.6, is the reference's zoomed)."""
    from skimage import data

    from rain.conditioning import ConditionConfig
    from rain.live import LiveSession

    config = tiny_pixel("reference")
    models = build_models(config, seed=0)
    config = with_aligned_reference(models, config, face_cfg(aligned_reference=1))
    pipeline = RainPipeline(models, config, precision="fp32")
    seen = []
    models.unet.register_forward_pre_hook(lambda module, args, kwargs: seen.append(kwargs["aligned"]), with_kwargs=True)
    photo = data.astronaut()
    session = LiveSession(pipeline, ConditionConfig(mode="face", resolution=config.resolution, crop_ratio=0.6),
                          overlap=False)
    session.set_reference(photo)
    frames = [session.push(photo, now=i * 0.1) for i in range(24)]
    session.close()
    assert any(f.image is not None for f in frames) and all(f.status == "tracking" for f in frames)
    assert seen and all(a is not None for a in seen)
    unaligned = pipeline.encode_reference(photo).latents  # (1, c, h, w)
    assert (seen[-1] - unaligned[:, :, None]).abs().mean() > 0.05  # moved: the zoom onto the crop


def test_the_bench_counts_and_times_a_unet_that_reads_the_aligned_reference():
    config = tiny_pixel("reference")
    models = build_models(config, seed=0)
    plain = unet_flops(RainPipeline(models, config, precision="fp32"), reps=1)
    grown = with_aligned_reference(models, config, face_cfg(aligned_reference=1))
    counted = unet_flops(RainPipeline(models, grown, precision="fp32"), reps=1)
    assert counted["frames_per_call"] == plain["frames_per_call"]
    assert counted["flops_per_call"] > plain["flops_per_call"]  # the reader's convs and gate are in the count
