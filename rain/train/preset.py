"""Stage `preset`: a style preset (rain/models/style_preset.py) for an img2img model, trained alone.

1. Fresh style-world samples (training seeds): the exemplar, one camera frame as the pipeline sees it (the
   condition image), that frame in the exemplar's style, and the controls the style fixes (`style_controls`).
2. Train only the preset: read the exemplar, restyle the camera frame, MSE against the styled truth; with
   `--preset-supervision W`, plus W times a loss on the controls a palette or a grade fixes (`control_loss`).
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
from rain.models.grade_reader import GRADE_PARAMS, GRADE_SCALES
from rain.models.style_preset import StylePreset
from rain.train import loop
from rain.train.config import TrainConfig, kept_setting
from rain.train.data import ClipStream, clip_tensors
from rain.worlds.style_filters import Style, grade_curves
from rain.worlds.style_world import StyleWorld

logger = logging.getLogger(__name__)


def style_controls(style: Style, knots: int) -> dict[str, torch.Tensor]:
    """The preset controls a style of the world fixes.

    - A palette is a pure gradient map (mix 1) of the grey level, blurred by its sigma in px and equalised or not.
    - A grade is a hue rotation (in turns), a saturation gain and a tone curve per channel (at ``knots`` levels); its
      vignette is not labelled, and its best mix is left free (it depends on how well the reader reads the grade).
    Other families fix none of them: the flags ``palette`` and ``grade`` (0 or 1) mask their terms out."""
    palette, graded = style.family == "palette", style.family == "grade"
    levels = np.linspace(0, 1, knots, dtype=np.float32)
    curves = grade_curves(levels, style.get("gamma"), style.get("contrast")) if graded else np.tile(levels, (3, 1))
    return {"palette": torch.tensor(float(palette)),
            "equalise": torch.tensor(float(palette and bool(style.get("equalize")))),
            "blur": torch.tensor(float(style.get("blur")) if palette else 0.0),
            "grade": torch.tensor(float(graded)),
            "hue": torch.tensor(style.get("hue") / 180.0 if graded else 0.0),
            "saturation": torch.tensor(float(style.get("sat")) if graded else 1.0),
            "curves": torch.as_tensor(curves, dtype=torch.float32)}


class PresetSamples(ClipStream):
    """`ClipStream`'s one-frame style clips (the same samples for a seed), with `style_controls` of each."""

    def __init__(self, size: int, seed: int, style_families: str = "", knots: int = PresetConfig.knots) -> None:
        super().__init__("style", 1, size, seed, style_families)
        self.knots = knots

    def sample(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        world = StyleWorld(rng, 1, self.size, self.config)
        return {**clip_tensors(world.to_clip()), **style_controls(world.style, self.knots)}


CURVE_SCALE = 0.1  # the spread of a grade's tone curves at a knot (the hue's and saturation's: GRADE_SCALES)


def control_loss(controls: dict[str, torch.Tensor], batch: dict, max_blur: float) -> torch.Tensor:
    """Mean over the batch of the terms its samples' families fix.

    - Palettes: BCE(mix, 1) + BCE(equalise, the style's flag), plus the squared blur error in units of
      `max_blur` when the preset reads a blur.
    - Grades (when the batch carries them): the squared errors of the hue, the log saturation (in units of their
      spread, GRADE_SCALES) and the tone curves (CURVE_SCALE), averaged.
    0 for a batch of neither."""
    mask = batch["palette"]  # (b,)
    def bce(p: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), target, reduction="none")
    terms = bce(controls["mix"], torch.ones_like(mask)) + bce(controls["equalise"], batch["equalise"])
    if max_blur > 0:
        terms = terms + (controls["blur"] - batch["blur"] / max_blur) ** 2
    terms = terms * mask
    if "grade" in batch:
        mask = mask + batch["grade"]
        scale = dict(zip(GRADE_PARAMS, GRADE_SCALES.tolist()))
        grade = ((controls["hue"] - batch["hue"]) / scale["hue"]) ** 2 \
            + ((controls["saturation"].log() - batch["saturation"].log()) / scale["log_saturation"]) ** 2 \
            + ((controls["curves"] - batch["curves"]) / CURVE_SCALE).pow(2).mean((1, 2))
        terms = terms + grade / 3 * batch["grade"]
    return terms.sum() / mask.sum().clamp(min=1)


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
    """`preset` with the config `config` (only `max_blur`, `detail`, `memory` and the readers `grade`, `blur_reader`
    and `mix_reader` may differ): the same weights, plus zero-initialised inputs for a read blur's sharpness, a detail
    reader or memory colours that are new (a new grade, blur or mix reader is random: its own stage trains it,
    rain/train/reader_stage.py)."""
    if config == preset.config:
        return preset
    own = preset.config
    if dataclasses.replace(config, max_blur=own.max_blur, detail=own.detail, memory=own.memory, grade=own.grade,
                           blur_reader=own.blur_reader, mix_reader=own.mix_reader) != own:
        raise ValueError(f"a retrained preset keeps its shape ({own}); only its blur, detail reader, memory colours, "
                         f"grade, blur and mix readers can change, got {config}")
    for name, what in (("detail", "a detail reader of {} channels"), ("memory", "{} memory colours"),
                       ("grade", "a grade reader of {} channels"), ("blur_reader", "a blur reader of {} channels"),
                       ("mix_reader", "a mix reader of {} channels")):
        if getattr(own, name) and getattr(config, name) != getattr(own, name):
            raise ValueError(f"the preset has {what.format(getattr(own, name))}; it cannot change to "
                             f"{getattr(config, name)}")
    new = StylePreset(config)
    missing, unexpected = new.load_state_dict(preset.state_dict(), strict=False)
    grown = ("sharpness.", "detail.", "memory.", "grade.", "blur_reader.", "mix_reader.")
    if unexpected or any(not k.startswith(grown) for k in missing):
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
    if cfg.preset_memory:
        preset_config = dataclasses.replace(preset_config, memory=cfg.preset_memory)
    config = dataclasses.replace(config, preset=preset_config)
    config.validate()

    # 1. a fresh preset, or the model's own to retrain (regrown if its blur changes); samples from training seeds
    torch.manual_seed(cfg.seed)
    preset = regrown(models.preset, preset_config) if own.width else StylePreset(preset_config)
    stream = PresetSamples(config.resolution, cfg.seed, cfg.style_families, preset_config.knots)
    loader = torch.utils.data.DataLoader(stream, batch_size=cfg.batch_size, num_workers=cfg.num_workers)

    # 2. the preset alone (plus the controls a palette or grade fixes, with --preset-supervision)
    step = functools.partial(preset_step, supervision=cfg.preset_supervision)
    preset = loop.run(cfg, preset.train().requires_grad_(True), loader, step, out)

    # 3. export
    save_models(dataclasses.replace(models, preset=preset.eval()), config, out / "model")
    logger.info("preset stage exported to %s", out / "model")
    return out / "model"
