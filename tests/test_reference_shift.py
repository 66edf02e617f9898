"""The reference shift (rain/models/reference_shift.py): the colour skip's reference, moved per patch by a
learned mix of shifts."""

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import random_images
from rain.checkpoint import load_models, save_models
from rain.models import build_models
from rain.models.reference_shift import RATE, ReferenceShift, shift_offsets, shifted_stack
from rain.pipeline import RainPipeline
from rain.train.config import TrainConfig
from rain.train.stages import train_rain, with_reference_shift
from test_colour_skip import set_map, tiny_pixel


def with_shift(config, radius: int):
    return dataclasses.replace(config, unet=dataclasses.replace(config.unet, reference_shift=radius))


def pick(shift: ReferenceShift, index: int) -> None:
    """Every patch takes shift `index` all the way (gate 1): zero weights, the choice in the bias."""
    with torch.no_grad():
        shift.weights.weight.zero_()
        bias = torch.zeros(shift.count + 1)
        bias[index], bias[-1] = 30.0 / RATE, 1.0 / RATE
        shift.weights.bias.copy_(bias)


def test_the_stack_moves_the_image_by_each_offset_with_edges_repeated():
    image = torch.rand(2, 3, 32, 32)
    stack = shifted_stack(F.pixel_unshuffle(image, 8), radius=8)  # (2, 16 patches, 25 shifts, 192)
    offsets = shift_offsets(8)
    assert stack.shape == (2, 16, 25, 192) and offsets[12] == (0, 0)
    as_image = lambda s: F.pixel_shuffle(stack[:, :, s].transpose(1, 2).reshape(2, 192, 4, 4), 8)  # noqa: E731
    assert torch.equal(as_image(12), image)
    moved = as_image(offsets.index((4, -8)))
    assert torch.equal(moved[:, :, :28, 8:], image[:, :, 4:, :24])  # pixel (y, x) shows (y + 4, x - 8)
    assert torch.equal(moved[:, :, 28:, 8:], image[:, :, 31:, :24].expand(-1, -1, 4, -1))  # bottom edge repeated


def test_a_chosen_shift_moves_the_reference_the_stream_copies(rng):
    """Skip at the identity (copy the source) and every patch picking shift (dy, dx): each emitted frame is the
    reference moved by it, through pipeline, pile, UNet, shift and skip."""
    config = with_shift(tiny_pixel("reference"), 8)
    models = build_models(config, seed=0)
    set_map(models.unet.skip, np.eye(3))
    offsets = shift_offsets(8)
    pick(models.unet.shift, offsets.index((-4, 8)))
    pipeline = RainPipeline(models, config, precision="fp32")
    reference, conditions = random_images(rng, 1, config.resolution)[0], random_images(rng, 4, config.resolution)
    frames = np.stack(list(pipeline.render(reference, conditions, seed=0)))
    size = config.resolution
    expected = np.pad(reference, ((8, 8), (8, 8), (0, 0)), mode="edge")[8 - 4: 8 - 4 + size, 8 + 8: 8 + 8 + size]
    assert frames.shape == (4, size, size, 3)
    assert np.abs(frames.astype(int) - expected[None]).max() <= 1


def test_a_grown_shift_starts_as_a_no_op_then_trains_saves_and_loads(tmp_path, rng):
    config = tiny_pixel("reference")
    models = build_models(config, seed=0)
    set_map(models.unet.skip, 0.5 * np.eye(3))  # a skip that copies half of the reference
    save_models(models, config, tmp_path / "init")
    reference, conditions = random_images(rng, 1, config.resolution)[0], random_images(rng, 4, config.resolution)
    before = np.stack(list(RainPipeline(models, config, precision="fp32").render(reference, conditions)))
    grown_config = with_reference_shift(models, config, 8)
    grown = np.stack(list(RainPipeline(models, grown_config, precision="fp32").render(reference, conditions)))
    assert grown_config.unet.reference_shift == 8 and np.array_equal(before, grown)  # zero gate: a no-op

    cfg = TrainConfig(stage="pile", steps=3, batch_size=1, save_every=3, log_every=1, mixed_precision="no",
                      reference_shift=8, lr=1e-2)
    model = train_rain(cfg, tmp_path / "init", tmp_path / "run")
    trained, trained_config = load_models(model)  # strict: the shift's tensors are in unet.safetensors
    assert trained_config.unet.reference_shift == 8 and trained.unet.shift.weights.weight.abs().sum() > 0
    after = np.stack(list(RainPipeline(trained, trained_config, precision="fp32").render(reference, conditions)))
    assert after.shape == before.shape and not np.array_equal(after, before)
    with pytest.raises(ValueError, match="cannot change it"):
        train_rain(dataclasses.replace(cfg, reference_shift=4), model, tmp_path / "run2")


def test_a_shift_needs_a_skip_from_the_reference_and_a_radius_on_the_grid():
    with pytest.raises(ValueError, match="reference_shift moves the reference"):
        with_shift(tiny_pixel("condition"), 8).validate()
    with pytest.raises(ValueError, match="reference_shift moves the reference"):
        with_shift(tiny_pixel("reference"), 6).validate()
    with pytest.raises(ValueError, match="positive multiple"):
        shift_offsets(0)
    with pytest.raises(ValueError, match="in front of a colour skip"):
        build_models(tiny_pixel(), seed=0).unet.add_reference_shift(8)
    shift, source = ReferenceShift(in_channels=8, radius=8), torch.rand(1, 192, 2, 4, 4)
    with pytest.raises(ValueError, match="shifted reference has shape"):
        shift(torch.rand(2, 8, 4, 4), source, stack=shifted_stack(source[:, :, 0], radius=4))
    config = tiny_pixel("reference")
    unet, h = build_models(config, seed=0).unet, config.latent_size  # a skip, but no shift
    args = (torch.randn(1, 192, 2, h, h), torch.zeros(1, 2, dtype=torch.long),
            torch.randn(1, 1, config.unet.cross_attention_dim))
    with pytest.raises(ValueError, match="has none"):
        unet(*args, source=torch.randn(1, 192, 2, h, h), shifted=torch.randn(1, h * h, 25, 192))
