"""Stage `preset`: a style preset (rain/models/style_preset.py) for an img2img model, trained alone.

1. Fresh style-world samples (training seeds): the exemplar, one camera frame as the pipeline sees it (the
   condition image) and that frame in the exemplar's style.
2. Train only the preset: read the exemplar, restyle the camera frame, MSE against the styled truth.
3. Export the model folder with the preset (the other parts unchanged). The pile then receives restyled
   camera frames; a later pile stage on that folder trains the UNet on them (the preset stays frozen).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from rain.checkpoint import load_models, save_models
from rain.config import PresetConfig
from rain.models.style_preset import StylePreset
from rain.train import loop
from rain.train.config import TrainConfig, kept_setting
from rain.train.data import ClipStream

logger = logging.getLogger(__name__)


def preset_step(preset: torch.nn.Module, batch: dict, generator: torch.Generator) -> dict:
    camera = batch["conditions"][:, :, 0]  # (b, 3, S, S): one frame per sample
    truth = batch["frames"][:, :, 0]
    restyled = preset(camera, batch["reference"])
    mse = F.mse_loss(restyled, truth)
    return {"loss": mse, "psnr": 10 * torch.log10(1 / mse.detach())}


def regrown(preset: StylePreset, config: PresetConfig) -> StylePreset:
    """`preset` with the config `config` (only `max_blur` may differ): the same weights, plus a zero-initialised
    sharpness input when a read blur is new."""
    if config == preset.config:
        return preset
    if dataclasses.replace(config, max_blur=preset.config.max_blur) != preset.config:
        raise ValueError(f"a retrained preset keeps its shape ({preset.config}); only its blur can change, got {config}")
    new = StylePreset(config)
    missing, unexpected = new.load_state_dict(preset.state_dict(), strict=False)
    if unexpected or any(not k.startswith("sharpness.") for k in missing):
        raise ValueError(f"cannot regrow the preset: missing {missing}, unexpected {unexpected}")
    return new


def train_preset(cfg: TrainConfig, init: Path, out: Path) -> Path:
    """Stage `preset` from the model folder `init` (its other parts frozen); exports `out/model`."""
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
    config = dataclasses.replace(config, preset=preset_config)
    config.validate()

    # 1. a fresh preset, or the model's own to retrain (regrown if its blur changes); samples from training seeds
    torch.manual_seed(cfg.seed)
    preset = regrown(models.preset, preset_config) if own.width else StylePreset(preset_config)
    stream = ClipStream(cfg.world, 1, config.resolution, cfg.seed, cfg.style_families, cfg.face_condition)
    loader = torch.utils.data.DataLoader(stream, batch_size=cfg.batch_size, num_workers=cfg.num_workers)

    # 2. the preset alone
    preset = loop.run(cfg, preset.train().requires_grad_(True), loader, preset_step, out)

    # 3. export
    save_models(dataclasses.replace(models, preset=preset.eval()), config, out / "model")
    logger.info("preset stage exported to %s", out / "model")
    return out / "model"
