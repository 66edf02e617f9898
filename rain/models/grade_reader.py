"""A grade reader for the style preset (beyond the paper; session 22): exemplar -> the colour grade's parameters.

A colour grade (hue rotation, saturation gain, a gamma per RGB channel and a contrast about mid-grey) shows in an
exemplar only against what its content's colours were, which the exemplar does not hold: a purple face is a graded
face, a purple shirt may be a purple shirt. Reading that needs what the content is (skin, sky, foliage), which a
conv net learns from many graded images, and which the preset's MLP over colour statistics does not
(docs/STYLE_PRESET.md, Session 22). This reader is trained alone on graded content (`python -m rain train --stage
grade-reader`) and hands its parametric grade to the preset as the base of its grade controls.

    params = reader(exemplar)                      # (n, 6) in units of GRADE_SCALES
    hue, log_sat, curves = grade_controls(params, knots)
"""

from __future__ import annotations

import torch
from torch import nn

# the parameters the reader outputs, in units of their spread over the style world's grades (hue +-40 OpenCV units =
# +-0.22 turns, gamma exp(+-0.4), contrast 0.7-1.5, saturation 0.2-1.8), so that each is near unit variance
GRADE_PARAMS = ("hue", "log_gamma_r", "log_gamma_g", "log_gamma_b", "log_contrast", "log_saturation")
GRADE_SCALES = torch.tensor([0.13, 0.23, 0.23, 0.23, 0.2, 0.55])


def grade_controls(params: torch.Tensor, knots: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(n, 6) parameters in units of GRADE_SCALES -> hue shift in turns (n,), log saturation gain (n,) and the tone
    curve of each channel at ``knots`` levels (n, 3, knots): clip(0.5 + (x ** gamma - 0.5) * contrast, 0, 1), the
    style world's own grade (rain/worlds/style_filters.py)."""
    p = params * GRADE_SCALES.to(params)
    levels = torch.linspace(0, 1, knots, device=params.device, dtype=params.dtype).view(1, 1, knots)
    gamma, contrast = p[:, 1:4].exp()[..., None], p[:, 4].exp().view(-1, 1, 1)
    curves = (0.5 + (levels ** gamma - 0.5) * contrast).clamp(0, 1)  # (n, 3, knots)
    return p[:, 0], p[:, 5], curves


class GradeReader(nn.Module):
    """(n, 3, S, S) exemplar in [0, 1] -> (n, 6) grade parameters (GRADE_PARAMS, in units of GRADE_SCALES): five
    strided 3x3 convs of ``width``, 2x, 4x, 4x, 4x channels, average-pooled, and a two-layer head."""

    def __init__(self, width: int) -> None:
        super().__init__()
        w = width
        chans = [3, w, 2 * w, 4 * w, 4 * w, 4 * w]
        self.convs = nn.Sequential(*[m for a, b in zip(chans, chans[1:])
                                     for m in (nn.Conv2d(a, b, 3, stride=2, padding=1), nn.SiLU())])
        self.head = nn.Sequential(nn.Linear(4 * w, 4 * w), nn.SiLU(), nn.Linear(4 * w, len(GRADE_PARAMS)))

    def forward(self, exemplar: torch.Tensor) -> torch.Tensor:
        return self.head(self.convs(exemplar * 2 - 1).mean((2, 3)))
