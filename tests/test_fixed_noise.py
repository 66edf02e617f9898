"""A stream's fixed noise (`PileConfig.fixed_noise`, StreamDiffusion's trick): each pile slot draws its noise once,
so a still input gives a still output, while one UNet call still sees independent noise in every frame."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import random_images
from rain.config import PileConfig, tiny
from rain.pile import slot_noise
from rain.pipeline import RainPipeline


def test_slot_noise_takes_each_frame_its_level_and_slot():
    bank = torch.arange(4 * 3, dtype=torch.float32).view(4, 1, 3, 1, 1).expand(-1, 2, -1, 2, 2)  # (levels, c, f, h, w)
    levels = torch.tensor([3, 3, 3, 1, 1, 1, 0, 0, 0])  # oldest group first, 3 frames each
    picked = slot_noise(bank, levels, 3)  # (F, c, h, w)
    # level 3 leaves clean (clamped to the last bank entry, unused); level l re-noises with bank[l + 1]
    assert picked[:, 0, 0, 0].tolist() == [9, 10, 11, 6, 7, 8, 3, 4, 5]


def still_stream_outputs(config, calls: int, seed: int = 0) -> list[np.ndarray]:
    pipeline = RainPipeline.from_config(config, seed=0, precision="fp32")
    size, f = config.resolution, pipeline.frames_per_group
    image = random_images(np.random.default_rng(1), 1, size)
    stream = pipeline.new_stream(pipeline.encode_reference(image[0]), seed=seed)
    condition = np.repeat(random_images(np.random.default_rng(2), 1, size), f, axis=0)
    return [pipeline.step(stream, condition) for _ in range(calls)]


@pytest.mark.parametrize("entry", ["noise", "latent"])
def test_fixed_noise_makes_a_still_input_a_still_output(entry):
    cfg = tiny()
    pile = dataclasses.replace(cfg.pile, entry=entry, strength=0.6 if entry == "latent" else 1.0,
                               strength_min=0.4 if entry == "latent" else 1.0)
    groups = pile.num_groups
    calls = 3 * groups + 2  # the pile fills, then every group has met only groups like itself
    fixed = still_stream_outputs(dataclasses.replace(cfg, pile=dataclasses.replace(pile, fixed_noise=True)), calls)
    fresh = still_stream_outputs(dataclasses.replace(cfg, pile=pile), calls)
    assert all(len(out) == pile.frames_per_group for out in fixed[groups - 1:])
    np.testing.assert_array_equal(fixed[-1], fixed[-2])  # group after group, the same frames
    assert not np.array_equal(fresh[-1], fresh[-2])  # fresh noise: the same input, other frames
    assert not np.array_equal(fixed[-1][0], fixed[-1][1])  # the slots' noises differ within a group


def test_fixed_noise_depends_on_the_seed():
    cfg = tiny().with_pile(fixed_noise=True)
    a, b = still_stream_outputs(cfg, 6, seed=0), still_stream_outputs(cfg, 6, seed=1)
    assert not np.array_equal(a[-1], b[-1])


def test_config_refuses_a_fixed_noise_that_is_not_a_bool():
    with pytest.raises(ValueError, match="fixed_noise must be true or false"):
        PileConfig(fixed_noise="yes").validate(32)
