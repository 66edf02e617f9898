"""The style preset's grade reader (rain/models/grade_reader.py) and its training stage (rain/train/grade_reader.py)."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import fitted_losses, reader_stage_run
from test_style_preset import photo, preset_config, psnr
from rain.checkpoint import save_models
from rain.config import PresetConfig
from rain.images import to_tensor
from rain.models import build_models
from rain.models.grade_reader import GRADE_SCALES, GradeReader, grade_controls
from rain.models.style_preset import StylePreset
from rain.train.grade_reader import GradedExemplars, grade_parameters, grade_step, handed_over, train_grade_reader
from rain.worlds.style_filters import Style, grade


def graded_style(hue: int = -23, sat: float = 1.5, contrast: float = 1.3, gamma=(0.7, 1.1, 1.35)) -> Style:
    return Style("grade", (("hue", hue), ("sat", sat), ("contrast", contrast), ("gamma", gamma), ("vignette", 0.0)))


def test_a_grades_parameters_through_grade_controls_reproduce_the_worlds_grade():
    """The reader's parametric grade is the world's: its true parameters, written into a preset, give `grade`."""
    img, style = photo(5), graded_style()
    hue, log_sat, curves = grade_controls(grade_parameters(style)[None], 256)
    preset = StylePreset(PresetConfig(width=2, knots=256))
    raw = torch.zeros(1, preset.num_controls)
    raw[0, 256 * 3: 256 * 6] = (curves[0] - torch.linspace(0, 1, 256)).flatten()
    raw[0, -6:] = torch.tensor([0.0, float(hue), float(log_sat), -30.0, 0.0, -30.0])
    out = preset.apply(to_tensor(img)[None], raw)[0].permute(1, 2, 0).numpy() * 255
    assert psnr(out, grade(img, style)) > 35
    with pytest.raises(ValueError, match="learns grades"):
        grade_parameters(Style("palette", (("blur", 1.0),)))


def test_graded_exemplars_are_deterministic_for_a_seed_and_span_the_worlds_grades():
    a, b, c = (iter(GradedExemplars(64, s)) for s in (3, 3, 4))
    first = [next(a) for _ in range(12)]
    assert all(torch.equal(x["reference"], next(b)["reference"]) for x in first)
    assert not torch.equal(first[0]["reference"], next(c)["reference"])
    params = torch.stack([x["params"] for x in first]) * GRADE_SCALES  # back to turns and logs
    assert first[0]["reference"].shape == (3, 64, 64)
    assert params[:, 0].abs().max() <= 40 / 180 + 1e-6 and params[:, 1:4].abs().max() <= 0.4 + 1e-6
    assert params[:, 0].std() > 0.03 and params[:, 5].std() > 0.1  # grades differ from sample to sample


def test_a_preset_with_a_handed_over_grade_reader_grades_as_the_reader_reads():
    config = PresetConfig(width=4, knots=8, size=32, hidden=16, grade=4)
    preset = handed_over(StylePreset(config))
    exemplar = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        controls = preset.controls(preset.read(exemplar))
        hue, log_sat, curves = grade_controls(preset.grade(preset.resized(exemplar)), 8)
    assert preset.resized(exemplar).shape == (2, 3, 32, 32)
    assert torch.allclose(controls["hue"], hue, atol=1e-5)
    assert torch.allclose(controls["saturation"], log_sat.exp(), atol=1e-5)
    assert torch.allclose(controls["curves"], curves, atol=1e-5)


def test_the_grade_reader_learns_a_batch_of_grades():
    preset = StylePreset(PresetConfig(width=4, knots=8, size=32, hidden=16, grade=4))
    batch = next(iter(torch.utils.data.DataLoader(GradedExemplars(32, 1), batch_size=8)))
    first, last = fitted_losses(grade_step, preset, preset.grade, batch, steps=60)
    assert last < 0.5 * first


def test_the_grade_reader_stage_exports_the_reader_and_hands_the_grade_over(tmp_path):
    config = preset_config()
    cfg, models, trained = reader_stage_run(tmp_path, config, train_grade_reader, "grade-reader", grade_reader=4)
    preset, k = trained[0].preset, config.preset.knots
    assert trained[1].preset.grade == 4 and isinstance(preset.grade, GradeReader)
    assert preset.mlp[-1].weight[3 * k: 6 * k].abs().sum() == 0 and preset.mlp[-1].bias[6 * k + 1: 6 * k + 3].abs().sum() == 0
    assert torch.equal(preset.mlp[-1].weight[: 3 * k], models.preset.mlp[-1].weight[: 3 * k])  # the gradient map: kept
    assert torch.equal(preset.reader[0].weight, models.preset.reader[0].weight)  # only the grade reader trains
    no_preset = dataclasses.replace(config, preset=PresetConfig())
    save_models(build_models(no_preset, seed=0), no_preset, tmp_path / "bare")
    with pytest.raises(ValueError, match="no style preset"):
        train_grade_reader(cfg, tmp_path / "bare", tmp_path / "run2")
    with pytest.raises(ValueError, match="--grade-reader"):
        train_grade_reader(dataclasses.replace(cfg, grade_reader=0), tmp_path / "init", tmp_path / "run3")
    with pytest.raises(ValueError, match="PresetConfig.grade"):
        dataclasses.replace(config, preset=dataclasses.replace(config.preset, grade=-2)).validate()
