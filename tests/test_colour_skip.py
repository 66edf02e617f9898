"""The colour skip (rain/models/colour_skip.py): per-patch colour maps of a clean source added to conv_out."""

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import random_images
from rain.checkpoint import load_models, save_models
from rain.config import PileConfig, SchedulerConfig, VAEConfig, tiny
from rain.models import build_models
from rain.models.colour_skip import RATE, ColourSkip, colour_source, per_pixel
from rain.pipeline import RainPipeline
from rain.train.config import TrainConfig
from rain.train.stages import train_rain, with_colour_skip, with_smooth_maps

SWAP_RED_BLUE = [[0, 0, 1], [0, 1, 0], [1, 0, 0]]


def tiny_pixel(colour_skip: str = ""):
    """tiny() diffusing in exact pixel space (8x8 patches, 192 channels), as the CPU tier does."""
    config = tiny()
    return dataclasses.replace(
        config, vae=VAEConfig(kind="pixel", block_out_channels=(3, 12, 48, 192), latent_channels=192),
        unet=dataclasses.replace(config.unet, in_channels=192, out_channels=192, colour_skip=colour_skip),
        scheduler=SchedulerConfig(prediction_type="sample"), pile=PileConfig(reference_input=True))


def set_map(skip: ColourSkip, matrix, offset=(0.0, 0.0, 0.0)) -> None:
    """The same colour map in every patch: zero weights, the map in the bias."""
    with torch.no_grad():
        skip.coefficients.weight.zero_()
        skip.coefficients.bias.copy_(torch.tensor([*np.ravel(matrix), *offset], dtype=torch.float32) / RATE)


def test_the_map_acts_on_each_pixels_rgb_in_pixel_unshuffle_layout():
    skip = ColourSkip(in_channels=8)
    image = torch.rand(2, 3, 32, 32)
    source = F.pixel_unshuffle(image, 8)  # (2, 192, 4, 4)
    features, base = torch.randn(2, 8, 4, 4), torch.randn(2, 192, 4, 4)
    assert torch.equal(skip(features, base, source), base)  # zero-initialised: conv_out's output unchanged
    set_map(skip, SWAP_RED_BLUE, offset=(0.5, 0.0, -0.25))
    out = F.pixel_shuffle(skip(features, torch.zeros_like(base), source), 8)  # from zero: the map of the source
    expected = image[:, [2, 1, 0]] + torch.tensor([0.5, 0.0, -0.25])[None, :, None, None]
    torch.testing.assert_close(out, expected)
    set_map(skip, 0.25 * np.eye(3))  # a quarter of the way from conv_out's output to the source
    torch.testing.assert_close(skip(features, base, source), 0.75 * base + 0.25 * source)
    with pytest.raises(ValueError, match="RGB pixel patches"):
        skip(features, torch.randn(2, 4, 4, 4), torch.randn(2, 4, 4, 4))


@pytest.mark.parametrize("source", ["condition", "reference"])
def test_a_stream_copies_its_source_through_an_identity_map(source, rng):
    """The skip set to the identity (M = I: all the way to the source): every frame the pile emits is the
    source (each condition image, or the reference), which checks its path through pipeline, pile and UNet."""
    config = tiny_pixel(source)
    models = build_models(config, seed=0)
    set_map(models.unet.skip, np.eye(3))
    pipeline = RainPipeline(models, config, precision="fp32")
    size = config.resolution
    reference, conditions = random_images(rng, 1, size)[0], random_images(rng, 6, size)
    frames = np.stack(list(pipeline.render(reference, conditions, seed=0)))
    expected = conditions if source == "condition" else np.repeat(reference[None], len(conditions), axis=0)
    assert frames.shape == expected.shape
    assert np.abs(frames.astype(int) - expected).max() <= 1


def test_the_unet_and_the_config_refuse_a_skip_they_cannot_run():
    config = tiny_pixel("condition")
    with pytest.raises(ValueError, match="colour_skip must be one of"):
        dataclasses.replace(config, unet=dataclasses.replace(config.unet, colour_skip="camera")).validate()
    with pytest.raises(ValueError, match="pixel-space VAE"):
        dataclasses.replace(tiny(), unet=dataclasses.replace(tiny().unet, colour_skip="reference")).validate()
    with pytest.raises(ValueError, match="no anchor"):
        dataclasses.replace(config, pile=PileConfig(reference_input=True, anchor=True)).validate()
    with pytest.raises(ValueError, match="needs the condition images' latents"):
        colour_source("condition", torch.zeros(1, 192, 4, 4), None, frames=2)
    unet = build_models(config, seed=0).unet
    h, f = config.latent_size, 2
    args = (torch.randn(1, 192, f, h, h), torch.zeros(1, f, dtype=torch.long),
            torch.randn(1, 1, config.unet.cross_attention_dim))
    with pytest.raises(ValueError, match="needs its source latent"):
        unet(*args)
    plain = build_models(tiny_pixel(), seed=0).unet
    with pytest.raises(ValueError, match="one without takes none"):
        plain(*args, source=torch.randn(1, 192, f, h, h))


def test_a_grown_colour_skip_starts_as_a_no_op_then_trains_saves_and_loads(tmp_path, rng):
    """`--colour-skip condition` on a model without one: the same frames at first; after training the skip has
    moved, the export records its source and streams with it; the source of a grown skip cannot change."""
    config = tiny_pixel()
    save_models(build_models(config, seed=0), config, tmp_path / "init")
    reference, conditions = random_images(rng, 1, config.resolution)[0], random_images(rng, 4, config.resolution)
    before = np.stack(list(RainPipeline(*load_models(tmp_path / "init"), precision="fp32").render(reference, conditions)))

    cfg = TrainConfig(stage="pile", steps=3, batch_size=1, save_every=3, log_every=1, mixed_precision="no",
                      colour_skip="condition", lr=1e-2)
    grown_models, grown_config = load_models(tmp_path / "init")
    grown_config = with_colour_skip(grown_models, grown_config, "condition")
    grown = np.stack(list(RainPipeline(grown_models, grown_config, precision="fp32").render(reference, conditions)))
    assert np.array_equal(before, grown)  # zero-initialised: a no-op

    model = train_rain(cfg, tmp_path / "init", tmp_path / "run")
    trained, trained_config = load_models(model)  # strict: the skip's tensors are in unet.safetensors
    assert trained_config.unet.colour_skip == "condition" and trained.unet.skip is not None
    assert trained.unet.skip.coefficients.weight.abs().sum() > 0  # it learned
    after = np.stack(list(RainPipeline(trained, trained_config, precision="fp32").render(reference, conditions)))
    assert after.shape == before.shape and not np.array_equal(after, before)
    with pytest.raises(ValueError, match="cannot change it"):
        train_rain(dataclasses.replace(cfg, colour_skip="reference"), model, tmp_path / "run2")


def random_maps(skip: ColourSkip, seed: int = 0) -> None:
    """A different colour map in every patch: random conv weights, small enough to stay a colour map."""
    torch.manual_seed(seed)
    with torch.no_grad():
        skip.coefficients.weight.normal_(0, 0.02)
        skip.coefficients.bias.copy_(torch.tensor([*np.ravel(np.eye(3)), 0.0, 0.0, 0.0]) / RATE)


def test_smooth_maps_meet_the_per_patch_maps_at_patch_centres_with_no_seam():
    """Smooth maps (`colour_skip_smooth`): one map in every patch gives the per-patch output exactly; different
    maps are interpolated, so each patch's centre pixel (5x5 patches have one) gets its own patch's map, and no step
    between neighbouring pixels at a patch border is larger than the steps inside a patch (per-patch maps jump)."""
    blocky, smooth = ColourSkip(in_channels=8), ColourSkip(in_channels=8, smooth=True)
    features, base = torch.randn(1, 8, 4, 4), torch.zeros(1, 75, 4, 4)
    grey = F.pixel_unshuffle(torch.full((1, 3, 20, 20), 0.5), 5)  # a flat source: the output shows the maps alone
    set_map(blocky, SWAP_RED_BLUE, (0.1, 0.2, 0.3))
    set_map(smooth, SWAP_RED_BLUE, (0.1, 0.2, 0.3))
    image = F.pixel_unshuffle(torch.rand(1, 3, 20, 20), 5)
    torch.testing.assert_close(smooth(features, base, image), blocky(features, base, image))
    random_maps(blocky)
    smooth.load_state_dict(blocky.state_dict())
    per_patch = F.pixel_shuffle(blocky(features, base, grey), 5)[0]  # (3, 20, 20)
    interpolated = F.pixel_shuffle(smooth(features, base, grey), 5)[0]
    torch.testing.assert_close(interpolated[:, 2::5, 2::5], per_patch[:, 2::5, 2::5])
    assert not torch.allclose(interpolated, per_patch)
    for frame, seam in ((per_patch, True), (interpolated, False)):
        steps = (frame[:, :, 1:] - frame[:, :, :-1]).abs().amax(dim=(0, 1))  # (19,): between columns x and x + 1
        border, inside = steps[4::5].max(), steps[[x for x in range(19) if x % 5 != 4]].max()
        assert (border > 1e-3 and inside == 0) if seam else (border <= inside + 1e-6)
    with pytest.raises(ValueError, match="square patches"):
        smooth(torch.randn(1, 8, 4, 4), torch.randn(1, 6, 4, 4), torch.randn(1, 6, 4, 4))


@pytest.mark.parametrize("patch", [5, 16])
def test_per_pixel_maps_match_torch_bilinear_interpolation(patch):
    """Parity with a reference implementation: per_pixel's precomputed weights give F.interpolate's bilinear
    upsampling (half-pixel centres, edges clamped) in pixel_unshuffle's layout."""
    coeffs = torch.randn(2, 12, 4, 3)
    expected = F.pixel_unshuffle(F.interpolate(coeffs, scale_factor=patch, mode="bilinear", align_corners=False), patch)
    torch.testing.assert_close(per_pixel(coeffs, patch), expected.reshape(2, 12, patch * patch, 4, 3))


def test_smooth_maps_are_switched_on_by_a_stage_saved_and_refused_without_a_skip(tmp_path):
    config = tiny_pixel("condition")
    models = build_models(config, seed=0)
    assert not models.unet.skip.smooth
    smoothed = with_smooth_maps(models, config, 1)
    assert smoothed.unet.colour_skip_smooth and models.unet.skip.smooth
    assert with_smooth_maps(models, smoothed, 0) is smoothed  # 0 keeps the model's setting
    save_models(models, smoothed, tmp_path / "m")
    loaded, loaded_config = load_models(tmp_path / "m")
    assert loaded_config.unet.colour_skip_smooth and loaded.unet.skip.smooth
    with pytest.raises(ValueError, match="is 1 .* or 0"):
        with_smooth_maps(models, config, 2)
    plain = tiny_pixel()
    with pytest.raises(ValueError, match="has no colour skip"):
        with_smooth_maps(build_models(plain, seed=0), plain, 1)
    with pytest.raises(ValueError, match="has no colour skip"):
        dataclasses.replace(plain, unet=dataclasses.replace(plain.unet, colour_skip_smooth=True)).validate()
