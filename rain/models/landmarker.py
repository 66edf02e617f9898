"""A cartoon face landmarker for the reference image (beyond the paper; the CPU tier's face mode).

A refiner that reads the reference aligned to each frame (RefinerConfig.reference "aligned") needs the
reference's 68 face points. MediaPipe finds them on people; on a cartoon it errs by ~5 px and sometimes puts the
jaw on the neck (docs/REFINER.md, session 25), which makes every map of the stream wrong. The face world renders
unlimited cartoons with exact points, so a small regressor trained on them (rain/train/landmarks.py) finds the
reference's face where MediaPipe does not reach. It runs once per reference; the camera keeps MediaPipe.
Its points on the mirror image (`mirrored`) are a second opinion: where the two disagree by more than
`TRUSTED_FLIP_DISAGREEMENT` the image is unlike its cartoons and the caller finds the face with MediaPipe instead.

Layout (width w): the image resized to INPUT x INPUT; five strided 3x3 convs (w, 2w, 4w, 8w, 8w channels, each
followed by a 3x3 conv), down to 4 x 4; a two-layer MLP on the flattened features to the 68 (x, y) points,
normalised to the image (0..1), as offsets from the centre.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

INPUT = 128  # the side the image is resized to
POINTS = 68  # iBUG-68 face points
HIDDEN = 256  # the MLP's hidden features
# The most the points found on an image and on its mirror image (mapped back) may differ, as a fraction of the image
# side (mean over the rigid points an alignment uses), for the points to be trusted. Measured at 256 px
# (docs/ALIGNED_UNET.md, session 28): held-out cartoons 0.005 on average, 0.012 at most; a real portrait (matplotlib's
# Grace Hopper) 0.013; other photos, a body-world character, noise and a flat grey 0.03-0.26.
TRUSTED_FLIP_DISAGREEMENT = 0.025


def _stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.GroupNorm(8, cout), nn.SiLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(8, cout), nn.SiLU())


class FaceLandmarker(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        if width < 8 or width % 8:
            raise ValueError(f"a landmarker's width must be a positive multiple of 8, got {width}")
        self.width = width
        chans = (3, width, 2 * width, 4 * width, 8 * width, 8 * width)
        self.features = nn.Sequential(*[_stage(a, b) for a, b in zip(chans[:-1], chans[1:])])  # INPUT/32 square
        side = INPUT // 2 ** (len(chans) - 1)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(chans[-1] * side * side, HIDDEN), nn.SiLU(),
                                  nn.Linear(HIDDEN, 2 * POINTS))
        nn.init.zeros_(self.head[-1].weight)  # starts at the centre
        nn.init.zeros_(self.head[-1].bias)

    @staticmethod
    def resized(images: torch.Tensor) -> torch.Tensor:
        """(b, 3, H, W) in [0, 1], square -> (b, 3, INPUT, INPUT), area-averaged (what the net sees)."""
        if images.ndim != 4 or images.shape[1] != 3 or images.shape[-1] != images.shape[-2]:
            raise ValueError(f"a landmarker takes square RGB images (b, 3, S, S), got {tuple(images.shape)}")
        if images.shape[-1] == INPUT:
            return images
        return F.interpolate(images.float(), size=(INPUT, INPUT), mode="area")

    def mirrored(self, images: torch.Tensor, mirror: Sequence[int]) -> torch.Tensor:
        """The points found on the horizontally flipped images, mapped back onto the images (x -> 1 - x, each point
        to its mirror index `mirror[i]`): a second opinion on `forward`'s, (b, 68, 2)."""
        points = self(torch.flip(images, dims=[-1]))[:, list(mirror)]
        return torch.stack([1 - points[..., 0], points[..., 1]], -1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(b, 3, S, S) square images in [0, 1] -> (b, 68, 2) float32 points (x, y), normalised to the image."""
        x = self.resized(images) * 2 - 1  # (b, 3, INPUT, INPUT) centred
        x = x.to(self.features[0][0].weight.dtype)
        return 0.5 + self.head(self.features(x)).float().view(-1, POINTS, 2)
