"""The refiner (rain/models/refiner.py) after the decoder, and its training stage (rain/train/refine.py)."""

import dataclasses
import logging

import numpy as np
import pytest
import torch

from conftest import random_images
from rain.checkpoint import load_models, save_models
from rain.config import RefinerConfig, tiny
from rain.images import square, to_tensor
from rain.models import build_models
from rain.models.refiner import Refiner, deepened
from rain.pipeline import RainPipeline
from rain.train.config import TrainConfig
from rain.train.refine import train_refiner
from rain.train.stages import train_distill, train_rain


def with_refiner(config, width: int):
    return dataclasses.replace(config, refiner=RefinerConfig(width=width))


def test_a_grown_refiner_starts_as_a_no_op_then_trains_saves_and_loads(tmp_path, rng, caplog):
    config = tiny()
    models = build_models(config, seed=0)
    save_models(models, config, tmp_path / "init")
    reference, conditions = random_images(rng, 1, config.resolution)[0], random_images(rng, 6, config.resolution)
    before = np.stack(list(RainPipeline(models, config, precision="fp32").render(reference, conditions)))
    grown = dataclasses.replace(models, refiner=Refiner(8))
    same = np.stack(list(RainPipeline(grown, with_refiner(config, 8), precision="fp32").render(reference, conditions)))
    assert np.array_equal(before, same)  # the last convolution starts at zero

    cfg = TrainConfig(stage="refiner", world="face", steps=3, batch_size=2, crop=32, lr=1e-2, save_every=3,
                      log_every=1, mixed_precision="no", refiner=8, refiner_clips=2, refiner_frames=5)
    model = train_refiner(cfg, tmp_path / "init", tmp_path / "run")
    trained, trained_config = load_models(model)  # strict: refiner.safetensors holds every tensor
    assert trained_config.refiner.width == 8 and trained.refiner.out.weight.abs().sum() > 0
    assert all(torch.equal(a, b) for a, b in zip(trained.unet.state_dict().values(), models.unet.state_dict().values()))
    after = np.stack(list(RainPipeline(trained, trained_config, precision="fp32").render(reference, conditions)))
    assert after.shape == before.shape and not np.array_equal(after, before)

    with pytest.raises(ValueError, match="cannot change it"):
        train_refiner(dataclasses.replace(cfg, refiner=16), model, tmp_path / "run2")
    with pytest.raises(ValueError, match="no refiner"):
        train_refiner(dataclasses.replace(cfg, refiner=0), tmp_path / "init", tmp_path / "run3")
    with caplog.at_level(logging.WARNING):  # a later pile stage keeps the refiner, and says it is stale
        repiled = train_rain(TrainConfig(stage="pile", world="face", steps=1, batch_size=1, save_every=1,
                                         mixed_precision="no"), model, tmp_path / "run4")
    assert "retrain it afterwards with --stage refiner" in caplog.text
    assert load_models(repiled)[1].refiner.width == 8
    with pytest.raises(ValueError, match="has a refiner"):  # the student would lose it
        train_distill(TrainConfig(stage="distill", teacher=str(model), steps=1), None, tmp_path / "run5")


def test_the_refiner_sees_each_emitted_frame_with_its_condition_and_the_current_reference(rng):
    config = with_refiner(tiny(), 4)
    models = build_models(config, seed=0)
    seen = []
    models.refiner.register_forward_hook(lambda module, inputs, output: seen.append(inputs))
    pipeline = RainPipeline(models, config, precision="fp32")
    f, size = pipeline.frames_per_group, config.resolution
    first, second = random_images(rng, 2, size)
    groups = pipeline.config.pile.default_groups + 1  # the first two groups leave before the swap
    conditions = random_images(rng, groups * f, size)
    stream = pipeline.new_stream(pipeline.encode_reference(first))
    emitted = [pipeline.step(stream, conditions[i * f:(i + 1) * f]) for i in range(groups)]
    stream.reference = pipeline.encode_reference(second)  # a mid-stream swap: later frames take the new one
    emitted += list(pipeline.drain(stream))
    assert sum(len(e) for e in emitted) == groups * f and len(seen) == groups
    shown = torch.cat([inputs[1] for inputs in seen])  # (groups * f, 3, H, W), in the order the frames came out
    assert torch.equal(shown, to_tensor(conditions))
    assert torch.equal(seen[1][2], square(to_tensor(first), size)[None])  # the second group left before the swap
    assert torch.equal(seen[-1][2], square(to_tensor(second), size)[None])


def test_a_refiner_refuses_what_it_cannot_refine():
    refiner = Refiner(4)
    image = torch.rand(2, 3, 32, 32)
    with pytest.raises(ValueError, match="one size, a multiple of 2"):
        refiner(image, image[:1], image[:1])
    with pytest.raises(ValueError, match="one size, a multiple of 2"):
        refiner(image[..., :31], image[..., :31], image[:1, ..., :31])
    with pytest.raises(ValueError, match="positive width"):
        Refiner(0)
    with pytest.raises(ValueError, match="RefinerConfig.width"):
        with_refiner(tiny(), -1).validate()
    assert refiner(image, image, image[:1]).shape == image.shape


def test_a_two_level_refiner_trains_saves_loads_and_keeps_its_levels(tmp_path):
    config = tiny()
    save_models(build_models(config, seed=0), config, tmp_path / "init")
    cfg = TrainConfig(stage="refiner", world="face", steps=2, batch_size=2, crop=32, lr=1e-2, save_every=2,
                      mixed_precision="no", refiner=4, refiner_levels=2, refiner_clips=1, refiner_frames=4)
    model = train_refiner(cfg, tmp_path / "init", tmp_path / "run")
    trained, trained_config = load_models(model)  # strict: the quarter-resolution level's tensors are all there
    assert trained_config.refiner.levels == 2 and trained.refiner.levels == 2
    assert any(name.startswith("body.1.down") for name in trained.refiner.state_dict())
    again = train_refiner(dataclasses.replace(cfg, refiner=0, refiner_levels=0), model, tmp_path / "again")
    assert load_models(again)[1].refiner.levels == 2  # retraining keeps the model's levels
    with pytest.raises(ValueError, match="cannot change it"):
        train_refiner(dataclasses.replace(cfg, refiner=0, refiner_levels=1), model, tmp_path / "run2")
    with pytest.raises(ValueError, match="a multiple of 4"):
        trained.refiner(*[torch.rand(1, 3, 34, 34)] * 3)
    with pytest.raises(ValueError, match="RefinerConfig.levels"):
        dataclasses.replace(trained_config, refiner=RefinerConfig(width=4, levels=4)).validate()
    with pytest.raises(ValueError, match=r"levels in \(1, 2, 3\)"):
        Refiner(4, 4)

    # a larger --refiner-levels deepens the trained refiner: its new eighth-resolution level is trained and saved
    deep = train_refiner(dataclasses.replace(cfg, refiner=0, refiner_levels=3), model, tmp_path / "deep")
    deep_models, deep_config = load_models(deep)
    assert deep_config.refiner.levels == 3 and deep_models.refiner.levels == 3
    assert any(name.startswith("body.1.inner.") for name in deep_models.refiner.state_dict())


def test_a_deepened_refiner_draws_what_it_drew_until_trained():
    torch.manual_seed(0)
    trained = Refiner(4, 2)
    torch.nn.init.normal_(trained.out.weight, std=0.1)  # as if trained: not the identity
    deeper = deepened(trained, 3)
    frames, conditions, reference = (torch.rand(2, 3, 32, 32) for _ in range(3))
    before = trained(frames, conditions, reference[:1])
    assert not torch.allclose(before, frames)
    assert torch.allclose(deeper(frames, conditions, reference[:1]), before)
    assert deeper.body[1].inner.down.weight.abs().sum() > 0  # the new level starts random inside, zero at its exit
    for levels in (1, 2):
        with pytest.raises(ValueError, match="deepens from 2 or more levels"):
            deepened(Refiner(4, levels), 2 if levels == 2 else 3)
