"""The down-mid-up walk shared by the denoiser and the reference net (diffusers blocks, frames folded)."""

from __future__ import annotations

from typing import Any

import torch


def run_blocks(
    unet: torch.nn.Module,  # a diffusers UNetMotionModel or UNet2DConditionModel
    x: torch.Tensor,  # (n, c0, h, w) output of conv_in (n = batch * frames)
    emb: torch.Tensor,  # (n, 4*c0) time embedding
    context: torch.Tensor,  # (n, tokens, d) cross-attention tokens
    cross_attention_kwargs: dict[str, Any] | None,
    **frame_kwargs: int,  # num_frames=f for motion blocks, nothing for 2-D blocks
) -> torch.Tensor:  # (n, c0, h, w) input of the output head
    cross = dict(encoder_hidden_states=context, cross_attention_kwargs=cross_attention_kwargs)

    # 1. down blocks, keeping every skip connection
    residuals: tuple[torch.Tensor, ...] = (x,)
    for block in unet.down_blocks:
        extra = cross if getattr(block, "has_cross_attention", False) else {}
        x, res = block(hidden_states=x, temb=emb, **extra, **frame_kwargs)
        residuals += res

    # 2. mid block
    x = unet.mid_block(x, emb, **cross, **frame_kwargs)

    # 3. up blocks, consuming the skip connections from the end
    for i, block in enumerate(unet.up_blocks):
        res, residuals = residuals[-len(block.resnets):], residuals[: -len(block.resnets)]
        size = residuals[-1].shape[2:] if i < len(unet.up_blocks) - 1 else None
        extra = cross if getattr(block, "has_cross_attention", False) else {}
        x = block(hidden_states=x, temb=emb, res_hidden_states_tuple=res, upsample_size=size, **extra,
                  **frame_kwargs)
    return x
