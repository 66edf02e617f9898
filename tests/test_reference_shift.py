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
from rain.models.reference_shift import (RATE, ReferenceShift, _mix_separable, band, patch_windows, shift_offsets,
                                         shifted_stack)
from rain.pipeline import RainPipeline
from rain.train.config import TrainConfig
from rain.train.data import ClipStream
from rain.train.objective import RainObjective, pile_levels
from rain.train.stages import train_rain, with_reference_shift
from test_colour_skip import set_map, tiny_pixel


def with_shift(config, radius: int, axes: str = "joint"):
    return dataclasses.replace(config, unet=dataclasses.replace(config.unet, reference_shift=radius,
                                                                reference_shift_axes=axes))


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


def pick_separable(shift: ReferenceShift, dy: int, dx: int) -> None:
    """Every patch takes row shift dy and column shift dx all the way (gate 1)."""
    n = 2 * shift.radius + 1
    with torch.no_grad():
        shift.weights.weight.zero_()
        bias = torch.zeros(shift.count + 1)
        bias[shift.radius + dy], bias[n + shift.radius + dx], bias[-1] = 30.0 / RATE, 30.0 / RATE, 1.0 / RATE
        shift.weights.bias.copy_(bias)


def test_separable_weights_mix_rows_then_columns_as_their_outer_product():
    """The separable mix equals the joint mix of every 1-px shift weighted p(dy) q(dx)."""
    image, radius, p = torch.rand(1, 3, 16, 16), 2, 4
    patches = F.pixel_unshuffle(image, p)  # (1, 48, 4, 4)
    shift = ReferenceShift(in_channels=8, radius=radius, axes="separable")
    logits = torch.randn(1, 16, 2, 2 * (2 * radius + 1))  # (b, hw, f, 2n)
    mixed = _mix_separable(logits, patch_windows(patches, radius), p)  # (1, 16, 2, 48)
    windows = patch_windows(patches, radius)  # (1, 16, 3, 8, 8)
    rows, cols = logits.chunk(2, dim=-1)
    expected = torch.zeros_like(mixed)
    for i, dy in enumerate(range(-radius, radius + 1)):
        for j, dx in enumerate(range(-radius, radius + 1)):
            moved = windows[:, :, :, radius + dy: radius + dy + p, radius + dx: radius + dx + p].flatten(2)  # (1, 16, 48)
            weight = rows.softmax(-1)[..., i] * cols.softmax(-1)[..., j]  # (1, 16, 2)
            expected += weight[..., None] * moved[:, :, None]
    assert torch.allclose(mixed, expected, atol=1e-5)
    assert band(torch.tensor([1.0, 2.0, 3.0]), 2).tolist() == [[1, 2, 3, 0], [0, 1, 2, 3]]
    assert shift.count == 10


@pytest.mark.parametrize("axes, radius, dy, dx", [("joint", 8, -4, 8), ("separable", 5, -3, 5)])
def test_a_chosen_shift_moves_the_reference_the_stream_copies(rng, axes, radius, dy, dx):
    """Skip at the identity (copy the source) and every patch picking shift (dy, dx): each emitted frame is the
    reference moved by it, through pipeline, pile, UNet, shift and skip."""
    config = with_shift(tiny_pixel("reference"), radius, axes)
    models = build_models(config, seed=0)
    set_map(models.unet.skip, np.eye(3))
    if axes == "joint":
        pick(models.unet.shift, shift_offsets(radius).index((dy, dx)))
    else:
        pick_separable(models.unet.shift, dy, dx)
    pipeline = RainPipeline(models, config, precision="fp32")
    reference, conditions = random_images(rng, 1, config.resolution)[0], random_images(rng, 4, config.resolution)
    frames = np.stack(list(pipeline.render(reference, conditions, seed=0)))
    size = config.resolution
    r = radius
    expected = np.pad(reference, ((r, r), (r, r), (0, 0)), mode="edge")[r + dy: r + dy + size, r + dx: r + dx + size]
    assert frames.shape == (4, size, size, 3)
    assert np.abs(frames.astype(int) - expected[None]).max() <= 1


@pytest.mark.parametrize("axes", ["joint", "separable"])
def test_a_grown_shift_starts_as_a_no_op_then_trains_saves_and_loads(tmp_path, rng, axes):
    config = tiny_pixel("reference")
    models = build_models(config, seed=0)
    set_map(models.unet.skip, 0.5 * np.eye(3))  # a skip that copies half of the reference
    save_models(models, config, tmp_path / "init")
    reference, conditions = random_images(rng, 1, config.resolution)[0], random_images(rng, 4, config.resolution)
    before = np.stack(list(RainPipeline(models, config, precision="fp32").render(reference, conditions)))
    grown_config = with_reference_shift(models, config, 8, axes)
    grown = np.stack(list(RainPipeline(models, grown_config, precision="fp32").render(reference, conditions)))
    assert grown_config.unet.reference_shift == 8 and grown_config.unet.reference_shift_axes == axes
    assert np.array_equal(before, grown)  # zero gate: a no-op

    cfg = TrainConfig(stage="pile", steps=3, batch_size=1, save_every=3, log_every=1, mixed_precision="no",
                      reference_shift=8, reference_shift_axes=axes, lr=1e-2)
    model = train_rain(cfg, tmp_path / "init", tmp_path / "run")
    trained, trained_config = load_models(model)  # strict: the shift's tensors are in unet.safetensors
    assert trained_config.unet.reference_shift_axes == axes and trained.unet.shift.axes == axes
    assert trained_config.unet.reference_shift == 8 and trained.unet.shift.weights.weight.abs().sum() > 0
    after = np.stack(list(RainPipeline(trained, trained_config, precision="fp32").render(reference, conditions)))
    assert after.shape == before.shape and not np.array_equal(after, before)
    with pytest.raises(ValueError, match="cannot change it"):
        train_rain(dataclasses.replace(cfg, reference_shift=4), model, tmp_path / "run2")
    other = "separable" if axes == "joint" else "joint"
    with pytest.raises(ValueError, match="cannot change it"):
        train_rain(dataclasses.replace(cfg, reference_shift_axes=other), model, tmp_path / "run3")


def test_a_shift_needs_a_skip_from_the_reference_and_a_radius_on_the_grid():
    with pytest.raises(ValueError, match="reference_shift moves the reference"):
        with_shift(tiny_pixel("condition"), 8).validate()
    with pytest.raises(ValueError, match="reference_shift moves the reference"):
        with_shift(tiny_pixel("reference"), 6).validate()
    with_shift(tiny_pixel("reference"), 6, "separable").validate()  # every pixel: any radius
    with pytest.raises(ValueError, match="reference_shift_axes must be one of"):
        with_shift(tiny_pixel("reference"), 8, "diagonal").validate()
    with pytest.raises(ValueError, match="positive multiple"):
        shift_offsets(0)
    with pytest.raises(ValueError, match="positive number of pixels"):
        ReferenceShift(in_channels=8, radius=0, axes="separable")
    with pytest.raises(ValueError, match="in front of a colour skip"):
        build_models(tiny_pixel(), seed=0).unet.add_reference_shift(8)
    shift, source = ReferenceShift(in_channels=8, radius=8), torch.rand(1, 192, 2, 4, 4)
    with pytest.raises(ValueError, match="prepared reference has shape"):
        shift(torch.rand(2, 8, 4, 4), source, stack=shifted_stack(source[:, :, 0], radius=4))
    separable = ReferenceShift(in_channels=8, radius=8, axes="separable")
    with pytest.raises(ValueError, match="prepared reference has shape"):
        separable(torch.rand(2, 8, 4, 4), source, stack=shifted_stack(source[:, :, 0], radius=8))
    config = tiny_pixel("reference")
    unet, h = build_models(config, seed=0).unet, config.latent_size  # a skip, but no shift
    args = (torch.randn(1, 192, 2, h, h), torch.zeros(1, 2, dtype=torch.long),
            torch.randn(1, 1, config.unet.cross_attention_dim))
    with pytest.raises(ValueError, match="has none"):
        unet(*args, source=torch.randn(1, 192, 2, h, h), shifted=torch.randn(1, h * h, 25, 192))


@pytest.mark.parametrize("axes", ["joint", "separable"])
def test_the_shift_loss_reaches_the_choice_of_shifts_that_the_closed_gate_hides(axes):
    """A grown shift (gate 0) gives the main loss no gradient on its shift logits; the shift loss does, and it
    measures the mix of moved references against the true frames."""
    config = tiny_pixel("reference")
    models = build_models(config, seed=0)
    config = with_reference_shift(models, config, 8, axes)
    batch = {k: v[None] for k, v in next(iter(ClipStream("face", config.pile.num_frames, config.resolution,
                                                        seed=2))).items()}
    levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]
    logit_grads = []
    for weight in (0.0, 1.0):
        objective = RainObjective(models, config, shift_loss=weight)
        models.unet.zero_grad()
        objective(batch, levels, torch.Generator().manual_seed(0)).backward()
        logit_grads.append(models.unet.shift.weights.weight.grad[:-1].abs().sum().item())  # all but the gate
    assert logit_grads[0] == 0 and logit_grads[1] > 0
    with pytest.raises(ValueError, match="only for a model with a reference shift"):
        RainObjective(build_models(tiny_pixel("reference"), seed=0), tiny_pixel("reference"), shift_loss=0.1)
    with pytest.raises(ValueError, match="has no reference shift"):
        unet, h = models.unet, config.latent_size
        unet.shift = None
        unet(torch.randn(1, 192, 2, h, h), torch.zeros(1, 2, dtype=torch.long), torch.randn(1, 1, 64),
             source=torch.randn(1, 192, 2, h, h), return_moved=True)
