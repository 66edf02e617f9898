"""The image embedding: one cross-attention token from a CLIP vision encoder with projection."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from rain.config import ImageEncoderConfig


class ImageEncoder(torch.nn.Module):
    """Resize + CLIP-normalise, then `CLIPVisionModelWithProjection.image_embeds` as a (b, 1, d) token."""

    def __init__(self, config: ImageEncoderConfig, projection_dim: int) -> None:
        super().__init__()
        self.model = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=config.hidden_size, intermediate_size=config.intermediate_size,
            num_hidden_layers=config.num_hidden_layers, num_attention_heads=config.num_attention_heads,
            image_size=config.image_size, patch_size=config.patch_size, projection_dim=projection_dim,
        ))
        self.image_size = config.image_size
        self.register_buffer("mean", torch.tensor(config.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(config.std).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(b, 3, H, W) images in [0, 1] -> (b, 1, projection_dim)."""
        x = F.interpolate(images, size=(self.image_size, self.image_size), mode="bicubic", antialias=True,
                          align_corners=False)
        x = (x.clamp(0, 1) - self.mean) / self.std
        return self.model(pixel_values=x).image_embeds[:, None]
