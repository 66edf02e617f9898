"""Stage `preset`: a style preset (rain/models/style_preset.py) for an img2img model, trained alone.

1. Fresh style-world samples (training seeds): the exemplar, one camera frame as the pipeline sees it (the
   condition image), that frame in the exemplar's style, and the controls the style fixes (`palette_controls`).
2. Train only the preset: read the exemplar, restyle the camera frame, MSE against the styled truth; with
   `--preset-supervision W`, plus W times a loss on the controls a palette fixes (`control_loss`).
3. Export the model folder with the preset (the other parts unchanged). The pile then receives restyled
   camera frames; a later pile stage on that folder trains the UNet on them (the preset stays frozen).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rain.checkpoint import load_models, save_models
from rain.config import PresetConfig
from rain.models.style_preset import StylePreset
from rain.train import loop
from rain.train.config import TrainConfig, kept_setting
from rain.train.data import ClipStream, clip_tensors
from rain.worlds.style_filters import Style
from rain.worlds.style_world import StyleWorld

logger = logging.getLogger(__name__)


def palette_controls(style: Style) -> dict[str, torch.Tensor]:
    """The preset controls a style of the world fixes. A palette is a pure gradient map (mix 1) of the grey level,
    blurred by its sigma in px and equalised or not. Other families fix none of them (`palette` 0 masks them out:
    a grade's best mix depends on how well the reader reads its tone curves)."""
    palette = style.family == "palette"
    return {"palette": torch.tensor(float(palette)),
            "equalise": torch.tensor(float(palette and bool(style.get("equalize")))),
            "blur": torch.tensor(float(style.get("blur")) if palette else 0.0)}


class PresetSamples(ClipStream):
    """`ClipStream`'s one-frame style clips (the same samples for a seed), with `palette_controls` of each."""

    def __init__(self, size: int, seed: int, style_families: str = "") -> None:
        super().__init__("style", 1, size, seed, style_families)

    def sample(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        world = StyleWorld(rng, 1, self.size, self.config)
        return {**clip_tensors(world.to_clip()), **palette_controls(world.style)}


def control_loss(controls: dict[str, torch.Tensor], batch: dict, max_blur: float) -> torch.Tensor:
    """Mean over the batch's palette samples of BCE(mix, 1) + BCE(equalise, the style's flag), plus the squared
    blur error in units of `max_blur` when the preset reads a blur (0 for a batch without palettes)."""
    mask = batch["palette"]  # (b,)
    def bce(p: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), target, reduction="none")
    terms = bce(controls["mix"], torch.ones_like(mask)) + bce(controls["equalise"], batch["equalise"])
    if max_blur > 0:
        terms = terms + (controls["blur"] - batch["blur"] / max_blur) ** 2
    return (terms * mask).sum() / mask.sum().clamp(min=1)


def preset_step(preset: torch.nn.Module, batch: dict, generator: torch.Generator, supervision: float = 0.0) -> dict:
    camera = batch["conditions"][:, :, 0]  # (b, 3, S, S): one frame per sample
    truth = batch["frames"][:, :, 0]
    raw = preset.read(batch["reference"])  # (b, num_controls)
    mse = F.mse_loss(preset.apply(camera, raw), truth)
    losses = {"loss": mse, "psnr": 10 * torch.log10(1 / mse.detach())}
    if supervision:
        controls = control_loss(preset.controls(raw), batch, preset.config.max_blur)
        losses.update(loss=mse + supervision * controls, controls=controls.detach())
    return losses


def regrown(preset: StylePreset, config: PresetConfig) -> StylePreset:
    """`preset` with the config `config` (only `max_blur` and `detail` may differ): the same weights, plus
    zero-initialised inputs for a read blur's sharpness or a detail reader that are new."""
    if config == preset.config:
        return preset
    if dataclasses.replace(config, max_blur=preset.config.max_blur, detail=preset.config.detail) != preset.config:
        raise ValueError(f"a retrained preset keeps its shape ({preset.config}); only its blur and detail reader can "
                         f"change, got {config}")
    if preset.config.detail and config.detail != preset.config.detail:
        raise ValueError(f"the preset has a detail reader of {preset.config.detail} channels; it cannot change to "
                         f"{config.detail}")
    new = StylePreset(config)
    missing, unexpected = new.load_state_dict(preset.state_dict(), strict=False)
    if unexpected or any(not k.startswith(("sharpness.", "detail.")) for k in missing):
        raise ValueError(f"cannot regrow the preset: missing {missing}, unexpected {unexpected}")
    return new


def train_preset(cfg: TrainConfig, init: Path, out: Path) -> Path:
    """Stage `preset` from the model folder `init` (its other parts frozen); exports `out/model`."""
    if cfg.world != "style":
        raise ValueError(f"a preset learns styles: train it on the style world, not {cfg.world!r}")
    models, config = load_models(init)
    own = config.preset
    width = kept_setting(init, own, "width", cfg.style_preset, "--style-preset")
    if not width:
        raise ValueError(f"{init} has no preset: give --style-preset WIDTH to grow one")
    if config.pile.entry != "latent":
        raise ValueError(f"{init} is not an img2img model (pile.entry {config.pile.entry!r}): a preset restyles the "
                         "camera frames that enter an img2img pile")
    preset_config = own if own.width else dataclasses.replace(PresetConfig(), width=width)
    if cfg.preset_blur:
        preset_config = dataclasses.replace(preset_config, max_blur=cfg.preset_blur)
    if cfg.preset_detail:
        preset_config = dataclasses.replace(preset_config, detail=cfg.preset_detail)
    config = dataclasses.replace(config, preset=preset_config)
    config.validate()

    # 1. a fresh preset, or the model's own to retrain (regrown if its blur changes); samples from training seeds
    torch.manual_seed(cfg.seed)
    preset = regrown(models.preset, preset_config) if own.width else StylePreset(preset_config)
    stream = PresetSamples(config.resolution, cfg.seed, cfg.style_families)
    loader = torch.utils.data.DataLoader(stream, batch_size=cfg.batch_size, num_workers=cfg.num_workers)

    # 2. the preset alone (plus the controls a palette fixes, with --preset-supervision)
    step = functools.partial(preset_step, supervision=cfg.preset_supervision)
    preset = loop.run(cfg, preset.train().requires_grad_(True), loader, step, out)

    # 3. export
    save_models(dataclasses.replace(models, preset=preset.eval()), config, out / "model")
    logger.info("preset stage exported to %s", out / "model")
    return out / "model"
