"""A reference shift in front of the colour skip (beyond the paper; the CPU tier's pixel space, faces).

The colour skip from the reference copies the reference's pixels at the same place: right for a static
background, wrong wherever the character has moved. Most of a face model's error is there (the moving
character: ~10-14 % of the pixels, MSE ~2,000 against ~100 on the background, docs/COLOUR_SKIP.md). A
per-patch shifted copy of the reference, the best shift on a 4-pixel grid within +-16 px picked with the
truth, scores 24-29 dB on held-out frames (docs/REFERENCE_SHIFT.md), against the model's 21.6.

So before the colour map, the reference is moved, per 16x16 patch, by a learned mix of shifts: from the
UNet's last features a 3x3 conv predicts, per patch, a softmax over S shifts (dy, dx on a `SHIFT_STEP`
grid within +-radius) and a gate g; the skip's source becomes source + g (sum_s w_s shift_s(source) - source).
Softmax weights get a gradient for every shift (a bilinear `grid_sample` only sees +-1 pixel), as in kernel-
predicting frame interpolation. The conv starts at zero (g = 0), so a model that grows it is unchanged.
The source must be shared by the frames of a clip (the reference): its S shifted copies are made once per
clip, not per frame, and a stream makes them once per reference (`ReferenceState.shifted`).

Two layouts of the shifts (`UNetConfig.reference_shift_axes`):
- "joint": one softmax over the 2-D grid of shifts, `SHIFT_STEP` pixels apart (81 shifts within +-16 px).
- "separable": a softmax over the rows and one over the columns, every pixel within +-radius (2 x 49 within
  +-24 px), mixed as p(dy) q(dx). A single shift is one row and one column, so the best single shift on the
  1-px grid is reachable (the oracle: docs/REFERENCE_SHIFT.md), at two small matrix products per patch: the
  patch is (row band) @ window @ (column band), and a stream keeps only each patch's window.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rain.config import REFERENCE_SHIFT_AXES as SHIFT_AXES
from rain.config import REFERENCE_SHIFT_STEP as SHIFT_STEP
from rain.models.colour_skip import RATE  # the conv's output is scaled by this, as the colour skip's


def shift_offsets(radius: int) -> list[tuple[int, int]]:
    """The (dy, dx) shifts within +-radius on the `SHIFT_STEP` grid, row-major; (0, 0) in the middle."""
    if radius <= 0 or radius % SHIFT_STEP:
        raise ValueError(f"a reference shift radius must be a positive multiple of {SHIFT_STEP} pixels, got {radius}")
    steps = range(-radius, radius + 1, SHIFT_STEP)
    return [(dy, dx) for dy in steps for dx in steps]


def patch_windows(patches: torch.Tensor, radius: int) -> torch.Tensor:
    """patches (b, 3 * p * p, h, w) in `pixel_unshuffle`'s layout -> (b, h * w, 3, p + 2r, p + 2r): each patch's
    window, the patch and everything a shift within +-radius can bring into it (edges repeated); window pixel
    (r + y + dy, r + x + dx) is what pixel (y, x) of the patch shows under shift (dy, dx)."""
    b, c, h, w = patches.shape
    p = int(round((c // 3) ** 0.5))
    if 3 * p * p != c:
        raise ValueError(f"a reference shift moves RGB pixel patches (3 * p * p channels), got {c} channels")
    image = F.pad(F.pixel_shuffle(patches, p), (radius,) * 4, mode="replicate")  # (b, 3, H + 2r, W + 2r)
    side = p + 2 * radius
    windows = F.unfold(image, side, stride=p).reshape(b, 3, side, side, h * w)  # (b, 3, side, side, hw)
    return windows.permute(0, 4, 1, 2, 3).contiguous()  # (b, hw, 3, side, side)


def shifted_stack(patches: torch.Tensor, radius: int) -> torch.Tensor:
    """patches (b, 3 * p * p, h, w) in `pixel_unshuffle`'s layout -> (b, h * w, S, 3 * p * p): for every patch, the
    image moved by every shift of `shift_offsets(radius)` (pixel (y, x) of shift (dy, dx) shows the image at
    (y + dy, x + dx), edges repeated), laid out for one batched matrix product per patch."""
    b, c, h, w = patches.shape
    windows = patch_windows(patches, radius)  # (b, hw, 3, side, side)
    p = windows.shape[-1] - 2 * radius
    n = 2 * radius // SHIFT_STEP + 1  # shifts per axis
    sb, sp, sc, sy, sx = windows.stride()
    stack = windows.as_strided((b, h * w, n, n, 3, p, p), (sb, sp, SHIFT_STEP * sy, SHIFT_STEP * sx, sc, sy, sx))
    return stack.reshape(b, h * w, n * n, c)  # one copy, in the product's layout


def prepared_reference(patches: torch.Tensor, radius: int, axes: str) -> torch.Tensor:
    """What a reference shift of `radius` and `axes` reads the reference from, made once per reference: the
    stack of shifted copies ("joint", `shifted_stack`) or each patch's window ("separable", `patch_windows`)."""
    return shifted_stack(patches, radius) if axes == "joint" else patch_windows(patches, radius)


def band(weights: torch.Tensor, p: int) -> torch.Tensor:
    """weights (..., n) over the shifts -r..r of one axis (n = 2r + 1) -> (..., p, p + n - 1): row y holds them
    in columns y..y + n - 1, so (band @ window) mixes the window's rows (or columns, transposed) per shift."""
    n = weights.shape[-1]
    padded = F.pad(weights, (0, p))  # (..., n + p): the weights, then p zeros
    # p copies end to end, read in rows of n + p - 1: each row starts one place further back, so row y has y
    # zeros (from the previous copy's tail), then the weights
    copies = padded.repeat(*([1] * (weights.ndim - 1)), p)  # (..., p * (n + p))
    return copies[..., :p * (n + p - 1)].unflatten(-1, (p, n + p - 1))


class ReferenceShift(nn.Module):
    def __init__(self, in_channels: int, radius: int, axes: str = "joint") -> None:
        super().__init__()
        if axes not in SHIFT_AXES:
            raise ValueError(f"a reference shift's axes are one of {SHIFT_AXES}, got {axes!r}")
        if axes == "separable" and radius <= 0:
            raise ValueError(f"a reference shift radius must be a positive number of pixels, got {radius}")
        self.radius, self.axes = radius, axes
        self.count = len(shift_offsets(radius)) if axes == "joint" else 2 * (2 * radius + 1)  # logits
        self.weights = nn.Conv2d(in_channels, self.count + 1, kernel_size=3, padding=1)  # logits and a gate
        nn.init.zeros_(self.weights.weight)  # g = 0: the source as it was
        nn.init.zeros_(self.weights.bias)

    def forward(self, features: torch.Tensor, source: torch.Tensor, stack: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """features (b * f, c0, h, w); source (b, c, f, h, w), the same for every frame of a clip; `stack`:
        `prepared_reference` of that source, if already made (a stream makes it once per reference) ->
        the source as the colour skip takes it (the gate's blend) and the mix of shifts alone, both
        (b * f, c, h, w) float32."""
        b, c, f, h, w = source.shape
        if stack is None:
            stack = prepared_reference(source[:, :, 0].to(features.dtype), self.radius, self.axes)
        p = int(round((c // 3) ** 0.5))
        side = p + 2 * self.radius
        expected = (b, h * w, self.count, c) if self.axes == "joint" else (b, h * w, 3, side, side)
        if stack.shape != expected:
            raise ValueError(f"the prepared reference has shape {tuple(stack.shape)}, expected {expected}")
        out = (self.weights(features).float() * RATE).unflatten(0, (b, f))  # (b, f, logits + 1, h, w)
        logits = out[:, :, :-1].flatten(3).permute(0, 3, 1, 2)  # (b, hw, f, logits)
        moved = (_mix_joint(logits, stack) if self.axes == "joint"
                 else _mix_separable(logits, stack, p))  # (b, hw, f, c)
        moved = moved.float().permute(0, 2, 3, 1).reshape(b * f, c, h, w)  # (b*f, c, h, w)
        still = source.float().transpose(1, 2).reshape(b * f, c, h, w)
        gate = out[:, :, -1:].flatten(0, 1)  # (b*f, 1, h, w)
        return still + gate * (moved - still), moved


def _mix_joint(logits: torch.Tensor, stack: torch.Tensor) -> torch.Tensor:
    """logits (b, hw, f, S), stack (b, hw, S, c) -> (b, hw, f, c): the softmax-weighted shifted copies."""
    return torch.matmul(logits.softmax(dim=-1).to(stack.dtype), stack)


def _mix_separable(logits: torch.Tensor, windows: torch.Tensor, p: int) -> torch.Tensor:
    """logits (b, hw, f, 2n), windows (b, hw, 3, side, side) -> (b, hw, f, 3 * p * p): rows mixed by the first
    softmax, columns by the second."""
    rows, cols = (band(x.softmax(dim=-1).to(windows.dtype), p) for x in logits.chunk(2, dim=-1))  # (b, hw, f, p, side)
    mixed = torch.matmul(rows.unsqueeze(3), windows.unsqueeze(2))  # (b, hw, f, 3, p, side)
    mixed = torch.matmul(mixed, cols.unsqueeze(3).transpose(-1, -2))  # (b, hw, f, 3, p, p)
    return mixed.flatten(3)
