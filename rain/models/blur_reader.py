"""A blur reader for the style preset (beyond the paper; session 31): exemplar -> how blurred a palette's grey was.

A palette style Gaussian-blurs the grey level (0.5-2.5 px) before its colour ramp. The preset's MLP reads that sigma
off a few sharpness statistics and, trained on 8 exemplars a step, misses by about 0.7 px; on the eval's held-out
palettes the true sigma would take the preset's frame from 30.4 to 40.7 dB and its flicker from 3.6 to 1.4 on one
sequence, from 27.6 to 31.5 dB and 6.8 to 3.9 on another (docs/style/s31/blur_oracle.txt). How blurred an image is
shows in its finest outlines, so this reader looks at the exemplar at full resolution, and it is trained alone on
many fresh palette exemplars (`python -m rain train --stage blur-reader`). Its read is the preset's blur control.

    logit = reader(exemplar)                      # (n,): sigma = max_blur * sigmoid(logit)
"""

from __future__ import annotations

import torch
from torch import nn


class BlurReader(nn.Module):
    """(n, 3, H, W) exemplar in [0, 1] at full resolution -> (n,) the logit of its blur sigma over the preset's
    max_blur: a 3x3 conv at full resolution, three strided ones (``width``, 2x, 2x, 4x channels), the mean and max of
    the last features, and a two-layer head."""

    def __init__(self, width: int) -> None:
        super().__init__()
        w = width
        chans = [w, 2 * w, 2 * w, 4 * w]
        layers: list[nn.Module] = [nn.Conv2d(3, w, 3, padding=1), nn.SiLU()]
        for a, b in zip(chans, chans[1:]):
            layers += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.SiLU()]
        self.convs = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(8 * w, 4 * w), nn.SiLU(), nn.Linear(4 * w, 1))

    def forward(self, exemplar: torch.Tensor) -> torch.Tensor:
        feats = self.convs(exemplar * 2 - 1)  # (n, 4w, H/8, W/8)
        return self.head(torch.cat([feats.mean((2, 3)), feats.amax((2, 3))], 1))[:, 0]
