"""The reference net: a `UNet2DConditionModel` run once per reference image, at timestep 0.

Only the inputs of its spatial self-attention layers matter (they become extra keys and values of the
denoiser's layers of the same name), so the output head is removed, as in the published weights.
"""

from __future__ import annotations

import torch
from diffusers import UNet2DConditionModel

from rain.models.attention import ReferenceCapture
from rain.models.blocks import run_blocks
from rain.models.position import GridPosition


class ReferenceNet(UNet2DConditionModel):
    """SD-style UNet without `conv_norm_out`/`conv_out` (never used, absent from the published file)."""

    def __init__(self, position_embedding: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        del self.conv_norm_out, self.conv_act, self.conv_out
        self.position = GridPosition(kwargs["block_out_channels"][0]) if position_embedding else None

    def capture(
        self,
        latents: torch.Tensor,  # (b, c, h, w) the reference image's latent
        encoder_hidden_states: torch.Tensor,  # (b, n, d) image-embedding token(s)
    ) -> dict[str, torch.Tensor]:  # self-attention layer name -> (b, tokens, width)
        capture = ReferenceCapture()
        timestep = torch.zeros(latents.shape[0], dtype=torch.long, device=latents.device)

        # 1. time embedding at t = 0
        emb = self.time_embedding(self.time_proj(timestep).to(self.dtype))

        # 2. conv_in (plus the position grid), then down, mid and up blocks; the processors fill `capture`
        x = self.conv_in(latents)  # (b, c0, h, w)
        if self.position is not None:
            x = x + self.position(*x.shape[-2:])
        run_blocks(self, x, emb, encoder_hidden_states, {"reference": capture})
        return capture.tokens
