"""The drift anchor (rain/anchor.py): the reference latent as a clean frame 0 of every UNet call, added the
same way in streaming and training."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import random_images
from rain.config import PileConfig, tiny
from rain.models import build_models
from rain.pipeline import RainPipeline
from rain.train.config import TrainConfig
from rain.train.data import ClipStream
from rain.train.objective import RainObjective, pile_levels
from rain.train.stages import with_pile_settings


def anchor_config():
    return with_pile_settings(tiny(), TrainConfig(anchor=1))


def unet_inputs(unet):
    """Record (x, timesteps) of every UNet call through a forward pre-hook."""
    seen = []
    handle = unet.register_forward_pre_hook(lambda m, args: seen.append((args[0].detach().clone(), args[1].clone())))
    return seen, handle


def test_streaming_puts_the_clean_reference_in_front_of_every_call(rng):
    pipeline = RainPipeline.from_config(anchor_config(), seed=0, precision="fp32")
    reference = pipeline.encode_reference(random_images(rng, 1, 64)[0])
    stream = pipeline.new_stream(reference, seed=0)
    seen, handle = unet_inputs(pipeline.models.unet)
    frames = [pipeline.step(stream, random_images(rng, 4, 64)) for _ in range(5)]
    handle.remove()
    assert [len(f) for f in frames] == [0, 0, 0, 4, 4]  # the pile behaves as without the anchor
    for call, (x, t) in enumerate(seen):
        assert x.shape[2] == 1 + 4 * min(call + 1, 4) and t[0, 0] == 0 and bool((t[0, 1:] > 0).all())
        torch.testing.assert_close(x[:, :, 0], reference.latents)


def test_anchor_changes_the_frames_and_trains():
    config = anchor_config()
    plain = RainPipeline.from_config(tiny(), seed=0, precision="fp32")
    anchored = RainPipeline.from_config(config, seed=0, precision="fp32")
    for module in plain.models.unet.modules():  # open the zero-initialised temporal outputs (AnimateDiff init)
        if type(module).__name__ == "AnimateDiffTransformer3D":
            torch.nn.init.normal_(module.proj_out.weight, std=0.2)
    for part in ("unet", "pose_guider", "reference_net", "image_encoder", "vae"):  # same weights in both
        getattr(anchored.models, part).load_state_dict(getattr(plain.models, part).state_dict())
    rng = np.random.default_rng(1)
    reference, clip = random_images(rng, 1, 64)[0], random_images(rng, 8, 64)
    a = np.stack(list(plain.render(reference, clip, seed=2)))
    b = np.stack(list(anchored.render(reference, clip, seed=2)))
    assert a.shape == b.shape and not np.array_equal(a, b)  # temporal attention sees one more frame
    objective = RainObjective(build_models(config, seed=0), config)
    batch = {k: v[None] for k, v in next(iter(ClipStream("body", config.pile.num_frames, 64, seed=3))).items()}
    levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]
    loss = objective(batch, levels, torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss) and any(p.grad is not None for p in objective.unet.parameters())


def test_anchor_needs_room_in_the_temporal_table():
    PileConfig(frames_per_group=4, num_groups=4, anchor=True).validate(17)
    with pytest.raises(ValueError, match="plus the anchor"):
        PileConfig(frames_per_group=4, num_groups=4, anchor=True).validate(16)
    assert dataclasses.replace(anchor_config().pile, anchor=False) == tiny().pile
