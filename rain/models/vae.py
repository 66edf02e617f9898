"""The autoencoder: diffusers' `AutoencoderKL` (full tier), `AutoencoderTiny`, or exact pixel space; one interface."""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, AutoencoderTiny

from rain.config import VAEConfig
from rain.models.pixel_space import PixelShuffleAutoencoder


def build_vae(config: VAEConfig) -> AutoencoderKL | AutoencoderTiny | PixelShuffleAutoencoder:
    kwargs = {} if config.scaling_factor is None else {"scaling_factor": config.scaling_factor}
    if config.kind == "pixel":
        if config.latent_channels != 3 * config.downscale**2:
            raise ValueError(f"pixel space at downscale {config.downscale} has {3 * config.downscale**2} channels, "
                             f"not {config.latent_channels}")
        return PixelShuffleAutoencoder(config.downscale, **kwargs)
    if config.act_fn is not None:
        kwargs["act_fn"] = config.act_fn
    if config.kind == "kl":
        return AutoencoderKL(**kwargs,
            block_out_channels=config.block_out_channels, layers_per_block=config.layers_per_block,
            latent_channels=config.latent_channels,
            down_block_types=("DownEncoderBlock2D",) * len(config.block_out_channels),
            up_block_types=("UpDecoderBlock2D",) * len(config.block_out_channels),
        )
    if config.kind == "tiny":
        n = len(config.block_out_channels)
        if len(set(config.block_out_channels)) != 1:
            raise ValueError(f"AutoencoderTiny needs one width at every level, got {config.block_out_channels}")
        return AutoencoderTiny(**kwargs,
            encoder_block_out_channels=config.block_out_channels,
            decoder_block_out_channels=tuple(reversed(config.block_out_channels)),  # latent side first
            num_encoder_blocks=(1,) + (config.layers_per_block,) * (n - 1),
            num_decoder_blocks=(config.layers_per_block,) * (n - 1) + (1,), latent_channels=config.latent_channels,
        )
    raise ValueError(f"unknown VAE kind {config.kind!r}: expected 'kl', 'tiny' or 'pixel'")


def encode(vae: AutoencoderKL | AutoencoderTiny, images: torch.Tensor) -> torch.Tensor:
    """(b, 3, H, W) in [0, 1] -> (b, c, h, w) scaled latents (the distribution's mode for a KL VAE)."""
    out = vae.encode(images * 2 - 1)
    latents = out.latent_dist.mode() if hasattr(out, "latent_dist") else out.latents
    return latents * vae.config.scaling_factor


def decode(vae: AutoencoderKL | AutoencoderTiny, latents: torch.Tensor) -> torch.Tensor:
    """(b, c, h, w) scaled latents -> (b, 3, H, W) images in [0, 1]."""
    images = vae.decode(latents / vae.config.scaling_factor).sample
    return ((images + 1) / 2).clamp(0, 1)
