"""A colour skip beside the UNet's `conv_out` (beyond the paper; the CPU tier's pixel space).

In exact pixel space each latent position is one 16x16x3 patch of the frame, and `conv_out` makes it
from 64 features: whatever the output shares with an image the model already holds exactly (the camera
frame for style transfer, the reference image's static background for a face) has to be squeezed through
those 64 features and comes out soft. The colour skip lets the output copy such a source instead: from the
last features it predicts, per patch, a 3x3 colour matrix M and an RGB offset b, and turns `conv_out`'s
output y into y + M (source - y) + b: M = I copies the source, M = 0 keeps y, and in between it blends
the two, colour by colour. (M acts on the difference, not on the source alone, so that copying is one
direction to learn: with y + M source, M had to grow while `conv_out` unlearned what it had made, and two
fine-tunes of 400-800 steps moved M by only ~0.05.) A colour grade, a palette ramp locally, or "the
background stays where it was" are all such maps (a per-patch least-squares fit of the style world's
palette and grade styles from the camera frame measures 29-38 dB, against 12-16 dB for the frame itself).
Its conv starts at zero, so a model that grows the skip computes what it computed before.
With `smooth` the maps are read at the patch centres and interpolated bilinearly to every pixel in between
(clamped at the frame's border), so neighbouring patches no longer meet at a visible 16x16 seam in flat areas; a
map that is the same in every patch gives the same output either way.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from rain.config import COLOUR_SKIP_SOURCES
COEFFICIENTS = 12  # per patch: a 3x3 colour matrix (row-major, out x in) and an RGB offset
RATE = 10.0  # the conv's output is scaled by this: AdamW's steps of about lr then move the maps ~10x faster,
# as they must travel ~1 (an identity) from zero while the rest of a trained UNet only fine-tunes


def colour_source(kind: str, reference_latents: torch.Tensor, condition_latents: torch.Tensor | None,
                  frames: int) -> torch.Tensor | None:
    """The clean latent (b, c, f, h, w) a colour skip of `kind` maps, for `frames` frames; None for no skip.
    reference_latents (b, c, h, w); condition_latents (b, c, f, h, w), needed for kind "condition"."""
    if not kind:
        return None
    if kind == "reference":
        return reference_latents[:, :, None].expand(-1, -1, frames, -1, -1)
    if kind == "condition":
        if condition_latents is None:
            raise ValueError("a colour skip from the condition needs the condition images' latents")
        return condition_latents
    raise ValueError(f"colour skip source must be one of {COLOUR_SKIP_SOURCES} or '' (none), got {kind!r}")


@functools.lru_cache(maxsize=8)
def bilinear_weights(patch: int) -> torch.Tensor:
    """(p*p, 9): each pixel's weight on the maps of its patch and the 8 around it (rows -1, 0, +1 x columns -1, 0,
    +1), bilinear between patch centres; computed once per patch size (a constant, never written to)."""
    u = (torch.arange(patch, dtype=torch.float32) + 0.5) / patch - 0.5  # (p,): offset from the centre, in patches
    rows = torch.stack([(-u).clamp(min=0), 1 - u.abs(), u.clamp(min=0)], dim=1)  # (p, 3)
    return torch.einsum("ya,xb->yxab", rows, rows).reshape(patch * patch, 9)


def per_pixel(coeffs: torch.Tensor, patch: int) -> torch.Tensor:
    """Per-patch coefficients (n, k, h, w) -> interpolated bilinearly between patch centres to every pixel (the
    frame's border patches extended outwards), in pixel_unshuffle's layout (n, k, p*p, h, w)."""
    n, k, h, w = coeffs.shape
    padded = F.pad(coeffs, (1, 1, 1, 1), mode="replicate")  # (n, k, h + 2, w + 2)
    around = torch.stack([padded[:, :, a:a + h, b:b + w] for a in range(3) for b in range(3)], 2)  # (n, k, 9, h, w)
    weights = bilinear_weights(patch).to(coeffs.device, coeffs.dtype)  # (p*p, 9)
    with torch.autocast(coeffs.device.type, enabled=False):  # in the coefficients' own precision
        pixels = weights @ around.reshape(n, k, 9, h * w)  # (n, k, p*p, h * w)
    return pixels.reshape(n, k, patch * patch, h, w)


class ColourSkip(nn.Module):
    def __init__(self, in_channels: int, smooth: bool = False) -> None:
        super().__init__()
        self.smooth = smooth  # the maps interpolated between patch centres (True) or constant per patch
        self.coefficients = nn.Conv2d(in_channels, COEFFICIENTS, kernel_size=3, padding=1)
        nn.init.zeros_(self.coefficients.weight)  # an identity start: conv_out alone
        nn.init.zeros_(self.coefficients.bias)

    def forward(self, features: torch.Tensor, base: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """features (n, c0, h, w); base (`conv_out`'s output) and source (n, 3 * p * p, h, w) pixel patches ->
        base + M (source - base) + b, (n, 3 * p * p, h, w)."""
        n, c, h, w = source.shape
        if c % 3:
            raise ValueError(f"a colour skip maps RGB pixel patches (3 * p * p channels), got {c} channels")
        coeffs = self.coefficients(features).float() * RATE  # (n, 12, h, w)
        y = base.float().reshape(n, 3, c // 3, h, w)  # (n, in, p*p, h, w): pixel_unshuffle's layout
        difference = source.float().reshape(y.shape) - y
        if self.smooth:
            patch = math.isqrt(c // 3)
            if patch * patch != c // 3:
                raise ValueError(f"smooth colour maps need square patches (3 * p * p channels), got {c} channels")
            coeffs = per_pixel(coeffs, patch)  # (n, 12, p*p, h, w): row-major matrix (out x in), then offset
            mapped = y + coeffs[:, 9:]  # (n, out, p*p, h, w)
            for i in range(3):  # the matrix's column i times the difference's channel i
                mapped = mapped + coeffs[:, i:9:3] * difference[:, i:i + 1]
        else:
            matrix = coeffs[:, :9].reshape(n, 3, 3, h, w)  # (n, out, in, h, w)
            offset = coeffs[:, 9:].reshape(n, 3, 1, h, w)  # (n, out, 1, h, w)
            mapped = y + torch.einsum("noihw,niphw->nophw", matrix, difference) + offset  # (n, out, p*p, h, w)
        return mapped.reshape(n, c, h, w)
