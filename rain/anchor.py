"""Drift-proofing (beyond the paper): a clean anchor frame in front of every UNet call.

With `PileConfig.anchor`, the reference latent joins the pile's frames as frame 0 at timestep 0 (clean) with
no pose, so temporal attention always has the character's clean identity to attend to (an "attention
sink") however long the stream runs; the UNet's output for it is dropped. Training and streaming add it the
same way (`RainObjective`, `RainPipeline.step`). Kept only if it measures better (see the model cards).
"""

from __future__ import annotations

import torch


def anchored(x: torch.Tensor, timesteps: torch.Tensor, pose: torch.Tensor, anchor: torch.Tensor,
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (b, c, f, h, w), timesteps (b, f), pose (b, c0, f, h, w), anchor latent (b, c, h, w) -> the same
    with one more frame in front: the anchor at timestep 0 with zero pose features."""
    x = torch.cat([anchor[:, :, None].to(x.dtype), x], dim=2)  # (b, c, 1 + f, h, w)
    timesteps = torch.cat([timesteps.new_zeros((timesteps.shape[0], 1)), timesteps], dim=1)  # (b, 1 + f)
    pose = torch.cat([pose.new_zeros(pose[:, :, :1].shape), pose], dim=2)  # (b, c0, 1 + f, h, w)
    return x, timesteps, pose


def unanchored(output: torch.Tensor) -> torch.Tensor:
    """(b, c, 1 + f, h, w) UNet output -> (b, c, f, h, w) without the anchor frame."""
    return output[:, :, 1:]
