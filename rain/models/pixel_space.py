"""Pixel space as an "autoencoder": space-to-depth in, depth-to-space out, no parameters, exact.

The CPU tier diffuses 256x256 frames as 16x16 grids of 16x16x3 pixel patches (768 channels), so the
decoder costs nothing and cannot cap the quality (a learned factor-16 autoencoder measured ~19 dB after
20 minutes of training here; see the tiny-tier closing note). Same interface as diffusers' autoencoders.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.autoencoders.autoencoder_tiny import AutoencoderTinyOutput
from diffusers.models.autoencoders.vae import DecoderOutput
from diffusers.models.modeling_utils import ModelMixin


class PixelShuffleAutoencoder(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, downscale: int = 16, scaling_factor: float = 1.0) -> None:
        super().__init__()

    def encode(self, x: torch.Tensor) -> AutoencoderTinyOutput:
        """(b, 3, H, W) in [-1, 1] -> (b, 3 * d * d, H / d, W / d)."""
        return AutoencoderTinyOutput(latents=F.pixel_unshuffle(x, self.config.downscale))

    def decode(self, z: torch.Tensor) -> DecoderOutput:
        return DecoderOutput(sample=F.pixel_shuffle(z, self.config.downscale))
