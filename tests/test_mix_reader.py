"""The style preset's mix reader (rain/models/mix_reader.py) and its training stage (rain/train/mix_reader.py)."""

import dataclasses

import pytest
import torch

from conftest import fitted_losses, reader_stage_run
from test_style_preset import photo, preset_config
from rain.config import PresetConfig
from rain.images import to_tensor
from rain.models.mix_reader import MixReader
from rain.models.style_preset import StylePreset
from rain.train.mix_reader import MIX_READER, mix_handed_over, mix_step, mix_target, train_mix_reader
from rain.train.reader_stage import StyledExemplars
from rain.worlds.style_filters import Style


def mixed_exemplars(size: int, seed: int) -> StyledExemplars:
    return StyledExemplars(size, seed, MIX_READER.families, mix_target)


def test_mixed_exemplars_are_deterministic_for_a_seed_and_hold_both_families():
    a, b, c = (iter(mixed_exemplars(48, s)) for s in (3, 3, 4))
    first = [next(a) for _ in range(16)]
    assert all(torch.equal(x["reference"], next(b)["reference"]) for x in first)
    assert not torch.equal(first[0]["reference"], next(c)["reference"])
    targets = torch.cat([x["params"] for x in first])
    assert set(targets.tolist()) == {0.0, 1.0}  # palettes (1) and grades (0) both drawn
    assert first[0]["reference"].shape == (3, 48, 48)
    with pytest.raises(ValueError, match="tells palette from grade, not 'toon'"):
        mix_target(Style("toon", (("levels", 4),)))


def test_a_handed_over_mix_reader_sets_the_mix():
    preset = mix_handed_over(StylePreset(PresetConfig(width=4, knots=8, size=32, hidden=16, mix_reader=4)))
    exemplar = to_tensor(photo(5))[None]
    with torch.no_grad():
        logit = preset.mix_reader(exemplar)
        assert torch.allclose(preset.controls(preset.read(exemplar))["mix"], torch.sigmoid(logit), atol=1e-6)
        preset.mix_reader.head[-1].bias.fill_(30.0)  # a reader sure of a gradient map: the frame is the pure map
        assert float(preset.controls(preset.read(exemplar))["mix"][0]) > 0.999
        preset.mix_reader.head[-1].bias.fill_(-30.0)  # ... and sure of a grade: the pure grade
        assert float(preset.controls(preset.read(exemplar))["mix"][0]) < 1e-3


def test_the_mix_reader_learns_a_batch_of_families():
    preset = StylePreset(PresetConfig(width=4, knots=8, size=32, hidden=16, mix_reader=4))
    batch = next(iter(torch.utils.data.DataLoader(mixed_exemplars(48, 1), batch_size=8)))
    first, last = fitted_losses(mix_step, preset, preset.mix_reader, batch, steps=80)
    assert last < 0.5 * first


def test_the_mix_reader_stage_exports_the_reader_and_hands_the_mix_over(tmp_path):
    config = preset_config()
    cfg, models, trained = reader_stage_run(tmp_path, config, train_mix_reader, "mix-reader", mix_reader=4)
    preset, k = trained[0].preset, config.preset.knots
    assert trained[1].preset.mix_reader == 4 and isinstance(preset.mix_reader, MixReader)
    assert preset.mlp[-1].weight[6 * k + 5].abs().sum() == 0 and preset.mlp[-1].bias[6 * k + 5] == 0
    assert torch.equal(preset.mlp[-1].weight[: 6 * k + 5], models.preset.mlp[-1].weight[: 6 * k + 5])  # kept
    assert torch.equal(preset.reader[0].weight, models.preset.reader[0].weight)  # only the mix reader trains
    with pytest.raises(ValueError, match="--mix-reader"):
        train_mix_reader(dataclasses.replace(cfg, mix_reader=0), tmp_path / "init", tmp_path / "run2")
    with pytest.raises(ValueError, match="PresetConfig.mix_reader"):
        dataclasses.replace(config, preset=dataclasses.replace(config.preset, mix_reader=-1)).validate()
