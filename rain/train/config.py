"""Typed training configuration; every default defined once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Stage = Literal["autoencoder", "image", "pile", "distill", "refiner", "landmarker", "preset", "grade-reader",
                "blur-reader", "mix-reader"]


@dataclass(frozen=True)
class TrainConfig:
    stage: Stage = "pile"  # autoencoder | image (spatial parts on single frames) | pile (everything, pile-shaped clips)
    world: str = "body"  # procedural world the clips come from
    style_families: str = ""  # style world only: comma-separated style families to draw from ("" = all)
    face_condition: str = ""  # face world only: "dots" (the published 26 dots) or "contours" (68-point lines); "" = the world's default
    steps: int = 1000  # optimiser steps of this stage
    batch_size: int = 2  # clips (pile) or frames (image, autoencoder) per step
    lr: float = 3e-4  # AdamW learning rate after warm-up
    warmup: int = 100  # linear warm-up steps
    weight_decay: float = 0.0  # AdamW weight decay
    grad_clip: float = 1.0  # max gradient norm
    grad_accum: int = 1  # gradient accumulation steps (accelerate)
    entry: str = ""  # pile stage: "latent" turns the model into img2img entry (style), "noise" back; "" keeps it
    strength_min: float = 0.0  # with entry "latent": lowest strength trained for (0 keeps the model's)
    strength: float = 0.0  # with entry "latent": default strength of the exported model (0 keeps the model's)
    num_groups: int = 0  # pile stage: train a pile of this many groups (= noise levels = LCM steps; 1 = a one-step model for streams that run 1 group); 0 keeps the model's
    anchor: int = -1  # pile stage: 1 turns the drift anchor on (rain/anchor.py), 0 off, -1 keeps the model's
    timesteps: str = "levels"  # image/pile: "levels" = the pile's own timesteps; "bands" = anywhere in each level's band (a many-step teacher for distill)
    cond_drop: float = 0.0  # image/pile: share of batches trained without the reference (gives a CFG teacher its unconditional mode)
    teacher: str = ""  # distill: the many-step teacher's model folder (the student starts from --init, default the teacher)
    solver_step: int = 20  # distill: timesteps of the teacher's one DDIM step (LCD's skip k; 20 = a 50-step solver); also the band grid's stride
    guidance: str = ""  # distill: CFG scale w for the teacher, "W" or "WMIN,WMAX" (the student embeds w); "" = no CFG, the teacher's own label
    ema: float = 0.95  # distill: EMA decay of the target network
    context_jitter: float = 0.0  # image/pile: std of a random colour gain/offset on the older groups' frames (targets stay true): teaches correcting the stream's own errors instead of copying them
    jitter_grid: int = 1  # image/pile: context jitter drawn on a grid x grid field spread over the frame (local colour errors, as a wrong colour map in one region makes); 1 = one per frame
    rollout: float = 0.0  # pile: share of batches whose older groups hold the model's own estimate from one call earlier (no gradient), stepped to their level, instead of noised truth (targets stay true): trains on the stream's real errors, against feedback drift
    rollout_depth: int = 1  # pile, with rollout: UNet calls rolled out per batch (each older group starts this many calls back, as noised truth or the entry), so errors compound as over a stream's levels; the pile's levels - 1 rolls every group out from its entry
    output_head: int = 0  # image/pile: grow a patch head of this width on a model without one (rain/models/output_head.py; it starts as a no-op)
    colour_skip: str = ""  # image/pile: grow a colour skip from this source ("condition" or "reference") on a model without one (rain/models/colour_skip.py; it starts as a no-op)
    smooth_maps: int = 0  # image/pile: 1 interpolates a colour skip's maps between patch centres from now on (UNetConfig.colour_skip_smooth; no weight changes); 0 keeps the model's
    reference_shift: int = 0  # image/pile: grow a reference shift of +- this many pixels in front of a colour skip from the reference (rain/models/reference_shift.py; it starts as a no-op)
    reference_shift_axes: str = "joint"  # image/pile, with reference_shift: the grown shift's softmax, "joint" (2-D grid) or "separable" (per axis, every pixel); UNetConfig.reference_shift_axes
    aligned_reference: int = 0  # image/pile, face world: 1 grows a reader of the reference aligned to each frame on a UNet with a colour skip from the reference (rain/models/aligned_reference.py; it starts as a no-op)
    aligned_shift: int = 0  # image/pile, a UNet that reads the aligned reference: grow a shift of +- this many px for the aligned copy (UNetConfig.aligned_shift; it starts as a no-op); 0 keeps the model's
    aligned_jitter: float = 0.0  # image/pile, a UNet that reads the aligned reference: train on maps moved by random similarities of this size (px; rain/train/maps.py), as live maps err
    train_only: str = ""  # image/pile: comma-separated UNet parts to train, the rest frozen (TRAINABLE_PARTS: e.g. "aligned,skip,shift" to fit grown parts to a trained model without moving it); "" trains everything
    shift_loss: float = 0.0  # image/pile, with a reference shift: weight of a second MSE, the shift's mix of moved references alone against each true frame (supervises where the character went); 0: none
    truth_entry: float = 0.0  # image/pile, models fed the camera frame's latent (img2img entry, colour skip from the condition): share of clips that enter as the styled truth itself instead of the preset's restyle (a perfect read), so the UNet learns to keep a good entry; 0: none
    temporal_loss: float = 0.0  # image/pile, x_0-predicting models: weight of a second MSE, the predicted frames' frame-to-frame changes against the truth's, between neighbouring frames of one level (flicker); 0: none
    fill_prob: float = 0.25  # pile stage: share of batches shaped like a filling pile (fewer groups)
    latent_noise: float = 0.05  # autoencoder: decoder sees latents + this much noise (robust to diffusion errors)
    latent_l2: float = 1e-3  # autoencoder: keeps latents small and smooth
    crop: int = 0  # autoencoder, refiner: train on random square crops of this size (both are fully convolutional); 0 = whole frames
    refiner: int = 0  # refiner: grow a refiner of this width on a model without one (rain/models/refiner.py); 0 keeps (retrains) the model's
    refiner_levels: int = 0  # refiner: 1, 2 or 3 levels (rain/models/refiner.py) when growing one (0: 1); more than a model's refiner of 2+ levels has deepens it (the new levels start as the identity); 0 keeps (retrains) the model's
    refiner_reference: str = ""  # refiner: "aligned" (face world) reads the reference moved onto each frame by its face landmarks' similarity, "warped" by a thin-plate spline through them, "as-is" as it is; "" keeps the model's (rain/config.py RefinerConfig.reference)
    refiner_map_jitter: float = 0.0  # refiner, aligned or warped: train on maps that err by this much (px; rain/train/maps.py frame_similarities, frame_warps), as live maps err
    refiner_clips: int = 96  # refiner: training worlds streamed through the frozen model for (emitted frame, truth) pairs
    refiner_frames: int = 24  # refiner: frames streamed per world
    landmarker: int = 0  # landmarker: width of a cartoon landmarker to grow for an aligned refiner (rain/models/landmarker.py); 0 keeps (trains on) the model's
    landmarker_images: int = 40_000  # landmarker: face-world cartoons (references and frames, training seeds) rendered to train on
    style_preset: int = 0  # preset: grow a style preset of this width on an img2img model without one (rain/models/style_preset.py); 0 keeps (retrains) the model's
    preset_supervision: float = 0.0  # preset: weight of a second loss on the controls a palette style fixes (mix 1, its equalise flag, its blur sigma), against the reader's hedges; 0: none
    preset_detail: int = 0  # preset: grow a reader of the exemplar's full-resolution detail with this many channels (PresetConfig.detail; it starts as a no-op); 0 keeps the model's
    preset_memory: int = 0  # preset: grow a reader of the mean colours of this many regions of the exemplar (PresetConfig.memory; it starts as a no-op); 0 keeps the model's
    grade_reader: int = 0  # grade-reader stage: channels of the grade reader to train (PresetConfig.grade); 0 keeps the model's
    blur_reader: int = 0  # blur-reader stage: channels of the blur reader to train (PresetConfig.blur_reader); 0 keeps the model's
    mix_reader: int = 0  # mix-reader stage: channels of the mix reader to train (PresetConfig.mix_reader); 0 keeps the model's
    preset_blur: float = 0.0  # preset: blur the grey level by a sigma read off the exemplar, up to this many px (PresetConfig.max_blur); 0 keeps the model's
    seed: int = 0  # seeds model init, data order and noise
    save_every: int = 250  # steps between resumable checkpoints
    log_every: int = 10  # steps between loss-log lines
    mixed_precision: Literal["auto", "bf16", "no"] = "auto"  # auto = bf16 on CPUs with native bf16
    num_workers: int = 0  # data-loader worker processes (rendering is ~3 ms a frame)


HELD_OUT_SEED_START = 1_000_000  # world seeds from here on are never used in training


def kept_setting(init: object, own: object, field: str, asked: int, flag: str) -> int:
    """A grown part's `field` (its config `own`, a RefinerConfig or PresetConfig, whose width 0 means "none"):
    the model's own when it has the part (asking for another value is refused), else `asked` (0: the default)."""
    have = getattr(own, field)
    if own.width and asked and asked != have:
        raise ValueError(f"{init} has a {type(own).__name__} {field} of {have}; {flag} {asked} cannot change it")
    return have if own.width else asked or getattr(type(own)(), field)
