"""What RAIN learns: denoising (v, epsilon or x_0 prediction) on clips shaped exactly like the pile the stream runs.

A pile clip of g groups (g = all levels, or fewer with `fill_prob` as while the pile fills) puts its
oldest group at the cleanest level it would hold and the newest at pure noise, so training sees the
same mix of timesteps, in the same frame order, as `RainPipeline.step`. The image stage is the same
objective on single frames (each its own one-frame video) at a random level.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rain.anchor import anchored, unanchored
from rain.config import ModelConfig
from rain.models import RainModels
from rain.models.attention import ReferenceRead
from rain.models.colour_skip import colour_source
from rain.models.vae import encode
from rain.scheduler import (PileSchedule, append_dims, guidance_embedding, lcm_step, reference_input,
                            strength_timesteps)


def pile_levels(num_levels: int, frames_per_group: int, groups: int) -> torch.Tensor:
    """(groups * frames_per_group,) level index per frame, oldest group first: e.g. [3,3,2,2,1,1,0,0]."""
    return torch.arange(groups - 1, -1, -1).repeat_interleave(frames_per_group)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, alphas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x_t and the v target for (b, c, f, h, w) latents with per-frame alphas_cumprod (b, f)."""
    a = append_dims(alphas[:, None], x0.ndim)  # (b, 1, f, 1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise, a.sqrt() * noise - (1 - a).sqrt() * x0


def prediction_target(x_t: torch.Tensor, x0: torch.Tensor, alphas: torch.Tensor, prediction_type: str,
                      ) -> torch.Tensor:
    """What the UNet must predict so the step recovers x0 from this x_t (b, c, f, h, w), whatever noised it:
    x_0 itself, or the v / epsilon that `lcm_step` turns back into x_0 (the img2img entry's x_t is the
    condition latent noised, not x0 noised, so the usual v and epsilon would not lead to x0)."""
    a = append_dims(alphas[:, None], x0.ndim)  # (b, 1, f, 1, 1)
    if prediction_type == "sample":
        return x0
    if prediction_type == "v_prediction":
        return (a.sqrt() * x_t - x0) / (1 - a).sqrt()
    return (x_t - a.sqrt() * x0) / (1 - a).sqrt()  # epsilon


def encode_clip(vae: torch.nn.Module, clip: torch.Tensor) -> torch.Tensor:
    """(b, 3, f, S, S) frames in [0, 1] -> (b, c, f, h, w) float latents (frame by frame)."""
    b, f = clip.shape[0], clip.shape[2]
    return encode(vae, clip.transpose(1, 2).flatten(0, 1)).unflatten(0, (b, f)).transpose(1, 2).float()


def band_timesteps(levels: torch.Tensor, num_levels: int, num_train_timesteps: int, stride: int,
                   generator: torch.Generator) -> torch.Tensor:
    """(b, f) timesteps on a grid of `stride` inside each level's band, one draw per (clip, level) so a
    group's frames share it. The grid hangs from the band's top (the pile's own timestep) and stays >= stride:
    with 4 levels of 1000 and stride 20, level 0 (the newest) draws from 999, 979, ..., 759 and level 3 from
    249, 229, ..., 29 (LCD's DDIM grid, so the pile's timesteps, t = 999 included, are trained as often as
    any other point and t - stride >= 0). Clips stay stepped: oldest group cleanest."""
    band = num_train_timesteps // num_levels
    top = num_train_timesteps - 1 - band * torch.arange(num_levels, device=levels.device)  # (levels,)
    count = torch.minimum(torch.full_like(top, (band - 1) // stride + 1), (top - stride) // stride + 1)  # grid points
    u = torch.rand((levels.shape[0], num_levels), generator=generator, device=generator.device).to(levels.device)
    per_level = top - stride * (u * count).long().minimum(count - 1)  # (b, levels)
    return per_level.gather(1, levels)  # (b, f)


def jitter_groups(frames: torch.Tensor, levels: torch.Tensor, sigma: float, generator: torch.Generator,
                  grid: int = 1) -> torch.Tensor:
    """frames (b, 3, f, S, S) in [0, 1] with a random colour gain and offset per (clip, level, RGB channel),
    N(0, sigma) each: what a stream's own slightly-wrong older estimates look like (exposure bias). `grid` > 1
    draws them on a grid x grid field, bilinearly spread over the frame: local errors, like a wrong colour map
    in one region (grid 1 is one gain and offset for the whole frame)."""
    b, levels_count, size = frames.shape[0], int(levels.max()) + 1, frames.shape[-1]
    fields = (torch.randn((2, b, levels_count, 3, grid, grid), generator=generator, device=generator.device)
              * sigma).to(frames.device)
    if grid > 1:
        fields = F.interpolate(fields.flatten(0, 2), size=(size, size), mode="bilinear",
                               align_corners=False).unflatten(0, (2, b, levels_count))
    gain, offset = fields  # (b, levels, 3, g, g)
    index = levels[:, :, None, None, None].expand(-1, -1, *gain.shape[2:])  # (b, f, 3, g, g)
    pick = lambda x: x.gather(1, index).transpose(1, 2)  # noqa: E731 (b, 3, f, g, g)
    return (frames * (1 + pick(gain)) + pick(offset)).clamp(0, 1)


def denoise(parts, config: ModelConfig, x_t: torch.Tensor, timesteps: torch.Tensor, pure_noise: torch.Tensor,
            reference: torch.Tensor, ref_latents: torch.Tensor, conditions: torch.Tensor, guidance: torch.Tensor,
            unconditional: bool = False, condition_latents: torch.Tensor | None = None,
            return_moved: bool = False, aligned: torch.Tensor | None = None,
            ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """One UNet call of `parts` (anything holding unet, reference_net, pose_guider and image_encoder) over
    x_t (b, c, f, h, w) at per-frame `timesteps` (b, f), exactly as the pipeline makes it; `unconditional`
    hides the reference (a zero image token, no reference tokens, a zero reference latent).
    `condition_latents` (b, c, f, h, w): the conditions' latents, for a colour skip from them; `return_moved`:
    also the reference shift's mix of shifts alone (b, c, f, h, w). `aligned` (b, c, f, h, w): the reference's latent
    moved onto each frame, for a UNet that reads it (hidden with the rest of the reference when `unconditional`)."""
    b = x_t.shape[0]
    # 1. the reference: one image token and the reference net's self-attention inputs
    if unconditional:
        ref_latents = torch.zeros_like(ref_latents)
        aligned = None if aligned is None else torch.zeros_like(aligned)
        embeds = torch.zeros(b, 1, config.unet.cross_attention_dim, device=x_t.device)
        read = None
    else:
        embeds = parts.image_encoder(reference)  # (b, 1, d)
        read = ReferenceRead(parts.reference_net.capture(ref_latents, embeds), x_t.shape[2])

    # 2. pose features, then the UNet (pure-noise frames show the reference latent instead when the config
    # says so; the anchor puts the reference latent in front as a clean frame 0)
    pose = parts.pose_guider(conditions)  # (b, c0, f, h, w)
    if config.pile.reference_input:
        x_t = reference_input(x_t, pure_noise, ref_latents)
    if config.pile.anchor:
        x_t, timesteps, pose = anchored(x_t, timesteps, pose, ref_latents)
        read = None if read is None else ReferenceRead(read.tokens, x_t.shape[2])
    source = colour_source(config.unet.colour_skip, ref_latents, condition_latents, x_t.shape[2])
    pred = parts.unet(x_t, timesteps, embeds, pose, guidance, read, source, return_moved=return_moved, aligned=aligned)
    return unanchored(pred) if config.pile.anchor else pred  # (a colour skip, and so a shift, has no anchor)


class RainObjective(torch.nn.Module):
    """Holds the trainable parts (and the frozen VAE) so `accelerate` can prepare them as one module."""

    def __init__(self, models: RainModels, config: ModelConfig, cond_drop: float = 0.0,
                 timesteps: str = "levels", context_jitter: float = 0.0, band_stride: int = 20,
                 rollout: float = 0.0, jitter_grid: int = 1, shift_loss: float = 0.0,
                 temporal_loss: float = 0.0, rollout_depth: int = 1, truth_entry: float = 0.0) -> None:
        super().__init__()
        if timesteps not in ("levels", "bands"):
            raise ValueError(f"timesteps must be 'levels' or 'bands', got {timesteps!r}")
        if not 0.0 <= rollout <= 1.0:
            raise ValueError(f"rollout is a share of batches, within 0..1, got {rollout}")
        if rollout > 0 and timesteps == "bands":
            raise ValueError("rollout is for a pile at its own timesteps, not band timesteps (a teacher)")
        if isinstance(rollout_depth, bool) or not isinstance(rollout_depth, int) or rollout_depth < 1:
            raise ValueError(f"rollout_depth counts UNet calls rolled out: a whole number >= 1, got {rollout_depth!r}")
        if rollout_depth != 1 and rollout <= 0:
            raise ValueError(f"rollout_depth {rollout_depth} does nothing without rollout (the share of batches rolled out)")
        if timesteps == "bands" and config.pile.entry == "latent":
            raise ValueError("band timesteps (a many-step teacher) are not supported with the latent entry")
        if timesteps == "bands" and context_jitter > 0:  # near t = 0 a v/epsilon target would scale the jitter ~24x
            raise ValueError("context jitter is for the pile's own timesteps, not band timesteps (a teacher)")
        self.band_stride = band_stride
        self.cond_drop, self.timestep_mode, self.context_jitter = cond_drop, timesteps, context_jitter
        if jitter_grid < 1 or (jitter_grid > 1 and context_jitter <= 0):
            raise ValueError(f"jitter_grid shapes the context jitter: a grid size >= 1, and > 1 only with a "
                             f"context jitter; got {jitter_grid} with context_jitter {context_jitter}")
        self.rollout, self.rollout_depth, self.jitter_grid = rollout, rollout_depth, jitter_grid
        if shift_loss < 0 or (shift_loss > 0 and not config.unet.reference_shift):
            raise ValueError(f"shift_loss weighs the reference shift's own loss: >= 0, and > 0 only for a model with a "
                             f"reference shift; got {shift_loss} with reference_shift {config.unet.reference_shift}")
        self.shift_loss = shift_loss
        if temporal_loss < 0 or (temporal_loss > 0 and config.scheduler.prediction_type != "sample"):
            raise ValueError(f"temporal_loss weighs an MSE on frame-to-frame changes of the predicted frames: >= 0, "
                             f"and > 0 only for a model that predicts the sample (x_0), got {temporal_loss} with "
                             f"prediction_type {config.scheduler.prediction_type!r}")
        self.temporal_loss = temporal_loss
        if (isinstance(truth_entry, bool) or not 0.0 <= truth_entry <= 1.0
                or (truth_entry > 0 and not config.uses_condition_latents)):
            raise ValueError(f"truth_entry is a share of clips, within 0..1, and > 0 only for a model fed the camera "
                             f"frame's latent (img2img entry or a colour skip from the condition); got {truth_entry!r} "
                             f"with entry {config.pile.entry!r}, colour_skip {config.unet.colour_skip!r}")
        self.truth_entry = truth_entry
        self.unet, self.reference_net = models.unet, models.reference_net
        self.pose_guider, self.image_encoder = models.pose_guider, models.image_encoder
        self.vae = models.vae.requires_grad_(False).eval()
        self.preset = models.preset.requires_grad_(False).eval() if models.preset is not None else None  # frozen
        self.config = config
        schedule = PileSchedule.create(config.scheduler, config.pile.num_groups)
        self.register_buffer("timesteps", schedule.timesteps, persistent=False)
        self.register_buffer("alphas", schedule.alphas_cumprod, persistent=False)
        self.register_buffer("guidance", guidance_embedding(torch.tensor([config.scheduler.guidance_scale]),
                                                            config.unet.time_cond_proj_dim), persistent=False)

    def forward(self, batch: dict[str, torch.Tensor], levels: torch.Tensor, generator: torch.Generator,
                ) -> torch.Tensor:
        """batch: reference (b, 3, S, S), conditions/frames (b, 3, f, S, S); levels (b, f) -> scalar loss."""
        frames, conditions, reference = batch["frames"], batch["conditions"], batch["reference"]
        b = frames.shape[0]

        # 1. latents of the ground truth and of the reference (frozen autoencoder)
        with torch.no_grad():
            x0 = encode_clip(self.vae, frames)  # (b, c, f, h, w)
            ref_latents = encode(self.vae, reference).float()  # (b, c, h, w)
            content = None  # (b, c, f, h, w) the conditions' latents: the img2img entry and a colour skip use them
            if self.config.uses_condition_latents:
                content = self.with_truth_entries(encode_clip(self.vae, self.entering(conditions, reference)), x0,
                                                  generator)
            aligned = None  # (b, c, f, h, w) the reference moved onto each frame, for a UNet that reads it
            if self.config.unet.aligned_reference:
                if "aligned" not in batch:
                    raise ValueError("a UNet that reads the aligned reference trains on batches that hold it ('aligned')")
                aligned = encode_clip(self.vae, batch["aligned"])

        # 2. noise every frame to its level; the target is what the UNet predicts (v, epsilon or x_0)
        table = self.level_timesteps(b, generator) if self.timestep_mode == "levels" else None  # (b, levels)
        timesteps = self.frame_timesteps(levels, generator, table)  # (b, f)
        alphas = self.alphas[timesteps]
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)
        x_t, v = add_noise(x0, noise, alphas)
        target = {"v_prediction": v, "epsilon": noise, "sample": x0}[self.config.scheduler.prediction_type]
        if self.context_jitter > 0:  # older groups carry colour errors, as the stream's own estimates do
            with torch.no_grad():
                wrong = encode_clip(self.vae, jitter_groups(frames, levels, self.context_jitter, generator,
                                                         self.jitter_grid))
            x_t = torch.where(append_dims(levels > 0, x0.ndim - 1)[:, None], add_noise(wrong, noise, alphas)[0], x_t)
            target = prediction_target(x_t, x0, alphas, self.config.scheduler.prediction_type)
        if self.rollout > 0 and bool(torch.rand((), generator=generator, device=generator.device) < self.rollout):
            x_t = self.own_context(x0, x_t, levels, table, reference, ref_latents, conditions, generator, content,
                                   aligned)
            target = prediction_target(x_t, x0, alphas, self.config.scheduler.prediction_type)
        if self.config.pile.entry == "latent":  # img2img: the newest group is the condition's latent, noised
            entering = append_dims(levels == 0, x0.ndim - 1)[:, None]  # (b, 1, f, 1, 1)
            x_t = torch.where(entering, add_noise(content, noise, alphas)[0], x_t)
            prediction = self.config.scheduler.prediction_type  # v and epsilon must match that x_t
            target = torch.where(entering, prediction_target(x_t, x0, alphas, prediction), target)

        # 3. one UNet call over all frames at their own timesteps, seeing the reference (or, for the batches
        # `cond_drop` picks, nothing of it: the unconditional model a CFG teacher needs)
        unconditional = self.cond_drop > 0 and bool(torch.rand((), generator=generator, device=generator.device)
                                                     < self.cond_drop)
        pred = denoise(self, self.config, x_t, timesteps, alphas == 0, reference, ref_latents, conditions,
                       self.guidance.expand(b, -1), unconditional, content, return_moved=self.shift_loss > 0,
                       aligned=aligned)
        pred, moved = pred if self.shift_loss > 0 else (pred, None)
        loss = F.mse_loss(pred.float(), target)

        # 4. with a shift loss: the shift's mix of moved references alone should already show each true frame,
        # a direct signal for where the character went (the main loss reaches the shift only through the gate
        # and the colour maps)
        if moved is not None:
            loss = loss + self.shift_loss * F.mse_loss(moved.float(), x0)

        # 5. with a temporal loss: the predicted frames should change from frame to frame as the truth does
        # (flicker is an error that changes between frames; the MSE above does not care whether errors hold still)
        if self.temporal_loss > 0:
            loss = loss + self.temporal_loss * change_loss(pred.float(), target, levels)
        return loss

    def entering(self, conditions: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """The camera frames (b, 3, f, S, S) as they enter the pile: restyled by the model's frozen preset, if any."""
        if self.preset is None:
            return conditions
        b, _, f = conditions.shape[:3]
        flat = conditions.transpose(1, 2).flatten(0, 1)  # (b f, 3, S, S)
        controls = self.preset.read(reference).repeat_interleave(f, dim=0)  # (b f, n)
        return self.preset.apply(flat, controls).unflatten(0, (b, f)).transpose(1, 2)

    def with_truth_entries(self, content: torch.Tensor, x0: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """content (b, c, f, h, w) with the clips `truth_entry` draws replaced by the truth's latents x0: the entry a
        perfect read of the exemplar would make, so the UNet learns what to do with a good entry. With a colour skip
        from the condition those clips also hand the skip the clean target at every level, which it may copy."""
        if self.truth_entry <= 0:
            return content
        picked = torch.rand((content.shape[0],), generator=generator, device=generator.device) < self.truth_entry
        return torch.where(append_dims(picked.to(content.device), content.ndim), x0, content)

    def own_context(self, x0: torch.Tensor, x_t: torch.Tensor, levels: torch.Tensor, table: torch.Tensor,
                    reference: torch.Tensor, ref_latents: torch.Tensor, conditions: torch.Tensor,
                    generator: torch.Generator, content: torch.Tensor | None = None,
                    aligned: torch.Tensor | None = None) -> torch.Tensor:
        """x_t (b, c, f, h, w) whose older groups hold what a running pile holds instead of noised truth: each
        frame at level L starts `rollout_depth` (d) calls earlier, at level L - d, as noised truth (or, at level 0,
        as the pile's entry: the condition latent for a latent-entry model), and d UNet calls of the whole clip
        (no gradient) step it down to L with `lcm_step`, fresh noise each call, as `RainPipeline.step` does. A
        frame not yet in the pile at a call (L - d + call < 0) waits as the entry and is shown to that call as one
        (a running pile would hold older groups there, which this clip does not have; every frame keeps the
        temporal position of its final level). The newest group keeps `x_t`. `table` (b, levels): each clip's
        timestep per level. The errors are the stream's own, compounded over d calls, so the model learns to
        correct them rather than copy them forward."""
        sched, b, d = self.config.scheduler, x0.shape[0], self.rollout_depth
        at = lambda lv: table.gather(1, lv.clamp(min=0, max=table.shape[1] - 1).to(table.device))  # noqa: E731 (b, f)
        flat = lambda x: x.transpose(1, 2).flatten(0, 1)  # noqa: E731 (b, c, f, h, w) -> (b * f, c, h, w)
        entry = content if self.config.pile.entry == "latent" else x0
        start = levels - d  # (b, f) each frame's level d calls ago (< 0: not yet in the pile)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)
        alphas = self.alphas[at(start)]
        x = torch.where(append_dims(start > 0, x0.ndim - 1)[:, None], add_noise(x0, noise, alphas)[0],
                        add_noise(entry, noise, alphas)[0])  # (b, c, f, h, w)
        for call in range(d):
            now = start + call  # (b, f) each frame's level at this call
            t_in, t_out = at(now), at(now + 1)
            noise = torch.randn(x0.shape, generator=generator, device=x0.device)
            with torch.no_grad():
                pred = denoise(self, self.config, x, t_in, self.alphas[t_in] == 0, reference, ref_latents,
                               conditions, self.guidance.expand(b, -1), condition_latents=content,
                               aligned=aligned).float()
            stepped, _ = lcm_step(flat(x), flat(pred), t_in.flatten(), t_out.flatten(), self.alphas,
                                  sched.prediction_type, sched.timestep_scaling, noise=flat(noise))
            stepped = stepped.unflatten(0, (b, x0.shape[2])).transpose(1, 2)  # (b, c, f, h, w)
            x = torch.where(append_dims(now >= 0, x0.ndim - 1)[:, None], stepped, x)
        return torch.where(append_dims(levels > 0, x0.ndim - 1)[:, None], x, x_t)

    def level_timesteps(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """(batch, levels) timestep of every pile level per clip: the pile's fixed levels, or for a latent-entry
        model the levels of a strength drawn per clip from U(strength_min, 1), as `RainPipeline.set_strength`
        lays them out."""
        pile_cfg = self.config.pile
        if pile_cfg.entry != "latent":
            return self.timesteps[None].expand(batch, -1)
        u = torch.rand((batch,), generator=generator, device=generator.device)
        strength = pile_cfg.strength_min + (1 - pile_cfg.strength_min) * u  # (b,)
        return strength_timesteps(pile_cfg.num_groups, self.config.scheduler.num_train_timesteps,
                                  strength).to(self.timesteps.device)

    def frame_timesteps(self, levels: torch.Tensor, generator: torch.Generator,
                        table: torch.Tensor | None = None) -> torch.Tensor:
        """(b, f) timestep of every frame: its level's in `table` (default: a fresh `level_timesteps`), or with
        band timesteps (a many-step teacher) anywhere in its level's band."""
        if self.timestep_mode == "bands":
            return band_timesteps(levels, self.config.pile.num_groups, self.config.scheduler.num_train_timesteps,
                                  self.band_stride, generator)
        table = self.level_timesteps(levels.shape[0], generator) if table is None else table  # (b, levels)
        return table.gather(1, levels.to(table.device))

def change_loss(pred: torch.Tensor, target: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """MSE between the frame-to-frame changes of pred and of target (b, c, f, h, w), over the pairs of neighbouring
    frames at one level (b, f) of the pile: the frames one UNet call estimates equally well (eval's flicker, in
    latents; pairs across levels would tie a clean estimate to a noisier one). Zero when no pair shares a level."""
    same = (levels[:, 1:] == levels[:, :-1]).to(pred.dtype)  # (b, f - 1)
    error = pred - target  # (b, c, f, h, w)
    changes = (error[:, :, 1:] - error[:, :, :-1]).pow(2).mean(dim=(1, 3, 4))  # (b, f - 1)
    return (changes * same).sum() / same.sum().clamp(min=1)


def sample_levels(config: ModelConfig, batch: int, frames: int, fill_prob: float, single_frames: bool,
                  generator: torch.Generator) -> tuple[torch.Tensor, int]:
    """(batch, f') levels and the number of frames f' to keep from each clip."""
    levels_count, per = config.pile.num_groups, config.pile.frames_per_group
    if single_frames:
        return torch.randint(0, levels_count, (batch, 1), generator=generator), 1
    groups = levels_count
    if levels_count > 1 and torch.rand((), generator=generator) < fill_prob:
        groups = int(torch.randint(1, levels_count, (), generator=generator))
    keep = groups * per
    if keep > frames:
        raise ValueError(f"clips of {frames} frames are too short for {groups} groups of {per}")
    return pile_levels(levels_count, per, groups).expand(batch, -1), keep
