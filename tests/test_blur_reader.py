"""The style preset's blur reader (rain/models/blur_reader.py) and its training stage (rain/train/blur_reader.py)."""

import dataclasses
import math

import pytest
import torch

from conftest import fitted_losses, reader_stage_run
from test_style_preset import photo, preset_config, psnr
from rain.config import PresetConfig
from rain.images import to_tensor
from rain.models.blur_reader import BlurReader
from rain.models.style_preset import StylePreset
from rain.train.blur_reader import BlurredExemplars, blur_handed_over, blur_sigma, blur_step, train_blur_reader
from rain.worlds.style_filters import Style, palette

PALETTE = ((20, 10, 60), (90, 40, 120), (200, 120, 90), (250, 230, 180))


def palette_style(blur: float) -> Style:
    return Style("palette", (("palette", PALETTE), ("smooth", True), ("blur", blur), ("equalize", False)))


def test_blurred_exemplars_are_deterministic_for_a_seed_and_span_the_worlds_blurs():
    a, b, c = (iter(BlurredExemplars(64, s)) for s in (3, 3, 4))
    first = [next(a) for _ in range(16)]
    assert all(torch.equal(x["reference"], next(b)["reference"]) for x in first)
    assert not torch.equal(first[0]["reference"], next(c)["reference"])
    sigmas = torch.cat([x["params"] for x in first])
    assert first[0]["reference"].shape == (3, 64, 64)
    assert sigmas.min() >= 0.5 and sigmas.max() <= 2.5 and sigmas.std() > 0.2
    with pytest.raises(ValueError, match="palettes' blur"):
        blur_sigma(Style("grade", (("hue", 3),)))


def test_a_handed_over_blur_reader_sets_the_blur_and_its_true_sigma_restyles_as_the_world():
    config = PresetConfig(width=4, knots=256, size=32, hidden=16, max_blur=3.0, blur_reader=4)
    preset = blur_handed_over(StylePreset(config))
    img = photo(5)
    exemplar = to_tensor(img)[None]
    with torch.no_grad():
        raw = preset.read(exemplar)
        read = preset.controls(raw)["blur"]
        assert torch.allclose(read, torch.sigmoid(preset.blur_reader(exemplar)), atol=1e-6)
        # the true sigma, with a pure gradient map of the palette's ramp, gives the world's palette
        style, k = palette_style(1.7), 256
        raw = torch.zeros(1, preset.num_controls)
        ramp = torch.tensor([[c[i] for c in PALETTE] for i in range(3)], dtype=torch.float32) / 255
        x = torch.linspace(0, 1, k) * (len(PALETTE) - 1)
        lo = x.floor().clamp(max=len(PALETTE) - 2).long()
        ramp = ramp[:, lo] + (ramp[:, lo + 1] - ramp[:, lo]) * (x - lo)
        raw[0, : 3 * k] = (ramp - torch.linspace(0, 1, k)).flatten()
        raw[0, -6:] = torch.tensor([-30.0, 0.0, 0.0, -30.0, math.log(1.7 / 1.3), 34.0])
        out = preset.apply(exemplar, raw)[0].permute(1, 2, 0).numpy() * 255
    assert psnr(out, palette(img, style)) > 30


def test_the_blur_reader_learns_a_batch_of_blurs():
    preset = StylePreset(PresetConfig(width=4, knots=8, size=32, hidden=16, max_blur=3.0, blur_reader=4))
    batch = next(iter(torch.utils.data.DataLoader(BlurredExemplars(48, 1), batch_size=8)))
    first, last = fitted_losses(blur_step, preset, preset.blur_reader, batch, steps=80)
    assert last < 0.5 * first


def test_the_blur_reader_stage_exports_the_reader_and_hands_the_blur_over(tmp_path):
    config = preset_config()
    config = dataclasses.replace(config, preset=dataclasses.replace(config.preset, max_blur=3.0))
    cfg, models, trained = reader_stage_run(tmp_path, config, train_blur_reader, "blur-reader", blur_reader=4)
    preset, k = trained[0].preset, config.preset.knots
    assert trained[1].preset.blur_reader == 4 and isinstance(preset.blur_reader, BlurReader)
    assert preset.mlp[-1].weight[6 * k + 4].abs().sum() == 0 and preset.mlp[-1].bias[6 * k + 4] == 0
    assert torch.equal(preset.mlp[-1].weight[: 6 * k + 4], models.preset.mlp[-1].weight[: 6 * k + 4])  # kept
    assert torch.equal(preset.reader[0].weight, models.preset.reader[0].weight)  # only the blur reader trains
    with pytest.raises(ValueError, match="--blur-reader"):
        train_blur_reader(dataclasses.replace(cfg, blur_reader=0), tmp_path / "init", tmp_path / "run2")
    with pytest.raises(ValueError, match="needs max_blur"):
        dataclasses.replace(config, preset=dataclasses.replace(config.preset, max_blur=0.0, blur_reader=4)).validate()
    with pytest.raises(ValueError, match="PresetConfig.blur_reader"):
        dataclasses.replace(config, preset=dataclasses.replace(config.preset, blur_reader=-1)).validate()
