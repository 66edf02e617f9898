"""Stage `blur-reader`: the style preset's blur reader (rain/models/blur_reader.py), trained alone on fresh palette
exemplars (rain/train/reader_stage.py): the squared error of the sigma it reads, in px. At export the MLP's own blur
output is zeroed, so the preset's blur is the reader's.
"""

from __future__ import annotations

from pathlib import Path

import torch

from rain.models.style_preset import StylePreset
from rain.train.config import TrainConfig
from rain.train.reader_stage import Reader, StyledExemplars, train_reader, without_mlp_rows
from rain.worlds.style_filters import Style


def blur_sigma(style: Style) -> torch.Tensor:
    """A palette style -> (1,) the sigma (px) its grey level is blurred by."""
    if style.family != "palette":
        raise ValueError(f"a blur reader learns palettes' blur, not {style.family!r}")
    return torch.tensor([style.get("blur")], dtype=torch.float32)


class BlurredExemplars(StyledExemplars):
    """Endless {"reference": (3, S, S) content in a palette, in [0, 1], "params": (1,) its blur in px}."""

    def __init__(self, size: int, seed: int) -> None:
        super().__init__(size, seed, ("palette",), blur_sigma)


def blur_step(preset: StylePreset, batch: dict, generator: torch.Generator) -> dict:
    sigma = torch.sigmoid(preset.blur_reader(batch["reference"]).float()) * preset.config.max_blur
    return {"loss": ((sigma - batch["params"][:, 0]) ** 2).mean()}


def blur_handed_over(preset: StylePreset) -> StylePreset:
    """Zero the MLP's own blur output: the preset's blur becomes the reader's."""
    return without_mlp_rows(preset, 6 * preset.config.knots + 4)


BLUR_READER = Reader(field="blur_reader", flag="--blur-reader", families=("palette",), target=blur_sigma,
                     step=blur_step, hand_over=blur_handed_over)


def train_blur_reader(cfg: TrainConfig, init: Path, out: Path) -> Path:
    """Stage `blur-reader` from the model folder `init` (a model with a preset that reads a blur); exports
    `out/model`."""
    return train_reader(BLUR_READER, cfg.blur_reader, cfg, init, out)
