"""Per-stream state: everything that changes while a stream runs lives here, never in the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from rain.pile import Group
from rain.scheduler import PileSchedule


@dataclass(frozen=True)
class ReferenceState:
    """What one reference image contributes, computed once and reused for the whole stream."""

    tokens: dict[str, torch.Tensor]  # self-attention layer name -> (1, n, c) reference-net tokens
    image_embeds: torch.Tensor  # (1, 1, d) cross-attention token
    latents: torch.Tensor  # (1, c, h, w) the reference image's latent
    image: torch.Tensor | None = None  # (1, 3, H, W) the reference image in [0, 1], kept for a refiner
    preset: torch.Tensor | None = None  # (1, n) a style preset's raw controls read off this reference, if the model has one
    shifted: torch.Tensor | None = None  # a reference shift's `prepared_reference` of the latent (shifted copies or windows), if any


@dataclass
class StreamState:
    """One live or offline stream; a pipeline serves any number of these independently."""

    reference: ReferenceState  # may be swapped between calls: later frames take the new identity
    generator: torch.Generator  # all of this stream's noise
    seed: int  # the generator's seed, for the record
    schedule: PileSchedule  # the pile's timesteps at this stream's strength (`RainPipeline.set_strength`)
    strength: float  # img2img strength of a latent-entry model (1.0 = new groups enter as pure noise)
    frames_per_group: int  # frames entering (and leaving) this stream's pile per UNet call: its shape
    groups: tuple[Group, ...] = ()  # the pile, oldest group first
    noise: torch.Tensor | None = None  # (levels, c, f, h, w) the slots' fixed noise (`PileConfig.fixed_noise`); None: fresh
    frames_in: int = 0  # condition frames pushed so far
    frames_out: int = 0  # frames emitted so far
    calls: int = 0  # UNet calls so far
    stats: dict[str, float] = field(default_factory=dict)  # last call's timings (seconds) by stage

    @property
    def num_groups(self) -> int:
        """Groups in this stream's full pile = its noise levels = LCM steps (its schedule's length)."""
        return len(self.schedule.timesteps)
