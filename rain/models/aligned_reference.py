"""The reference aligned to each frame, read by the UNet (beyond the paper; the CPU tier's pixel space, faces).

A face model's colour skip copies the reference's pixels, moved per 16x16 patch by the reference shift (at most
+-24 px; rain/models/reference_shift.py). When the head comes closer or moves away, the character's outline is
50-150 px from where the reference has it and drawn at another size: no shift reaches it, and the UNet redraws
it soft from the pose features (docs/REFINER.md, session 25). The refiner already reads the reference moved onto
each frame by the similarity that maps the reference's face points onto the frame's (`face_similarity`); this
gives the same aligned reference to the UNet, in two places:
- its latent, through a 3x3 conv, is added to `conv_in`'s output (as the pose features are): the UNet sees where
  the character's parts now are, at their size;
- from the UNet's last features a 3x3 conv predicts a gate a per patch, and the colour skip's source becomes
  s + a (aligned - s), s being the (shifted) reference as before: the character can be copied from the aligned
  reference and the static background from the reference where it was.
Both convs start at zero, so a model that grows this part computes what it computed before.
The maps a live path gives are 1-2 px off, and a patch copied 1-2 px off is wrong along every sharp edge
(docs/ALIGNED_UNET.md). With `shift` (`UNetConfig.aligned_shift`) the aligned copy is first moved per patch by its
own small reference shift (separable, within +- that many px; rain/models/reference_shift.py), made per frame, so
the UNet can find that residual; it starts as a no-op too.
"""

from __future__ import annotations

import torch
from torch import nn

from rain.models.colour_skip import RATE  # the gate's conv is scaled by this, as the colour skip's
from rain.models.reference_shift import ReferenceShift


class AlignedReference(nn.Module):
    def __init__(self, latent_channels: int, feature_channels: int) -> None:
        super().__init__()
        self.features = nn.Conv2d(latent_channels, feature_channels, kernel_size=3, padding=1)
        self.gate = nn.Conv2d(feature_channels, 1, kernel_size=3, padding=1)
        for conv in (self.features, self.gate):  # an identity start: the UNet as it was
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        self.shift: ReferenceShift | None = None

    def add_shift(self, radius: int) -> None:
        """Grow a separable shift of +- `radius` px for the aligned copy (a no-op at first)."""
        if self.shift is not None:
            raise ValueError("this aligned reference already has a shift")
        self.shift = ReferenceShift(self.gate.in_channels, radius, "separable").to(self.gate.weight.device,
                                                                                  self.gate.weight.dtype)

    def read(self, aligned: torch.Tensor) -> torch.Tensor:
        """aligned (b*f, c, h, w) latents -> (b*f, c0, h, w) features to add to `conv_in`'s output."""
        return self.features(aligned.to(self.features.weight.dtype))

    def blend(self, features: torch.Tensor, source: torch.Tensor, aligned: torch.Tensor) -> torch.Tensor:
        """features (b*f, c0, h, w); source and aligned (b*f, c, h, w) -> source + a (aligned - source), float32."""
        if self.shift is not None:  # each frame's own copy moved per patch: one "clip" of one frame per frame
            aligned, _ = self.shift(features, aligned[:, :, None])  # (b*f, c, h, w)
        gate = self.gate(features).float() * RATE  # (b*f, 1, h, w)
        return source.float() + gate * (aligned.float() - source.float())
