"""All RAIN model parts, built from one `ModelConfig` and frozen after load."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rain.config import ModelConfig
from rain.models.attention import install_reference_processors
from rain.models.image_encoder import ImageEncoder
from rain.models.landmarker import FaceLandmarker
from rain.models.pose_guider import PoseGuider
from rain.models.reference_net import ReferenceNet
from rain.models.refiner import Refiner
from rain.models.style_preset import StylePreset
from rain.models.unet import RainUNet
from rain.models.vae import build_vae


@dataclass(frozen=True)
class RainModels:
    unet: RainUNet  # the denoiser with temporal modules
    reference_net: ReferenceNet  # run once per reference image
    pose_guider: PoseGuider  # condition image -> features added after conv_in
    image_encoder: ImageEncoder  # reference image -> one cross-attention token
    vae: torch.nn.Module  # AutoencoderKL or AutoencoderTiny
    refiner: Refiner | None = None  # decoded frame, its condition and the reference -> a sharper frame; or none
    preset: StylePreset | None = None  # reference -> colour controls applied to each entering camera frame; or none
    landmarker: FaceLandmarker | None = None  # reference -> its 68 face points, for an aligned refiner; or none (MediaPipe)

    def named_parts(self) -> dict[str, torch.nn.Module]:
        """The parts this model has (a refiner only if configured), by name."""
        parts = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {name: part for name, part in parts.items() if part is not None}

    def freeze(self) -> "RainModels":
        """Eval mode, no gradients: from here on the models are shared, read-only."""
        for module in self.named_parts().values():
            module.eval().requires_grad_(False)
        return self


def zero_temporal_outputs(unet: RainUNet) -> None:
    """AnimateDiff's init: each temporal module's output projection starts at zero (an identity block)."""
    for module in unet.modules():
        if type(module).__name__ == "AnimateDiffTransformer3D":
            torch.nn.init.zeros_(module.proj_out.weight)
            torch.nn.init.zeros_(module.proj_out.bias)


def build_models(config: ModelConfig, seed: int | None = 0) -> RainModels:
    """Random-weight models for `config` (on the current default device, `meta` included)."""
    config.validate()
    if seed is not None:
        torch.manual_seed(seed)
    position = config.unet.position_embedding
    unet = RainUNet(position_embedding=position, output_head=config.unet.output_head,
                    colour_skip=bool(config.unet.colour_skip), colour_skip_smooth=config.unet.colour_skip_smooth,
                    reference_shift=config.unet.reference_shift,
                    reference_shift_axes=config.unet.reference_shift_axes, aligned_reference=config.unet.aligned_reference,
                    aligned_shift=config.unet.aligned_shift,
                    **config.unet.motion_unet_kwargs())
    zero_temporal_outputs(unet)
    reference_net = ReferenceNet(position_embedding=position, **config.unet.reference_unet_kwargs())
    names_denoiser = install_reference_processors(unet)
    names_reference = install_reference_processors(reference_net)
    if names_denoiser != names_reference:
        raise RuntimeError("the reference net and the denoiser must have the same self-attention layer names")
    return RainModels(
        unet=unet,
        reference_net=reference_net,
        pose_guider=PoseGuider(config.pose_guider, config.unet.block_out_channels[0]),
        image_encoder=ImageEncoder(config.image_encoder, config.unet.cross_attention_dim),
        vae=build_vae(config.vae),
        refiner=Refiner(config.refiner.width, config.refiner.levels) if config.refiner.width else None,
        preset=StylePreset(config.preset) if config.preset.width else None,
        landmarker=FaceLandmarker(config.refiner.landmarker) if config.refiner.landmarker else None,
    )
