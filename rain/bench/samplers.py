"""The three ways of turning a stream of condition images into frames that `compare` sets side by side.

All three use the pipeline's own weights, UNet call (with its reference read) and per-frame LCM step:
- `PileSampler`: RAIN's pile, `RainPipeline.step` (4 new frames per UNet call over the whole pile);
- `ChunkedSampler`: the long-video animators' sliding window: a window of K frames is denoised from noise
  through every level (num_groups UNet calls over K frames), then the window slides by K - overlap; the
  overlap frames are the previous window's clean frames, re-noised to each level before each call
  (temporal outpainting), so the new frames are conditioned on what was already shown;
- per-frame sampling is `ChunkedSampler` with a window of 1 and no overlap on the no-temporal weights.
"""

from __future__ import annotations

import numpy as np
import torch

from rain.images import to_tensor, to_uint8
from rain.models.attention import ReferenceRead
from rain.models.colour_skip import colour_source
from rain.models.vae import decode
from rain.pipeline import RainPipeline
from rain.precision import autocast
from rain.scheduler import reference_input
from rain.state import ReferenceState


class PileSampler:
    """RAIN's pile: one `RainPipeline.step` per group of new frames."""

    def __init__(self, pipeline: RainPipeline, reference: ReferenceState, seed: int = 0) -> None:
        self.pipeline = pipeline
        self.stream = pipeline.new_stream(reference, seed)

    @property
    def needed(self) -> int:
        return self.pipeline.frames_per_group

    def run(self, conditions: np.ndarray) -> np.ndarray:
        return self.pipeline.step(self.stream, conditions)

    def flush(self) -> list[np.ndarray]:
        return list(self.pipeline.drain(self.stream))


def unet_call(pipeline: RainPipeline, latents: torch.Tensor, levels: torch.Tensor, pose: torch.Tensor,
              ref: ReferenceState) -> torch.Tensor:
    """The pipeline's UNet call on latents (1, c, F, h, w) at per-frame `levels` (F,) (as in `step`)."""
    unet_in = latents
    if pipeline.config.pile.reference_input:
        unet_in = reference_input(latents, pipeline.schedule.pure_noise(levels)[None], ref.latents)
    # a colour skip from the condition gets the latents themselves as a stand-in of the conditions' latents: same
    # shapes, same cost (what the FLOP count and the timing measure; the comparison drives noise-entry models only)
    stand_in = latents if pipeline.config.unet.colour_skip == "condition" else None
    source = colour_source(pipeline.config.unet.colour_skip, ref.latents, stand_in, latents.shape[2])
    moved = None  # a UNet that reads the aligned reference gets it unmoved (the identity map): the same shapes and
    # cost as live, so the FLOP count and timing hold; the chunked comparison of such a model runs without maps
    if pipeline.config.unet.aligned_reference:
        identity = torch.eye(2, 3, device=latents.device).expand(latents.shape[2], 2, 3)
        moved = pipeline.aligned_latents(ref, identity)
    return pipeline.models.unet(unet_in, pipeline.schedule.timesteps[levels][None], ref.image_embeds, pose,
                                pipeline.guidance, ReferenceRead(ref.tokens, latents.shape[2]), source, aligned=moved)


class ChunkedSampler:
    """Sliding-window sampling: every window goes through all levels before the first of its frames shows."""

    def __init__(self, pipeline: RainPipeline, reference: ReferenceState, window: int, overlap: int,
                 seed: int = 0) -> None:
        if not 0 <= overlap < window:
            raise ValueError(f"overlap must be in 0..window-1, got window {window}, overlap {overlap}")
        self.pipeline, self.reference, self.window, self.overlap = pipeline, reference, window, overlap
        self.generator = torch.Generator(pipeline.device).manual_seed(seed)
        self.prev: tuple[torch.Tensor, torch.Tensor] | None = None  # clean latents, pose of the overlap

    @property
    def needed(self) -> int:
        return self.window - (self.overlap if self.prev is not None else 0)

    def flush(self) -> list[np.ndarray]:
        return []  # every window is complete when `run` returns

    @torch.no_grad()
    def run(self, conditions: np.ndarray) -> np.ndarray:
        """(n, H, W, 3) new condition images, n <= needed -> their n frames."""
        p = self.pipeline
        with autocast(p.precision, p.device):
            pose = p.models.pose_guider(to_tensor(conditions).transpose(0, 1)[None].to(p.device))
            h = p.config.latent_size
            x = torch.randn((1, p.config.unet.in_channels, len(conditions), h, h), generator=self.generator,
                            device=p.device)
            kept = 0 if self.prev is None else self.prev[0].shape[2]
            if kept:
                pose = torch.cat([self.prev[1], pose], dim=2)
                x = torch.cat([self.prev[0], x], dim=2)
            x = self._denoise(x, pose, kept)
            if self.overlap:
                self.prev = x[:, :, -self.overlap:], pose[:, :, -self.overlap:]
            images = decode(p.models.vae, x[0, :, kept:].transpose(0, 1))
        return to_uint8(images)

    def _denoise(self, x: torch.Tensor, pose: torch.Tensor, kept: int) -> torch.Tensor:
        """All levels over the window; the first `kept` frames are re-noised from their clean latents."""
        p, frames = self.pipeline, x.shape[2]
        clean = x[:, :, :kept].float()
        for level in range(p.config.pile.default_groups):
            levels = torch.full((frames,), level, dtype=torch.long, device=p.device)
            if kept:
                x = torch.cat([self._renoise(clean, level), x[:, :, kept:]], dim=2)
            out = unet_call(p, x, levels, pose, self.reference)
            x = p.schedule.step(x[0].transpose(0, 1).float(), out[0].transpose(0, 1).float(), levels,
                                self.generator).transpose(0, 1)[None]
        return x

    def _renoise(self, clean: torch.Tensor, level: int) -> torch.Tensor:
        """q(x_t | x_0) of the clean overlap latents at the timestep of `level`."""
        a = self.pipeline.schedule.alphas_cumprod[self.pipeline.schedule.timesteps[level]]
        noise = torch.randn(clean.shape, generator=self.generator, device=clean.device)
        return a.sqrt() * clean + (1 - a).sqrt() * noise
