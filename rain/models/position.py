"""Where a token sits: a fixed 2-D sine/cosine grid, projected to the UNet's first width (beyond the paper).

Spatial self-attention has no notion of position. For the published SD1.5 model that is no loss: deep
stacks of padded convolutions teach a 1-billion-parameter UNet where it is. A tiny CPU-tier UNet whose
newest frames start from pure noise has nothing to tell a query token where it is, so it cannot pick
the reference token at the same place and averages them instead (a blurry mean colour). Adding the same
grid, through a learned 1x1 projection, after `conv_in` of both the denoiser and the reference net lets
queries and keys match by position. The projection starts at zero, so a fresh model is unchanged.
"""

from __future__ import annotations

import math

import torch


def sincos_grid(height: int, width: int, frequencies: int) -> torch.Tensor:
    """(4 * frequencies, height, width): sin and cos of y and x at octave frequencies, coordinates in [0, 1)."""
    ys = (torch.arange(height) + 0.5) / height  # (h,)
    xs = (torch.arange(width) + 0.5) / width  # (w,)
    scales = math.pi * 2.0 ** torch.arange(frequencies)  # (F,)
    y = ys[None, :, None] * scales[:, None, None]  # (F, h, 1)
    x = xs[None, None, :] * scales[:, None, None]  # (F, 1, w)
    grid_y = torch.cat([y.sin(), y.cos()]).expand(-1, height, width)  # (2F, h, w)
    grid_x = torch.cat([x.sin(), x.cos()]).expand(-1, height, width)  # (2F, h, w)
    return torch.cat([grid_y, grid_x])  # (4F, h, w)


class GridPosition(torch.nn.Module):
    """(h, w) -> (1, channels, h, w) position features, added to conv_in's output."""

    def __init__(self, channels: int, frequencies: int = 6) -> None:
        super().__init__()
        self.frequencies = frequencies  # octaves per axis: 6 resolves 64 positions along each side
        self.proj = torch.nn.Conv2d(4 * frequencies, channels, kernel_size=1)
        torch.nn.init.zeros_(self.proj.weight)
        torch.nn.init.zeros_(self.proj.bias)

    def forward(self, height: int, width: int) -> torch.Tensor:
        grid = sincos_grid(height, width, self.frequencies).to(self.proj.weight)
        return self.proj(grid[None])  # (1, channels, h, w)
