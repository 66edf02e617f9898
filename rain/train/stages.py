"""The stages of the recipe: what each trains, on which data shape, and what it exports.

1. autoencoder: a small AutoencoderTiny on world frames (the decoder sees slightly noisy latents);
   exports `vae.safetensors` and sets `vae.scaling_factor` so the scaled latents have unit std.
2. image: reference net, spatial UNet, pose guider and image encoder on single frames at random levels
   (temporal modules frozen: one-frame videos).
3. pile: everything, on clips shaped like the pile (all groups, or the filling shapes), exactly the
   timesteps and frame order the stream runs. Training at the sampler's own timesteps makes this the
   few-step stage too (the CPU tier ships such models). With `--timesteps bands` (and `--cond-drop` for
   classifier-free guidance) it trains a many-step teacher instead, for:
4. distill (optional): latent consistency distillation of that teacher into a few-step student with the
   guidance embedding (rain/train/distill.py), as the published RAIN models were made from their teacher.
5. refiner (optional, rain/train/refine.py): a full-resolution refiner after the decoder, trained on the
   frozen model's own streamed frames.
6. landmarker (optional, rain/train/landmarks.py): for a refiner that aligns the reference, a cartoon landmarker
   that finds the reference's face, trained on face-world renders with their exact points.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from rain.checkpoint import load_models, read_config, save_models
from rain.config import ModelConfig
from rain.models import RainModels, build_models
from rain.train import loop
from rain.train.config import TrainConfig
from rain.train.data import ClipStream
from rain.train.distill import DistillObjective, parse_guidance
from rain.train.objective import RainObjective, sample_levels

logger = logging.getLogger(__name__)

AE_FRAMES_PER_CLIP = 2  # autoencoder batches: frames taken from each clip
IMAGE_FRAMES_PER_CLIP = 4  # image stage: single frames taken from each clip


def _loader(cfg: TrainConfig, config: ModelConfig, frames: int, start_seed: int) -> torch.utils.data.DataLoader:
    jitter = cfg.aligned_jitter if config.unet.aligned_reference else None  # a UNet that reads the aligned reference
    stream = ClipStream(cfg.world, frames, config.resolution, start_seed, cfg.style_families, cfg.face_condition,
                        jitter)
    return torch.utils.data.DataLoader(stream, batch_size=cfg.batch_size, num_workers=cfg.num_workers)


def random_crop(x: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """One random `size` x `size` crop per image, on the autoencoder's grid (multiples of its downscale)."""
    if size > x.shape[-1] or size > x.shape[-2]:
        raise ValueError(f"crop {size} is larger than the frames {tuple(x.shape[-2:])}")
    top = torch.randint(0, x.shape[-2] - size + 1, (x.shape[0],), generator=generator)
    left = torch.randint(0, x.shape[-1] - size + 1, (x.shape[0],), generator=generator)
    return torch.stack([img[:, t:t + size, l:l + size] for img, t, l in zip(x, top.tolist(), left.tolist())])


def autoencoder_step(vae: torch.nn.Module, batch: dict, generator: torch.Generator, cfg: TrainConfig) -> dict:
    x = batch["frames"].transpose(1, 2).flatten(0, 1) * 2 - 1  # (n, 3, S, S) in [-1, 1]
    if cfg.crop:
        x = random_crop(x, cfg.crop, generator)  # (n, 3, crop, crop)
    z = vae.encode(x).latents
    noisy = z + cfg.latent_noise * z.detach().std() * torch.randn(z.shape, generator=generator)
    rec = vae.decode(noisy).sample.float()
    mse = F.mse_loss(rec, x)
    psnr = 10 * torch.log10(4 / mse.detach())  # range 2 -> peak^2 = 4
    return {"loss": mse + 0.1 * F.l1_loss(rec, x) + cfg.latent_l2 * z.float().pow(2).mean(), "psnr": psnr}


def _one_frame_clips(x: torch.Tensor) -> torch.Tensor:
    """(b, c, t, ...) clips -> (b t, c, 1, ...): every frame its own one-frame clip."""
    return x.transpose(1, 2).flatten(0, 1)[:, :, None]


def rain_step(objective: torch.nn.Module, batch: dict, generator: torch.Generator, cfg: TrainConfig,
              single_frames: bool) -> dict:
    inner = objective.module if hasattr(objective, "module") else objective
    if single_frames:  # every frame its own one-frame video with its clip's reference
        t = batch["frames"].shape[2]
        batch = {key: value.repeat_interleave(t, dim=0) if key == "reference" else _one_frame_clips(value)
                 for key, value in batch.items()}
    b, _, f = batch["frames"].shape[:3]
    levels, keep = sample_levels(inner.config, b, f, cfg.fill_prob, single_frames, generator)
    batch = {key: value if key == "reference" else value[:, :, :keep] for key, value in batch.items()}
    return {"loss": objective(batch, levels, generator)}


@torch.no_grad()
def latent_std(vae: torch.nn.Module, loader: torch.utils.data.DataLoader, batches: int = 8) -> float:
    batch_iter = iter(loader)  # one iterator: a fresh iter() would restart the stream at the same batch
    values = [vae.encode(next(batch_iter)["frames"].transpose(1, 2).flatten(0, 1) * 2 - 1).latents
              for _ in range(batches)]
    return float(torch.cat(values).std())


def train_autoencoder(cfg: TrainConfig, config: ModelConfig, out: Path) -> Path:
    models = build_models(config, seed=cfg.seed)
    vae = models.vae.train()
    loader = _loader(cfg, config, AE_FRAMES_PER_CLIP, cfg.seed)
    vae = loop.run(cfg, vae, loader, lambda m, b, g: autoencoder_step(m, b, g, cfg), out)
    std = latent_std(vae.eval(), loader)
    config = dataclasses.replace(config, vae=dataclasses.replace(config.vae, scaling_factor=round(1.0 / std, 5)))
    models = dataclasses.replace(models, vae=vae)
    save_models(models, config, out / "model", parts=("vae",))
    logger.info("autoencoder exported to %s (latent std %.4f)", out / "model", std)
    return out / "model"


def train_rain(cfg: TrainConfig, init: Path | ModelConfig, out: Path) -> Path:
    """Stage `image` or `pile`, from `init`: a model folder (autoencoder or earlier stage) or, for an
    autoencoder without weights (pixel space), a fresh `ModelConfig`."""
    if isinstance(init, ModelConfig):
        models, config = build_models(init, seed=cfg.seed), init
    else:
        parts = tuple(p.stem for p in Path(init).glob("*.safetensors"))
        models, config = load_models(init, parts=parts, seed=cfg.seed)
    if config.refiner.width:
        logger.warning("the model's refiner learned from the frames of the weights this stage changes: it is kept "
                       "as it is; retrain it afterwards with --stage refiner")
    config = with_output_head(models, with_pile_settings(config, cfg), cfg.output_head)
    config = with_colour_skip(models, config, cfg.colour_skip)
    config = with_smooth_maps(models, config, cfg.smooth_maps)
    config = with_reference_shift(models, config, cfg.reference_shift, cfg.reference_shift_axes)
    config = with_aligned_reference(models, config, cfg)
    single = cfg.stage == "image"
    for name, p in models.unet.named_parameters():
        p.requires_grad_(not (single and ".motion_modules." in name))
    if cfg.train_only:
        train_only(models, cfg.train_only)
    objective = RainObjective(models, config, cfg.cond_drop, cfg.timesteps, cfg.context_jitter,
                              cfg.solver_step, rollout=cfg.rollout, rollout_depth=cfg.rollout_depth,
                              jitter_grid=cfg.jitter_grid,
                              shift_loss=cfg.shift_loss, temporal_loss=cfg.temporal_loss,
                              truth_entry=cfg.truth_entry).train()
    frames = IMAGE_FRAMES_PER_CLIP if single else config.pile.num_frames
    loader = _loader(cfg, config, frames, cfg.seed + 1)
    loop.run(cfg, objective, loader, lambda m, b, g: rain_step(m, b, g, cfg, single), out)
    save_models(models, config, out / "model")
    logger.info("%s stage exported to %s", cfg.stage, out / "model")
    return out / "model"


def train_distill(cfg: TrainConfig, init: Path | None, out: Path) -> Path:
    """Stage `distill` (rain/train/distill.py): the student (from `init`, default the teacher) learns the
    teacher's guided few-step trajectory; exported with the guidance scale it embeds."""
    if not cfg.teacher:
        raise ValueError("--stage distill needs --teacher MODEL_DIR (a model trained with --timesteps bands)")
    unused = [flag for flag, on in (("--cond-drop", cfg.cond_drop), ("--context-jitter", cfg.context_jitter),
                                    ("--jitter-grid", cfg.jitter_grid != 1), ("--shift-loss", cfg.shift_loss),
                                    ("--temporal-loss", cfg.temporal_loss), ("--truth-entry", cfg.truth_entry),
                                    ("--rollout", cfg.rollout), ("--rollout-depth", cfg.rollout_depth != 1),
                                    ("--timesteps", cfg.timesteps != "levels"), ("--entry", cfg.entry),
                                    ("--anchor", cfg.anchor != -1)) if on]
    if unused:
        raise ValueError(f"{', '.join(unused)} do not apply to --stage distill (the student keeps the teacher's pile)")
    teacher, config = load_models(Path(cfg.teacher), seed=cfg.seed)
    if config.unet.aligned_reference:
        raise ValueError(f"{cfg.teacher} reads the reference aligned to each frame: distillation does not feed it")
    if config.refiner.width:
        raise ValueError(f"{cfg.teacher} has a refiner: distil a model without one, then train a refiner for the "
                         "student (--stage refiner)")
    student, student_config = load_models(init or Path(cfg.teacher), seed=cfg.seed)
    if student_config != config:
        raise ValueError(f"the student ({init}) and the teacher ({cfg.teacher}) must share one architecture")
    guidance = parse_guidance(cfg.guidance)
    scale = config.scheduler.guidance_scale if guidance is None or guidance[0] != guidance[1] else guidance[0]
    if guidance is not None and not guidance[0] <= scale <= guidance[1]:
        raise ValueError(f"the model's guidance_scale {scale} is outside the distilled range {cfg.guidance}")
    objective = DistillObjective(teacher, student, config, cfg.solver_step, guidance, cfg.ema).train()
    loader = _loader(cfg, config, config.pile.num_frames, cfg.seed + 2)
    loop.run(cfg, objective, loader, lambda m, b, g: rain_step(m, b, g, cfg, single_frames=False), out,
             after_step=lambda m: m.update_target())
    config = dataclasses.replace(config, scheduler=dataclasses.replace(config.scheduler, guidance_scale=scale))
    save_models(student, config, out / "model")
    logger.info("distilled student exported to %s (guidance scale %.2f)", out / "model", scale)
    return out / "model"


TRAINABLE_PARTS = ("aligned", "skip", "shift", "head")  # UNet parts `--train-only` may pick (RainUNet attributes)


def train_only(models: RainModels, parts: str) -> None:
    """Freeze every trainable model but the named UNet parts (`--train-only aligned,skip,shift`)."""
    names = [name.strip() for name in parts.split(",") if name.strip()]
    unknown = [n for n in names if n not in TRAINABLE_PARTS]
    missing = [n for n in names if n in TRAINABLE_PARTS and getattr(models.unet, n) is None]
    if unknown or missing or not names:
        raise ValueError(f"--train-only names UNet parts the model has, of {TRAINABLE_PARTS}; got {parts!r}"
                         + (f" (this model has no {', '.join(missing)})" if missing else ""))
    for model in (models.unet, models.reference_net, models.pose_guider, models.image_encoder):
        model.requires_grad_(False)
    for name in names:
        getattr(models.unet, name).requires_grad_(True)
    logger.info("training only the UNet's %s", ", ".join(names))


def with_output_head(models: RainModels, config: ModelConfig, width: int) -> ModelConfig:
    """`--output-head N`: grow a patch head on a UNet without one (the model is unchanged until trained)."""
    return _grown(config, "output_head", width, "a patch head of width", lambda: models.unet.add_output_head(width))


def with_colour_skip(models: RainModels, config: ModelConfig, source: str) -> ModelConfig:
    """`--colour-skip SOURCE`: grow a colour skip on a UNet without one (the model is unchanged until trained)."""
    return _grown(config, "colour_skip", source, "a colour skip from the", models.unet.add_colour_skip)


def with_smooth_maps(models: RainModels, config: ModelConfig, on: int) -> ModelConfig:
    """`--smooth-maps 1`: interpolate the colour skip's maps between patch centres from now on."""
    if on not in (0, 1):
        raise ValueError(f"--smooth-maps is 1 (smooth the colour skip's maps) or 0 (keep the model's), got {on}")
    return _grown(config, "colour_skip_smooth", bool(on), "smooth colour maps:", models.unet.smooth_colour_maps)


def with_reference_shift(models: RainModels, config: ModelConfig, radius: int, axes: str = "joint") -> ModelConfig:
    """`--reference-shift R [--reference-shift-axes A]`: grow a reference shift in front of a colour skip from the
    reference (unchanged until trained)."""
    have = config.unet.reference_shift_axes
    if radius and config.unet.reference_shift and axes != have:
        raise ValueError(f"the model already has a {have} reference shift; --reference-shift-axes {axes} cannot change it")
    if radius and not config.unet.reference_shift:
        config = dataclasses.replace(config, unet=dataclasses.replace(config.unet, reference_shift_axes=axes))
    return _grown(config, "reference_shift", radius, f"a {axes} reference shift of +- px",
                  lambda: models.unet.add_reference_shift(radius, axes))


def with_aligned_reference(models: RainModels, config: ModelConfig, cfg: TrainConfig) -> ModelConfig:
    """`--aligned-reference 1 [--aligned-shift PX] [--aligned-jitter PX]`: grow a reader of the reference aligned to
    each frame on a UNet with a colour skip from the reference, and a shift for it (unchanged until trained); face
    world only."""
    if cfg.aligned_reference not in (0, 1) or cfg.aligned_jitter < 0:
        raise ValueError(f"--aligned-reference is 1 (grow it) or 0, and --aligned-jitter a size in px >= 0; got "
                         f"{cfg.aligned_reference} and {cfg.aligned_jitter}")
    if (cfg.aligned_reference or config.unet.aligned_reference) and cfg.world != "face":
        raise ValueError("a UNet that reads the aligned reference follows face landmarks: it needs --world face")
    if cfg.aligned_jitter and not (cfg.aligned_reference or config.unet.aligned_reference):
        raise ValueError("--aligned-jitter moves the maps of a UNet that reads the aligned reference: this one does not")
    config = _grown(config, "aligned_reference", bool(cfg.aligned_reference), "a reader of the reference aligned to "
                    "each frame:", models.unet.add_aligned_reference)
    return _grown(config, "aligned_shift", cfg.aligned_shift, "a shift of the aligned reference of +- px",
                  lambda: models.unet.aligned.add_shift(cfg.aligned_shift))


def _grown(config: ModelConfig, field: str, value, what: str, grow) -> ModelConfig:  # noqa: ANN001
    """The config with `UNetConfig.<field>` = `value` once `grow()` has added that part to a UNet without one;
    no value, or the one the model has, changes nothing; another value for a part the model has raises."""
    have = getattr(config.unet, field)
    if not value or have == value:
        return config
    if have:
        raise ValueError(f"the model already has {what} {have}; --{field.replace('_', '-')} {value} cannot change it")
    grown = dataclasses.replace(config, unet=dataclasses.replace(config.unet, **{field: value}))
    grown.validate()  # e.g. a known colour-skip source, pixel space, no anchor
    grow()
    logger.info("grew %s %s on the UNet", what, value)
    return grown


def with_pile_settings(config: ModelConfig, cfg: TrainConfig) -> ModelConfig:
    """The model config with the run's pile settings (`--entry latent --strength-min 0.4 --strength 0.7`,
    `--anchor 1`). The streams' default pile shape goes back to the trained pile: `stream_groups` and
    `stream_frames` are measured per model after training (docs/STEPS.md), not inherited from the model a run
    starts from."""
    changes = {k: v for k, v in (("entry", cfg.entry), ("strength_min", cfg.strength_min),
                                 ("strength", cfg.strength)) if v}
    config = config.with_pile(stream_groups=0, stream_frames=0)
    if cfg.num_groups:
        changes["num_groups"] = cfg.num_groups
    if cfg.anchor in (0, 1):
        changes["anchor"] = bool(cfg.anchor)
    if not changes:
        return config
    if changes.get("entry") == "noise":
        changes.update(strength_min=1.0, strength=1.0)
    config = config.with_pile(**changes)
    config.validate()
    config.pile.validate(config.unet.motion_max_seq_length)
    logger.info("pile of %d groups, entry %s, strength %.2f (trained on %.2f..1), anchor %s", config.pile.num_groups,
                config.pile.entry, config.pile.strength, config.pile.strength_min, config.pile.anchor)
    return config
