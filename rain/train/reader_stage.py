"""One of the style preset's readers trained alone on fresh styled exemplars (stages `grade-reader`, `blur-reader`,
`mix-reader`).

A reader reads one part of a style off the exemplar (a grade's parameters, a palette's blur). The preset stage sees 8
world samples a step; a reader trained alone sees a fresh exemplar in a fresh style for every sample, far more
styles than the preset stage can show it.

1. The model's preset with the reader (a new one is random), and endless exemplars: a content frame of the style
   world's sources (training seeds), mirrored or not, in a random style of the reader's families; what the reader
   should read of that style is the target.
2. Train only the reader, on its own loss.
3. Export the model folder. The MLP's own outputs for what the reader reads are zeroed (`hand_over`), so those
   controls start as the reader's; a later preset stage can train the rest on top.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from rain.checkpoint import load_models, save_models
from rain.images import to_tensor
from rain.models.style_preset import StylePreset
from rain.train import loop
from rain.train.config import HELD_OUT_SEED_START, TrainConfig
from rain.train.preset import regrown
from rain.worlds.config import StyleWorldConfig
from rain.worlds.style_filters import Style, apply_style, sample_style
from rain.worlds.style_sources import sample_source

logger = logging.getLogger(__name__)


class StyledExemplars(torch.utils.data.IterableDataset):
    """Endless {"reference": (3, S, S) content in a fresh style of one of `families`, in [0, 1], "params":
    target(style)} from training seeds."""

    def __init__(self, size: int, seed: int, families: tuple[str, ...],
                 target: Callable[[Style], torch.Tensor]) -> None:
        super().__init__()
        self.size, self.seed, self.config = size, seed, StyleWorldConfig(size=size)
        self.families, self.target = families, target

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, 0 if info is None else info.id])
        while True:
            yield self.sample(np.random.default_rng(int(rng.integers(0, HELD_OUT_SEED_START))))

    def sample(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        content = sample_source(rng, 1, self.size, self.config).frame(0)
        style = sample_style(rng, self.families)
        image = apply_style(content if rng.random() < 0.5 else content[:, ::-1].copy(), style)
        return {"reference": to_tensor(image), "params": self.target(style)}


def without_mlp_rows(preset: StylePreset, *rows: int | slice) -> StylePreset:
    """Zero the preset MLP's outputs at `rows` (in place; returns the preset): the controls a reader now provides."""
    last = preset.mlp[-1]
    with torch.no_grad():
        for r in rows:
            last.weight[r] = 0
            last.bias[r] = 0
    return preset


@dataclass(frozen=True)
class Reader:
    """What a reader stage needs to know about its reader."""

    field: str  # the PresetConfig field of its width, also the preset's attribute that holds it
    flag: str  # the command-line flag that grows one
    families: tuple[str, ...]  # the style families its exemplars are drawn in
    target: Callable[[Style], torch.Tensor]  # a style -> what the reader should read
    step: Callable[[StylePreset, dict, torch.Generator], dict]  # (preset, batch, generator) -> {"loss": ...}
    hand_over: Callable[[StylePreset], StylePreset]  # zero the MLP's outputs the reader now provides


def train_reader(reader: Reader, width: int, cfg: TrainConfig, init: Path, out: Path) -> Path:
    """Train `reader` (of `width` channels; 0 keeps the model's own) from the model folder `init`; exports
    `out/model`."""
    models, config = load_models(init)
    if not config.preset.width:
        raise ValueError(f"{init} has no style preset: train one first (--stage preset)")
    width = width or getattr(config.preset, reader.field)
    if not width:
        raise ValueError(f"give {reader.flag} CHANNELS to grow a {reader.flag[2:].replace('-', ' ')}")
    preset_config = dataclasses.replace(config.preset, **{reader.field: width})
    config = dataclasses.replace(config, preset=preset_config)
    config.validate()

    # 1. the model's preset with a fresh reader (or its own); exemplars from training seeds
    torch.manual_seed(cfg.seed)
    preset = regrown(models.preset, preset_config)
    data = StyledExemplars(config.resolution, cfg.seed, reader.families, reader.target)
    loader = torch.utils.data.DataLoader(data, batch_size=cfg.batch_size, num_workers=cfg.num_workers)

    # 2. the reader alone
    preset.requires_grad_(False)
    getattr(preset, reader.field).requires_grad_(True)
    preset = loop.run(cfg, preset.train(), loader, reader.step, out)

    # 3. export, what the reader reads handed over to it
    save_models(dataclasses.replace(models, preset=reader.hand_over(preset.eval())), config, out / "model")
    logger.info("%s stage exported to %s", reader.field.replace("_", "-"), out / "model")
    return out / "model"
