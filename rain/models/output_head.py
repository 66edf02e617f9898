"""A nonlinear patch head beside the UNet's `conv_out` (beyond the paper; the CPU tier's pixel space).

In exact pixel space every 16x16x3 output patch is one position of the UNet's last feature map, and
diffusers' `conv_out` makes it linearly from 3x3 neighbours of 64 features: each patch is a linear
combination of a few hundred fixed patterns, so sharp edges at arbitrary places come out blurred
(docs/AUTOENCODER.md). The patch head adds a small MLP per position (3x3 conv -> SiLU -> 1x1 conv) whose
output is added to `conv_out`'s. Its last layer starts at zero, so a model that grows the head computes
exactly what it computed before, and training starts from there.
"""

from __future__ import annotations

import torch
from torch import nn


class PatchHead(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, width: int) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"the patch head needs a positive width, got {width}")
        self.hidden = nn.Conv2d(in_channels, width, kernel_size=3, padding=1)
        self.act = nn.SiLU()
        self.out = nn.Conv2d(width, out_channels, kernel_size=1)
        nn.init.zeros_(self.out.weight)  # an identity start: conv_out alone
        nn.init.zeros_(self.out.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # (n, c0, h, w) -> (n, c_out, h, w)
        return self.out(self.act(self.hidden(features)))
