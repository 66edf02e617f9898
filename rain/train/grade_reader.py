"""Stage `grade-reader`: the style preset's grade reader (rain/models/grade_reader.py), trained alone on fresh graded
exemplars (rain/train/reader_stage.py): MSE on the grade's parameters in units of GRADE_SCALES. At export the MLP's
own hue, saturation and tone-curve outputs are zeroed, so the preset's grade starts as the reader's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rain.models.grade_reader import GRADE_SCALES
from rain.models.style_preset import StylePreset
from rain.train.config import TrainConfig
from rain.train.reader_stage import Reader, StyledExemplars, train_reader, without_mlp_rows
from rain.worlds.style_filters import Style


def grade_parameters(style: Style) -> torch.Tensor:
    """A grade style -> its (6,) parameters in units of GRADE_SCALES (GRADE_PARAMS' order)."""
    if style.family != "grade":
        raise ValueError(f"a grade reader learns grades, not {style.family!r}")
    raw = [style.get("hue") / 180.0, *np.log(style.get("gamma")), np.log(style.get("contrast")),
           np.log(style.get("sat"))]
    return torch.tensor(raw, dtype=torch.float32) / GRADE_SCALES


class GradedExemplars(StyledExemplars):
    """Endless {"reference": (3, S, S) graded content in [0, 1], "params": (6,)} from training seeds."""

    def __init__(self, size: int, seed: int) -> None:
        super().__init__(size, seed, ("grade",), grade_parameters)


def grade_step(preset: StylePreset, batch: dict, generator: torch.Generator) -> dict:
    loss = F.mse_loss(preset.grade(preset.resized(batch["reference"])), batch["params"])
    return {"loss": loss}


def handed_over(preset: StylePreset) -> StylePreset:
    """Zero the MLP's own hue, saturation and tone-curve outputs: the preset's grade becomes the reader's."""
    k = preset.config.knots
    return without_mlp_rows(preset, slice(3 * k, 6 * k), slice(6 * k + 1, 6 * k + 3))


GRADE_READER = Reader(field="grade", flag="--grade-reader", families=("grade",), target=grade_parameters,
                      step=grade_step, hand_over=handed_over)


def train_grade_reader(cfg: TrainConfig, init: Path, out: Path) -> Path:
    """Stage `grade-reader` from the model folder `init` (a model with a preset); exports `out/model`."""
    return train_reader(GRADE_READER, cfg.grade_reader, cfg, init, out)
