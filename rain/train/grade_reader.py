"""Stage `grade-reader`: the style preset's grade reader (rain/models/grade_reader.py), trained alone.

1. Fresh graded exemplars: a content frame of the style world's sources (training seeds), in a random grade of the
   world (`sample_style(..., ("grade",))`), mirrored or not; the grade's parameters are the target. Content and grade
   are drawn anew for every sample (a few ms each), so the reader sees far more grades than the preset stage can.
2. Train only the reader: MSE on the parameters in units of GRADE_SCALES.
3. Export the model folder with the reader in its preset. The MLP's own hue, saturation and tone-curve outputs
   are zeroed, so the preset's grade starts as the reader's; a later preset stage trains the rest on top.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from rain.checkpoint import load_models, save_models
from rain.images import to_tensor
from rain.models.grade_reader import GRADE_SCALES
from rain.models.style_preset import StylePreset
from rain.train import loop
from rain.train.config import HELD_OUT_SEED_START, TrainConfig
from rain.train.preset import regrown
from rain.worlds.config import StyleWorldConfig
from rain.worlds.style_filters import Style, apply_style, sample_style
from rain.worlds.style_sources import sample_source

logger = logging.getLogger(__name__)


def grade_parameters(style: Style) -> torch.Tensor:
    """A grade style -> its (6,) parameters in units of GRADE_SCALES (GRADE_PARAMS' order)."""
    if style.family != "grade":
        raise ValueError(f"a grade reader learns grades, not {style.family!r}")
    raw = [style.get("hue") / 180.0, *np.log(style.get("gamma")), np.log(style.get("contrast")),
           np.log(style.get("sat"))]
    return torch.tensor(raw, dtype=torch.float32) / GRADE_SCALES


class GradedExemplars(torch.utils.data.IterableDataset):
    """Endless {"reference": (3, S, S) graded content in [0, 1], "params": (6,)} from training seeds."""

    def __init__(self, size: int, seed: int) -> None:
        super().__init__()
        self.size, self.seed, self.config = size, seed, StyleWorldConfig(size=size)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, 0 if info is None else info.id])
        while True:
            yield self.sample(np.random.default_rng(int(rng.integers(0, HELD_OUT_SEED_START))))

    def sample(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        content = sample_source(rng, 1, self.size, self.config).frame(0)
        style = sample_style(rng, ("grade",))
        image = apply_style(content if rng.random() < 0.5 else content[:, ::-1].copy(), style)
        return {"reference": to_tensor(image), "params": grade_parameters(style)}


def grade_step(preset: StylePreset, batch: dict, generator: torch.Generator) -> dict:
    loss = F.mse_loss(preset.grade(preset.resized(batch["reference"])), batch["params"])
    return {"loss": loss}


def handed_over(preset: StylePreset) -> StylePreset:
    """Zero the MLP's own hue, saturation and tone-curve outputs: the preset's grade becomes the reader's."""
    k = preset.config.knots
    last = preset.mlp[-1]
    with torch.no_grad():
        for rows in (slice(3 * k, 6 * k), slice(6 * k + 1, 6 * k + 3)):
            last.weight[rows] = 0
            last.bias[rows] = 0
    return preset


def train_grade_reader(cfg: TrainConfig, init: Path, out: Path) -> Path:
    """Stage `grade-reader` from the model folder `init` (a model with a preset); exports `out/model`."""
    models, config = load_models(init)
    if not config.preset.width:
        raise ValueError(f"{init} has no style preset: train one first (--stage preset)")
    width = cfg.grade_reader or config.preset.grade
    if not width:
        raise ValueError("give --grade-reader CHANNELS to grow a grade reader")
    preset_config = dataclasses.replace(config.preset, grade=width)
    config = dataclasses.replace(config, preset=preset_config)
    config.validate()

    # 1. the model's preset with a fresh reader (or its own); graded exemplars from training seeds
    torch.manual_seed(cfg.seed)
    preset = regrown(models.preset, preset_config)
    loader = torch.utils.data.DataLoader(GradedExemplars(config.resolution, cfg.seed), batch_size=cfg.batch_size,
                                         num_workers=cfg.num_workers)

    # 2. the reader alone
    preset.requires_grad_(False).grade.requires_grad_(True)
    preset = loop.run(cfg, preset.train(), loader, grade_step, out)

    # 3. export, the grade handed over to the reader
    save_models(dataclasses.replace(models, preset=handed_over(preset.eval())), config, out / "model")
    logger.info("grade-reader stage exported to %s", out / "model")
    return out / "model"
