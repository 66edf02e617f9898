"""The pile: groups of latent frames at stepped noise levels, oldest (cleanest) first.

A group enters at level 0 (pure noise, the noisiest timestep), gains one level per UNet call and leaves
when it has passed every level. While the pile fills, the groups present hold the noisiest levels:
with 4 levels, call 0 sees [999], call 1 [749, 999], call 2 [499, 749, 999], call 3 [249, 499, 749, 999]
and emits its first group. These are pure functions on an immutable list of `Group`s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch


@dataclass(frozen=True)
class Group:
    latents: torch.Tensor  # (b, c, f, h, w) at `level`
    pose: torch.Tensor  # (b, c0, f, h, w) pose-guider features, computed once when the group entered
    level: int  # UNet calls this group has been through (0 = pure noise)
    first_frame: int  # stream index of the group's first frame
    valid: int  # frames that carry real input (the rest pad the last group of a finite sequence)
    content: torch.Tensor | None = None  # (b, c, f, h, w) the condition images' clean latents, kept if the model maps them
    conditions: torch.Tensor | None = None  # (b, 3, f, H, W) the condition images in [0, 1], kept for a refiner
    maps: torch.Tensor | None = None  # (f, 2, 3) or (f, G, G, 2) reference -> frame maps, kept for a model that aligns
    aligned: torch.Tensor | None = None  # (b, c, f, h, w) the reference's latent moved by those maps, for a UNet that reads it


def push(groups: tuple[Group, ...], group: Group, num_levels: int) -> tuple[Group, ...]:
    if len(groups) >= num_levels:
        raise RuntimeError(f"the pile is full ({num_levels} groups): step it before pushing")
    if group.level != 0:
        raise ValueError("a new group enters the pile as pure noise, at level 0")
    return groups + (group,)


def frame_levels(groups: tuple[Group, ...]) -> torch.Tensor:
    """(F,) level of every frame in the pile, oldest group first."""
    return torch.cat([torch.full((g.latents.shape[2],), g.level, dtype=torch.long, device=g.latents.device)
                      for g in groups])


def stack(groups: tuple[Group, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """The UNet's inputs: latents (b, c, F, h, w) and pose features (b, c0, F, h, w)."""
    return torch.cat([g.latents for g in groups], dim=2), torch.cat([g.pose for g in groups], dim=2)


def stack_content(groups: tuple[Group, ...]) -> torch.Tensor | None:
    """The condition latents (b, c, F, h, w) of every frame in the pile, or None if the groups keep none."""
    if any(g.content is None for g in groups):
        return None
    return torch.cat([g.content for g in groups], dim=2)


def stack_aligned(groups: tuple[Group, ...]) -> torch.Tensor | None:
    """The aligned reference latents (b, c, F, h, w) of every frame in the pile, or None if the groups keep none."""
    if any(g.aligned is None for g in groups):
        return None
    return torch.cat([g.aligned for g in groups], dim=2)


def advance(
    groups: tuple[Group, ...], stepped: torch.Tensor, num_levels: int,  # stepped: (b, c, F, h, w)
) -> tuple[tuple[Group, ...], Group | None]:
    """Give every group its stepped latents one level up; pop the group that passed the last level."""
    sizes = [g.latents.shape[2] for g in groups]
    moved = tuple(replace(g, latents=part, level=g.level + 1)
                  for g, part in zip(groups, torch.split(stepped, sizes, dim=2)))
    if moved and moved[0].level == num_levels:
        return moved[1:], moved[0]
    return moved, None


def slot_noise(bank: torch.Tensor, levels: torch.Tensor, frames_per_group: int) -> torch.Tensor:
    """A stream's fixed noise (`PileConfig.fixed_noise`): bank (levels, c, f, h, w), bank[0] the entry's and
    bank[l + 1] the re-noising after level l -> (F, c, h, w), each frame's noise for its step from `levels` (F,),
    by its slot in its group (frames that leave clean take any: the step adds none)."""
    slots = torch.arange(len(levels), device=levels.device) % frames_per_group
    return bank[(levels + 1).clamp(max=len(bank) - 1), :, slots]
