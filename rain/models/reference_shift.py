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
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rain.config import REFERENCE_SHIFT_STEP as SHIFT_STEP
from rain.models.colour_skip import RATE  # the conv's output is scaled by this, as the colour skip's


def shift_offsets(radius: int) -> list[tuple[int, int]]:
    """The (dy, dx) shifts within +-radius on the `SHIFT_STEP` grid, row-major; (0, 0) in the middle."""
    if radius <= 0 or radius % SHIFT_STEP:
        raise ValueError(f"a reference shift radius must be a positive multiple of {SHIFT_STEP} pixels, got {radius}")
    steps = range(-radius, radius + 1, SHIFT_STEP)
    return [(dy, dx) for dy in steps for dx in steps]


def shifted_stack(patches: torch.Tensor, radius: int) -> torch.Tensor:
    """patches (b, 3 * p * p, h, w) in `pixel_unshuffle`'s layout -> (b, h * w, S, 3 * p * p): for every patch, the
    image moved by every shift of `shift_offsets(radius)` (pixel (y, x) of shift (dy, dx) shows the image at
    (y + dy, x + dx), edges repeated), laid out for one batched matrix product per patch."""
    b, c, h, w = patches.shape
    p = int(round((c // 3) ** 0.5))
    if 3 * p * p != c:
        raise ValueError(f"a reference shift moves RGB pixel patches (3 * p * p channels), got {c} channels")
    image = F.pad(F.pixel_shuffle(patches, p), (radius,) * 4, mode="replicate")  # (b, 3, H + 2r, W + 2r)
    side = p + 2 * radius  # each patch's window: the patch and everything a shift can bring into it
    windows = F.unfold(image, side, stride=p).reshape(b, 3, side, side, h * w)  # (b, 3, side, side, hw)
    windows = windows.permute(0, 4, 1, 2, 3).contiguous()  # (b, hw, 3, side, side)
    n = 2 * radius // SHIFT_STEP + 1  # shifts per axis
    sb, sp, sc, sy, sx = windows.stride()
    stack = windows.as_strided((b, h * w, n, n, 3, p, p), (sb, sp, SHIFT_STEP * sy, SHIFT_STEP * sx, sc, sy, sx))
    return stack.reshape(b, h * w, n * n, c)  # one copy, in the product's layout


class ReferenceShift(nn.Module):
    def __init__(self, in_channels: int, radius: int) -> None:
        super().__init__()
        self.radius = radius
        self.count = len(shift_offsets(radius))
        self.weights = nn.Conv2d(in_channels, self.count + 1, kernel_size=3, padding=1)  # S logits and a gate
        nn.init.zeros_(self.weights.weight)  # g = 0: the source as it was
        nn.init.zeros_(self.weights.bias)

    def forward(self, features: torch.Tensor, source: torch.Tensor, stack: torch.Tensor | None = None,
                ) -> torch.Tensor:
        """features (b * f, c0, h, w); source (b, c, f, h, w), the same for every frame of a clip; `stack`:
        `shifted_stack` of that source, if already made (a stream makes it once per reference) ->
        the moved source, (b * f, c, h, w) float32."""
        b, c, f, h, w = source.shape
        if stack is None:
            stack = shifted_stack(source[:, :, 0].to(features.dtype), self.radius)  # (b, hw, S, c)
        if stack.shape != (b, h * w, self.count, c):
            raise ValueError(f"the shifted reference has shape {tuple(stack.shape)}, expected {(b, h * w, self.count, c)}")
        out = (self.weights(features).float() * RATE).unflatten(0, (b, f))  # (b, f, S + 1, h, w)
        weights = out[:, :, :-1].softmax(dim=2).flatten(3).permute(0, 3, 1, 2).to(stack.dtype)  # (b, hw, f, S)
        moved = torch.matmul(weights, stack).float().permute(0, 2, 3, 1).reshape(b * f, c, h, w)  # (b*f, c, h, w)
        still = source.float().transpose(1, 2).reshape(b * f, c, h, w)
        gate = out[:, :, -1:].flatten(0, 1)  # (b*f, 1, h, w)
        return still + gate * (moved - still)
