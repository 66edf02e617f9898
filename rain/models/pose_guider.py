"""The pose guider: per-frame convolutions from a condition image to the UNet's first width.

It is diffusers' `ControlNetConditioningEmbedding` (conv_in, pairs of 3x3 convs with a stride-2 step,
a zero-initialised conv_out), whose parameter names equal the published RAIN pose guider's.
"""

from __future__ import annotations

import torch
from diffusers.models.controlnets.controlnet import ControlNetConditioningEmbedding

from rain.config import PoseGuiderConfig


class PoseGuider(ControlNetConditioningEmbedding):
    def __init__(self, config: PoseGuiderConfig, out_channels: int) -> None:
        super().__init__(out_channels, config.conditioning_channels, config.block_out_channels)

    def forward(self, conditions: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """(b, 3, f, H, W) condition images in [0, 1] -> (b, c0, f, H/8, W/8) features."""
        b, c, f, height, width = conditions.shape
        x = conditions.permute(0, 2, 1, 3, 4).reshape(b * f, c, height, width)
        x = super().forward(x)  # (b*f, c0, h, w)
        return x.reshape(b, f, *x.shape[1:]).permute(0, 2, 1, 3, 4)
