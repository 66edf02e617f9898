"""Stage `mix-reader`: the style preset's mix reader (rain/models/mix_reader.py), trained alone on fresh exemplars of
palettes and grades (rain/train/reader_stage.py): binary cross-entropy of its logit against the family (1 = a
palette's gradient map, 0 = a grade). At export the MLP's own mix output is zeroed, so the preset's mix is the
reader's.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from rain.models.style_preset import StylePreset
from rain.train.config import TrainConfig
from rain.train.reader_stage import Reader, train_reader, without_mlp_rows
from rain.worlds.style_filters import Style

MIXED_FAMILIES = {"palette": 1.0, "grade": 0.0}  # the families the preset mixes, and the mix that renders each


def mix_target(style: Style) -> torch.Tensor:
    """A palette or grade style -> (1,) the mix that renders it (MIXED_FAMILIES)."""
    if style.family not in MIXED_FAMILIES:
        raise ValueError(f"a mix reader tells {' from '.join(MIXED_FAMILIES)}, not {style.family!r}")
    return torch.tensor([MIXED_FAMILIES[style.family]])


def mix_step(preset: StylePreset, batch: dict, generator: torch.Generator) -> dict:
    logit = preset.mix_reader(batch["reference"]).float()
    return {"loss": F.binary_cross_entropy_with_logits(logit, batch["params"][:, 0])}


def mix_handed_over(preset: StylePreset) -> StylePreset:
    """Zero the MLP's own mix output: the preset's mix becomes the reader's."""
    return without_mlp_rows(preset, 6 * preset.config.knots + 5)


MIX_READER = Reader(field="mix_reader", flag="--mix-reader", families=tuple(MIXED_FAMILIES), target=mix_target,
                    step=mix_step, hand_over=mix_handed_over)


def train_mix_reader(cfg: TrainConfig, init: Path, out: Path) -> Path:
    """Stage `mix-reader` from the model folder `init` (a model with a style preset); exports `out/model`."""
    return train_reader(MIX_READER, cfg.mix_reader, cfg, init, out)
