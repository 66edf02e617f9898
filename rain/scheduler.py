"""The per-frame LCM step and the fixed schedule of the pile's noise levels.

diffusers' `LCMScheduler.step` takes one scalar timestep and keeps a step index, so it cannot step a pile
whose frames sit at different levels. `lcm_step` is the same arithmetic, stateless and per frame
(`tests/test_scheduler.py` checks it against `LCMScheduler.step`). `PileSchedule` precomputes, once, the
timestep of each level and the timestep it steps to (StreamDiffusion-style per-slot schedule).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from diffusers import LCMScheduler

from rain.config import SchedulerConfig

SIGMA_DATA = 0.5  # LCM boundary-condition constant (diffusers' `sigma_data`)


def append_dims(x: torch.Tensor, target_dims: int) -> torch.Tensor:
    """Append trailing singleton dims so a per-frame coefficient broadcasts over (..., h, w)."""
    return x[(...,) + (None,) * (target_dims - x.ndim)]


def trailing_timesteps(num_steps: int, num_train_timesteps: int) -> torch.Tensor:
    """Trailing spacing: 4 of 1000 -> [999, 749, 499, 249]."""
    if not 1 <= num_steps <= num_train_timesteps:
        raise ValueError(f"steps must be in 1..{num_train_timesteps}, got {num_steps}")
    ratio = num_train_timesteps / num_steps
    return torch.round(torch.arange(num_train_timesteps, 0, -ratio)).long()[:num_steps] - 1


def strength_timesteps(num_steps: int, num_train_timesteps: int, strength: torch.Tensor) -> torch.Tensor:
    """(..., num_steps) evenly spaced timesteps below strength (...,) * T: strength 1 is `trailing_timesteps`
    ([999, 749, 499, 249]), 0.6 gives [599, 449, 299, 149] (img2img: the top level keeps the input's trace)."""
    if bool((strength * num_train_timesteps < num_steps).any()) or bool((strength > 1).any()):
        raise ValueError(f"strength must be in [{num_steps / num_train_timesteps}, 1] for {num_steps} steps")
    fractions = torch.arange(num_steps, 0, -1, dtype=torch.float64, device=strength.device) / num_steps
    return torch.round(strength.double()[..., None] * num_train_timesteps * fractions).long() - 1


def alphas_cumprod(config: SchedulerConfig) -> torch.Tensor:
    """(num_train_timesteps,) from diffusers' own beta schedule and zero-terminal-SNR rescale."""
    return make_lcm_scheduler(config).alphas_cumprod.clone()


def make_lcm_scheduler(config: SchedulerConfig) -> LCMScheduler:
    return LCMScheduler(
        num_train_timesteps=config.num_train_timesteps, beta_start=config.beta_start, beta_end=config.beta_end,
        beta_schedule=config.beta_schedule, prediction_type=config.prediction_type,
        rescale_betas_zero_snr=config.rescale_betas_zero_snr, timestep_scaling=config.timestep_scaling,
        timestep_spacing="trailing", set_alpha_to_one=True,
    )


def guidance_embedding(w: torch.Tensor, dim: int) -> torch.Tensor:
    """(b,) guidance scales -> (b, dim) sin/cos embedding of w * 1000 (LCM's `w_embedding`)."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000.0) / (half - 1)))
    angles = (w.float() * 1000.0)[:, None] * freqs[None, :]
    emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    return torch.nn.functional.pad(emb, (0, dim % 2))


def lcm_step(
    sample: torch.Tensor,  # (n, ...) x_t of each frame
    model_output: torch.Tensor,  # (n, ...) epsilon, v or x_0 of each frame
    t: torch.Tensor,  # (n,) current timestep of each frame
    t_prev: torch.Tensor,  # (n,) timestep to step to; -1 means clean (the last step adds no noise)
    alphas_cumprod: torch.Tensor,  # (num_train_timesteps,)
    prediction_type: str,
    timestep_scaling: float,
    noise: torch.Tensor | None = None,  # (n, ...) fresh noise; drawn from `generator` if None
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:  # (x_{t_prev}, denoised x_0 estimate)
    d = sample.ndim
    a_t = append_dims(alphas_cumprod[t], d).to(sample.dtype)
    clean = t_prev < 0
    a_prev = append_dims(torch.where(clean, 1.0, alphas_cumprod[t_prev.clamp(min=0)]), d).to(sample.dtype)

    # 1. boundary-condition scalings of the consistency model
    scaled = append_dims(t.to(sample.dtype) * timestep_scaling, d)
    c_skip = SIGMA_DATA**2 / (scaled**2 + SIGMA_DATA**2)
    c_out = scaled / (scaled**2 + SIGMA_DATA**2) ** 0.5

    # 2. predicted x_0
    if prediction_type == "epsilon":
        x0 = (sample - (1 - a_t).sqrt() * model_output) / a_t.sqrt()
    elif prediction_type == "v_prediction":
        x0 = a_t.sqrt() * sample - (1 - a_t).sqrt() * model_output
    elif prediction_type == "sample":
        x0 = model_output
    else:
        raise ValueError(f"prediction_type must be 'epsilon', 'v_prediction' or 'sample', got {prediction_type!r}")
    denoised = c_out * x0 + c_skip * sample

    # 3. re-noise to the next level (frames that reach t_prev = -1 stay clean)
    if noise is None:
        noise = torch.randn(sample.shape, generator=generator, dtype=sample.dtype, device=sample.device)
    prev = a_prev.sqrt() * denoised + (1 - a_prev).sqrt() * noise
    return torch.where(append_dims(clean, d), denoised, prev), denoised


def reference_input(x_t: torch.Tensor, pure_noise: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """The UNet's input: x_t (b, c, f, h, w), except frames marked `pure_noise` (b, f), whose x_t carries no
    signal, show the reference latent (b, c, h, w) instead (`PileConfig.reference_input`)."""
    return torch.where(pure_noise[:, None, :, None, None], reference[:, :, None].to(x_t.dtype), x_t)


def step_factors(timesteps: torch.Tensor, next_timesteps: torch.Tensor, alphas: torch.Tensor,
                 timestep_scaling: float) -> torch.Tensor:
    """(3, levels): `lcm_step`'s x_{t_prev} = f0 * x_0 + f1 * x_t + f2 * noise per level (f2 = 0 when clean)."""
    a_prev = torch.where(next_timesteps < 0, 1.0, alphas.double()[next_timesteps.clamp(min=0)])
    scaled = timesteps.double() * timestep_scaling
    c_skip = SIGMA_DATA**2 / (scaled**2 + SIGMA_DATA**2)
    c_out = scaled / (scaled**2 + SIGMA_DATA**2) ** 0.5
    return torch.stack([a_prev.sqrt() * c_out, a_prev.sqrt() * c_skip, (1 - a_prev).sqrt()]).float()


@dataclass(frozen=True)
class PileSchedule:
    """Level i of the pile: frames at `timesteps[i]` step to `next_timesteps[i]` (level 0 is pure noise)."""

    timesteps: torch.Tensor  # (levels,) e.g. [999, 749, 499, 249]
    next_timesteps: torch.Tensor  # (levels,) e.g. [749, 499, 249, -1]
    alphas_cumprod: torch.Tensor  # (num_train_timesteps,)
    prediction_type: str
    timestep_scaling: float
    step_factors: torch.Tensor  # (3, levels) factors of x_0, x_t and fresh noise in x_{t_prev} (`lcm_step`)

    @classmethod
    def create(cls, config: SchedulerConfig, num_levels: int, strength: float = 1.0) -> "PileSchedule":
        ts = strength_timesteps(num_levels, config.num_train_timesteps, torch.tensor(float(strength)))
        next_ts, alphas = torch.cat([ts[1:], ts.new_tensor([-1])]), alphas_cumprod(config)
        return cls(ts, next_ts, alphas, config.prediction_type, config.timestep_scaling,
                   step_factors(ts, next_ts, alphas, config.timestep_scaling))

    def enter(self, content: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """img2img entry: content latents (..., c, f, h, w) noised to the top level (pure noise at strength 1)."""
        a = self.alphas_cumprod[self.timesteps[0]].to(content.dtype)
        return a.sqrt() * content + (1 - a).sqrt() * noise

    def to(self, device: torch.device) -> "PileSchedule":
        return dataclasses.replace(self, timesteps=self.timesteps.to(device),
                                   next_timesteps=self.next_timesteps.to(device),
                                   alphas_cumprod=self.alphas_cumprod.to(device),
                                   step_factors=self.step_factors.to(device))

    def pure_noise(self, levels: torch.Tensor) -> torch.Tensor:
        """Which frames at `levels` hold no signal at all (alphas_cumprod == 0: zero terminal SNR)."""
        return self.alphas_cumprod[self.timesteps[levels]] == 0

    def stays(self, levels: torch.Tensor) -> torch.Tensor:
        """Which frames at `levels` stay noisy after their step (the rest leave the pile clean)."""
        return self.next_timesteps[levels] >= 0

    def step(self, sample: torch.Tensor, model_output: torch.Tensor, levels: torch.Tensor,
             generator: torch.Generator | None = None, noise: torch.Tensor | None = None) -> torch.Tensor:
        """(n, ...) frames at `levels` (n,) -> the same frames one level cleaner: `lcm_step` folded into three
        passes over the frames, with fresh noise (n', ...) drawn only for the n' frames that stay noisy
        (given as `noise` in tests). The frames' levels must be sorted oldest first, as the pile keeps them."""
        k_out, k_skip, k_noise = self.step_factors[:, levels]  # (n,) each
        stays = self.stays(levels)  # (n,) frames that get noise again
        first = int((~stays).sum())  # the clean frames are the oldest, in front
        if bool(stays[:first].any()):
            raise ValueError("step needs the frames' levels sorted oldest first (the pile's order)")
        d = sample.ndim
        out = model_output * append_dims(k_out, d) if self.prediction_type == "sample" else \
            self._x0(sample, model_output, levels) * append_dims(k_out, d)
        out.addcmul_(sample, append_dims(k_skip, d))
        if first < len(levels):
            if noise is None:
                noise = torch.randn(out[first:].shape, generator=generator, dtype=out.dtype, device=out.device)
            out[first:].addcmul_(noise, append_dims(k_noise[first:], d))
        return out

    def _x0(self, sample: torch.Tensor, model_output: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        a_t = append_dims(self.alphas_cumprod[self.timesteps[levels]], sample.ndim).to(sample.dtype)
        if self.prediction_type == "epsilon":
            return (sample - (1 - a_t).sqrt() * model_output) / a_t.sqrt()
        return a_t.sqrt() * sample - (1 - a_t).sqrt() * model_output  # v_prediction
