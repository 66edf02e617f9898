"""A pixel refiner after the decoder (beyond the paper; the CPU tier's pixel space).

The tiny tier draws each 16x16 pixel patch from 64 features at the patch grid, and moves the reference per
patch by a soft mix of shifts: edges and small parts (eyes, mouth) come out soft (docs/REFINER.md). The
refiner is a small convolutional net at full resolution. It sees the emitted frame, that frame's condition
image (the landmarks at pixel precision, which the UNet only sees through a 16x downsampling pose guider)
and the reference image, and adds a correction to the frame.

It runs once per emitted frame, after the pile: nothing it changes feeds back into the pile, so it cannot
make a stream drift, and its cost is per frame, flat forever. Its last convolution starts at zero, so a
model that grows a refiner emits what it emitted before.

Layout (width w): 3x3 conv of the 9 input channels to w at full resolution; a strided 3x3 conv to 2w at
half resolution; two residual blocks there; a 1x1 conv and a pixel shuffle back to w at full resolution,
added to the first layer's features; a 3x3 conv to the RGB correction. With `levels` 2, a quarter-resolution
level (a strided conv to 4w, a residual block, a 1x1 conv and a pixel shuffle back, added) sits between the two
half-resolution blocks: ~3x the receptive field for ~1.5x the cost. Each further level nests the same detour one
resolution lower (levels 3: an eighth-resolution level at 8w, ~2x the receptive field again for ~1.3x the cost);
`deepened` adds levels to a trained refiner without changing what it draws.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rain.config import REFINER_LEVELS

INPUTS = 9  # the frame, its condition image and the reference, RGB each


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.a = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.b = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(F.silu(self.a(x)))


class _Lower(nn.Module):
    """A residual detour through half the resolution and twice the channels of its input; with `depth` > 1 the
    detour holds a further one (`inner`) after its residual block. A nested detour's last conv starts at zero, so
    deepening a trained refiner (`deepened`) starts from what it drew."""

    def __init__(self, channels: int, depth: int = 1) -> None:
        super().__init__()
        self.down = nn.Conv2d(channels, 2 * channels, kernel_size=3, stride=2, padding=1)
        self.body = _Residual(2 * channels)
        self.inner = _Lower(2 * channels, depth - 1) if depth > 1 else None
        if self.inner is not None:
            nn.init.zeros_(self.inner.up.weight)
            nn.init.zeros_(self.inner.up.bias)
        self.up = nn.Conv2d(2 * channels, 4 * channels, kernel_size=1)  # then a pixel shuffle back

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(F.silu(self.down(x)))
        h = h if self.inner is None else self.inner(h)
        return x + F.pixel_shuffle(self.up(h), 2)


class Refiner(nn.Module):
    def __init__(self, width: int, levels: int = 1) -> None:
        super().__init__()
        if width < 1 or levels not in REFINER_LEVELS:
            raise ValueError(f"a refiner needs a positive width and levels in {REFINER_LEVELS}, got {width} and {levels}")
        self.width, self.levels = width, levels
        self.inp = nn.Conv2d(INPUTS, width, kernel_size=3, padding=1)
        self.down = nn.Conv2d(width, 2 * width, kernel_size=3, stride=2, padding=1)
        lower = [_Lower(2 * width, levels - 1)] if levels >= 2 else []
        self.body = nn.Sequential(_Residual(2 * width), *lower, _Residual(2 * width))
        self.up = nn.Conv2d(2 * width, 4 * width, kernel_size=1)  # then a pixel shuffle: w channels, twice the size
        self.out = nn.Conv2d(width, 3, kernel_size=3, padding=1)
        nn.init.zeros_(self.out.weight)  # an identity start: the frame as emitted
        nn.init.zeros_(self.out.bias)

    def forward(self, frames: torch.Tensor, conditions: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """frames, conditions (n, 3, H, W) and reference (1 or n, 3, H, W), all in [0, 1], H and W multiples of 2 ** levels ->
        the refined frames (n, 3, H, W) float32 (not clamped)."""
        n, _, h, w = frames.shape
        m = 2 ** self.levels
        if conditions.shape != frames.shape or reference.shape[1:] != frames.shape[1:] or h % m or w % m:
            raise ValueError(f"a refiner takes frames, conditions and a reference of one size, a multiple of {m}; got "
                             f"{tuple(frames.shape)}, {tuple(conditions.shape)}, {tuple(reference.shape)}")
        x = torch.cat([frames, conditions, reference.expand(n, -1, -1, -1)], dim=1) * 2 - 1  # (n, 9, H, W) centred
        x = x.to(self.inp.weight.dtype)
        skip = F.silu(self.inp(x))  # (n, w, H, W)
        x = self.body(F.silu(self.down(skip)))  # (n, 2w, H/2, W/2)
        x = F.silu(F.pixel_shuffle(self.up(x), 2) + skip)  # (n, w, H, W)
        return frames.float() + self.out(x).float()


def deepened(trained: Refiner, levels: int) -> Refiner:
    """A refiner with `levels` (more than `trained` has, which must be at least 2) holding `trained`'s weights; the
    new levels start as the identity, so it draws what `trained` drew."""
    if trained.levels < 2 or levels <= trained.levels:
        raise ValueError(f"a refiner deepens from 2 or more levels to more; got {trained.levels} -> {levels}")
    deeper = Refiner(trained.width, levels)
    missing, unexpected = deeper.load_state_dict(trained.state_dict(), strict=False)
    if unexpected or not all(".inner." in k for k in missing):
        raise RuntimeError(f"deepening a refiner: unexpected {unexpected}, missing {missing}")
    return deeper


def aligned(reference: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """The reference image (1, 3, H, W) moved onto each frame by its map -> (f, 3, H, W): bilinear, the border pixels
    repeated beyond the image. A map is a similarity (f, 2, 3) of pixel coordinates from the reference to the frame
    (rain/conditioning/align.py `face_similarity`) or a warp (f, G, G, 2): the reference pixel each of G x G nodes
    spanning the frame takes, filled in between bilinearly (rain/conditioning/warp.py `face_warp`)."""
    f, (h, w) = maps.shape[0], reference.shape[-2:]
    scale = torch.tensor([w - 1, h - 1], dtype=torch.float32, device=reference.device)
    if maps.shape[1:] == (2, 3):
        source = _similarity_sources(maps, h, w, reference.device)  # (f, H, W, 2) x, y in the reference
    elif maps.ndim == 4 and maps.shape[-1] == 2:
        source = F.interpolate(maps.float().permute(0, 3, 1, 2), size=(h, w), mode="bilinear",
                               align_corners=True).permute(0, 2, 3, 1)
    else:
        raise ValueError(f"maps must be similarities (f, 2, 3) or warps (f, G, G, 2), got {tuple(maps.shape)}")
    image = reference.expand(f, -1, -1, -1)
    return F.grid_sample(image.float(), source / scale * 2 - 1, mode="bilinear", padding_mode="border",
                         align_corners=True).to(image.dtype)


def _similarity_sources(similarities: torch.Tensor, h: int, w: int, device: torch.device) -> torch.Tensor:
    """(f, H, W, 2): the reference pixel (x, y) each frame pixel takes under its similarity (f, 2, 3)."""
    f = similarities.shape[0]
    full = torch.cat([similarities.double(), torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64,
                                                          device=similarities.device).expand(f, 1, 3)], 1)
    inverse = torch.linalg.inv(full)[:, :2].float().to(device)  # (f, 2, 3): frame pixel -> reference pixel
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32, device=device),
                            torch.arange(w, dtype=torch.float32, device=device), indexing="ij")
    pixels = torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(1, h * w, 3)  # (1, HW, 3)
    return (pixels @ inverse.transpose(1, 2)).reshape(f, h, w, 2)
