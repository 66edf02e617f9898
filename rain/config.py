"""Typed configuration for every RAIN component, and the two presets.

Every default is defined here once. `tiny()` is a random-weight model small enough that a test runs a
pile call in milliseconds; `sd15()` is the architecture of the published RAIN-v0.1 weights
(Stable Diffusion 1.5 UNets, AnimateDiff-v2 temporal modules, 26-dot face pose guider).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rain.config_parts import (MOVED_REFERENCES, REFINER_LEVELS, REFINER_REFERENCES, PresetConfig,  # noqa: F401
                               RefinerConfig)  # (re-exported)

COLOUR_SKIP_SOURCES = ("condition", "reference")  # what a colour skip may map (rain/models/colour_skip.py)
REFERENCE_SHIFT_STEP = 4  # pixels between neighbouring shifts of a "joint" reference shift (rain/models/reference_shift.py)
REFERENCE_SHIFT_AXES = ("joint", "separable")  # a reference shift's softmax: over the 2-D grid, or one per axis over every pixel


@dataclass(frozen=True)
class UNetConfig:
    """Shared by the denoising UNet and the reference net (same spatial layout, same layer names)."""

    in_channels: int = 4  # latent channels in (must equal the VAE's latent channels)
    out_channels: int = 4  # latent channels out (denoiser only; the reference net has no output head)
    block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280)  # width of each resolution level
    layers_per_block: int = 2  # ResNet + transformer pairs per down block (up blocks get one more)
    attention: tuple[bool, ...] = (True, True, True, False)  # per level: spatial self/cross attention (the reference read) or not
    cross_attention_dim: int = 768  # width of the image-embedding token the UNets cross-attend to
    num_attention_heads: int = 8  # heads of the spatial attention layers
    norm_num_groups: int = 32  # GroupNorm groups everywhere in the UNets
    motion_num_attention_heads: int = 8  # heads of the 1-D temporal attention modules
    motion_max_seq_length: int = 32  # length of the temporal sinusoidal position table (>= pile size)
    time_cond_proj_dim: int = 512  # width of the LCM guidance-scale embedding fed to the time embedding
    position_embedding: bool = False  # beyond the paper: a 2-D position grid after conv_in of both UNets (rain/models/position.py)
    output_head: int = 0  # beyond the paper: hidden width of a patch head added to the denoiser's conv_out (rain/models/output_head.py); 0: none
    colour_skip: str = ""  # beyond the paper, pixel space only: "condition" or "reference", the clean latent whose pixels the output copies through per-patch colour maps (rain/models/colour_skip.py); "": none
    colour_skip_smooth: bool = False  # with colour_skip: the per-patch colour maps interpolated bilinearly between patch centres (no 16x16 seams in flat areas) instead of constant per patch
    reference_shift: int = 0  # beyond the paper, with colour_skip "reference": the reference is first moved per patch by a learned mix of shifts within +- this many pixels, on a REFERENCE_SHIFT_STEP grid (rain/models/reference_shift.py); 0: none
    reference_shift_axes: str = "joint"  # with reference_shift: "joint" = one softmax over the 2-D grid of shifts; "separable" = a softmax over the rows and one over the columns, every pixel (REFERENCE_SHIFT_AXES)
    aligned_reference: bool = False  # beyond the paper, faces, with colour_skip "reference": the UNet also reads the reference moved onto each frame by its face's similarity (rain/models/aligned_reference.py)
    aligned_shift: int = 0  # with aligned_reference: the aligned copy is first moved per patch by its own separable shift within +- this many px; 0: none

    @property
    def num_levels(self) -> int:
        return len(self.block_out_channels)

    def _block_types(self, with_attention: str, without: str) -> tuple[str, ...]:
        return tuple(with_attention if a else without for a in self.attention)

    def motion_unet_kwargs(self) -> dict[str, Any]:
        """Arguments of diffusers' `UNetMotionModel` (AnimateDiff-v2 layout: the last down block has no cross attention)."""
        return dict(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            down_block_types=self._block_types("CrossAttnDownBlockMotion", "DownBlockMotion"),
            up_block_types=self._block_types("CrossAttnUpBlockMotion", "UpBlockMotion")[::-1],
            block_out_channels=self.block_out_channels,
            layers_per_block=self.layers_per_block,
            norm_num_groups=self.norm_num_groups,
            cross_attention_dim=self.cross_attention_dim,
            num_attention_heads=self.num_attention_heads,
            motion_num_attention_heads=self.motion_num_attention_heads,
            motion_max_seq_length=self.motion_max_seq_length,
            use_motion_mid_block=True,
            time_cond_proj_dim=self.time_cond_proj_dim,
        )

    def reference_unet_kwargs(self) -> dict[str, Any]:
        """Arguments of diffusers' `UNet2DConditionModel` for the reference net (same names as the denoiser)."""
        return dict(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            down_block_types=self._block_types("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=self._block_types("CrossAttnUpBlock2D", "UpBlock2D")[::-1],
            block_out_channels=self.block_out_channels,
            layers_per_block=self.layers_per_block,
            norm_num_groups=self.norm_num_groups,
            cross_attention_dim=self.cross_attention_dim,
            attention_head_dim=self.num_attention_heads,  # diffusers' legacy name: SD1.5 means 8 heads
        )


@dataclass(frozen=True)
class PoseGuiderConfig:
    conditioning_channels: int = 3  # RGB condition image, scaled to [0, 1]
    block_out_channels: tuple[int, ...] = (16, 32, 96, 256)  # one stride-2 step between consecutive widths

    @property
    def downscale(self) -> int:
        return 2 ** (len(self.block_out_channels) - 1)


@dataclass(frozen=True)
class ImageEncoderConfig:
    """A transformers `CLIPVisionModelWithProjection`; its projection is the single cross-attention token."""

    hidden_size: int = 1024  # ViT width (CLIP ViT-L/14 for the published tier)
    intermediate_size: int = 4096  # ViT MLP width
    num_hidden_layers: int = 24  # ViT depth
    num_attention_heads: int = 16  # ViT heads
    image_size: int = 224  # the encoder's input size; the reference image is resized to it
    patch_size: int = 14  # ViT patch size
    mean: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)  # CLIP input normalisation
    std: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)  # CLIP input normalisation


@dataclass(frozen=True)
class VAEConfig:
    kind: Literal["kl", "tiny", "pixel"] = "kl"  # diffusers AutoencoderKL, AutoencoderTiny, or exact pixel space
    block_out_channels: tuple[int, ...] = (128, 256, 512, 512)  # widths per level (pixel: 3 * 4**level)
    layers_per_block: int = 2  # kl: ResNets per level; tiny: blocks per level
    latent_channels: int = 4  # channels of the latent the UNets see
    scaling_factor: float | None = None  # latent scale (None: the diffusers class default, 0.18215 for KL)
    act_fn: str | None = None  # activation (None: the diffusers class default; silu avoids dead ReLUs in a narrow AE)

    @property
    def downscale(self) -> int:
        return 2 ** (len(self.block_out_channels) - 1)


@dataclass(frozen=True)
class SchedulerConfig:
    """Noise schedule of the training process; the LCM step and the pile's levels derive from it."""

    num_train_timesteps: int = 1000  # length of the training noise schedule
    beta_start: float = 0.00085  # SD1.5 scaled-linear betas
    beta_end: float = 0.012
    beta_schedule: str = "scaled_linear"
    prediction_type: Literal["epsilon", "v_prediction", "sample"] = "v_prediction"  # what the UNet predicts (sample = x_0)
    rescale_betas_zero_snr: bool = True  # zero terminal SNR (needs v-prediction)
    timestep_scaling: float = 10.0  # LCM boundary-condition scaling of the timestep
    guidance_scale: float = 2.5  # w of the LCM guidance embedding (one UNet pass, no CFG)


@dataclass(frozen=True)
class PileConfig:
    """The paper's K = frames_per_group * num_groups frames in p = num_groups groups, T = num_groups steps."""

    frames_per_group: int = 4  # frames that enter (and leave) the pile per UNet call
    num_groups: int = 4  # groups in a full pile = noise levels = LCM steps
    # beyond the paper: at zero terminal SNR the newest group's x_t is pure noise and tells the UNet
    # nothing, so the UNet sees the reference latent in its place (the LCM step still uses x_t). A tiny
    # UNet fed noise there cannot tell where a token is, and never learned to use the reference at level 0
    reference_input: bool = False
    # beyond the paper (style transfer, img2img): "latent" = a new group enters as the encoded condition
    # image (the live frame) noised to the top timestep of the stream's strength; "noise" = pure noise
    entry: Literal["noise", "latent"] = "noise"
    strength: float = 1.0  # latent entry: default strength; the top level's timestep is strength * T - 1
    strength_min: float = 1.0  # latent entry: lowest strength trained for (training draws U(min, 1); UI slider)
    # beyond the paper (drift-proofing, rain/anchor.py): the reference latent as a clean frame 0 of every UNet
    # call, so temporal attention always sees the clean identity. Off until a trained model measures better
    anchor: bool = False
    # beyond the paper: groups (= LCM steps) a stream runs unless told otherwise, measured per model after
    # training (RainPipeline.check_num_groups; docs/STEPS.md); 0 = num_groups, the trained pile. Training ignores it
    stream_groups: int = 0
    # beyond the paper: frames per UNet call a stream runs unless told otherwise, measured per model like
    # stream_groups (fewer = lower latency, more = a higher frame rate; BENCHMARKS.md); 0 = frames_per_group
    stream_frames: int = 0
    # beyond the paper (StreamDiffusion): a stream draws each pile slot's noise once (per level and frame slot) and
    # reuses it, so a still input gives a still output; streams only (docs/STYLE_PRESET.md, Session 23: kept off)
    fixed_noise: bool = False

    @property
    def num_frames(self) -> int:
        return self.frames_per_group * self.num_groups

    @property
    def default_groups(self) -> int:
        """Groups of a stream that asks for no particular number."""
        return self.stream_groups or self.num_groups

    @property
    def default_frames(self) -> int:
        """Frames per UNet call of a stream that asks for no particular number."""
        return self.stream_frames or self.frames_per_group

    def validate(self, max_frames: int) -> None:
        for name in ("frames_per_group", "num_groups"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"PileConfig.{name} must be a positive integer, got {value!r}")
        for name, trained in (("stream_groups", "num_groups"), ("stream_frames", "frames_per_group")):
            value, most = getattr(self, name), getattr(self, trained)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
                raise ValueError(f"PileConfig.{name} must be 0 (the trained {trained}) or 1..{most}, got {value!r}")
        if not isinstance(self.fixed_noise, bool):
            raise ValueError(f"PileConfig.fixed_noise must be true or false, got {self.fixed_noise!r}")
        if self.entry not in ("noise", "latent"):
            raise ValueError(f"PileConfig.entry must be 'noise' or 'latent', got {self.entry!r}")
        if not 0 < self.strength_min <= self.strength <= 1:
            raise ValueError(f"PileConfig needs 0 < strength_min <= strength <= 1, got strength_min="
                             f"{self.strength_min!r}, strength={self.strength!r}")
        if self.entry == "noise" and self.strength_min != 1:
            raise ValueError("PileConfig.strength_min < 1 needs entry='latent' (noise entry has no strength)")
        if self.num_frames + self.anchor > max_frames:
            raise ValueError(
                f"a pile of {self.num_groups} groups x {self.frames_per_group} frames = {self.num_frames} frames "
                f"{'plus the anchor ' if self.anchor else ''}"
                f"exceeds the temporal position table of the UNet ({max_frames} frames)"
            )


@dataclass(frozen=True)
class ModelConfig:
    resolution: int = 512  # square image size the model generates
    unet: UNetConfig = field(default_factory=UNetConfig)
    pose_guider: PoseGuiderConfig = field(default_factory=PoseGuiderConfig)
    image_encoder: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    pile: PileConfig = field(default_factory=PileConfig)
    refiner: RefinerConfig = field(default_factory=RefinerConfig)
    preset: PresetConfig = field(default_factory=PresetConfig)

    @property
    def latent_size(self) -> int:
        return self.resolution // self.vae.downscale

    @property
    def uses_condition_latents(self) -> bool:
        """Whether the condition images are encoded too (the img2img entry noises them, a colour skip maps them)."""
        return self.pile.entry == "latent" or self.unet.colour_skip == "condition"

    def with_pile(self, **changes) -> "ModelConfig":  # noqa: ANN003 - PileConfig fields
        """This config with some pile settings changed (e.g. frames_per_group, strength)."""
        return dataclasses.replace(self, pile=dataclasses.replace(self.pile, **changes))

    def with_pile_shape(self, frames_per_group: int | None = None, num_groups: int | None = None) -> "ModelConfig":
        """This config run as a pile of another shape (the CLIs' --frames-per-group / --num-groups; None keeps the
        model's). `num_groups` becomes the streams' default (`PileConfig.stream_groups`, at most the trained number:
        fewer LCM steps, cheaper calls); `frames_per_group` replaces the model's and its streams' (`stream_frames`)."""
        changes = {"stream_groups": num_groups}
        if frames_per_group is not None:
            changes.update(frames_per_group=frames_per_group, stream_frames=0)
        return self.with_pile(**{k: v for k, v in changes.items() if v is not None})

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistency between the parts."""
        if self.pose_guider.downscale != self.vae.downscale:
            raise ValueError(
                f"the pose guider downsamples by {self.pose_guider.downscale} but the VAE by {self.vae.downscale}: "
                "pose features must land on the latent grid"
            )
        if self.resolution % (self.vae.downscale * 2 ** (self.unet.num_levels - 1)):
            raise ValueError(f"resolution {self.resolution} must be a multiple of the total UNet + VAE downscale")
        self.refiner.validate(self.resolution)
        self.preset.validate()
        preset = self.preset
        if preset.width and (self.pile.entry != "latent" or preset.knots < 2 or preset.size % 16):
            raise ValueError("a preset restyles the camera frames that enter an img2img pile: it needs pile.entry "
                             f"'latent', knots >= 2 and a size that is a multiple of 16; got {self.pile.entry!r}, "
                             f"{preset.knots}, {preset.size}")
        if self.unet.output_head < 0:
            raise ValueError(f"UNetConfig.output_head must be 0 (none) or a positive width, got {self.unet.output_head}")
        if self.unet.colour_skip not in ("",) + COLOUR_SKIP_SOURCES:
            raise ValueError(f"UNetConfig.colour_skip must be one of {COLOUR_SKIP_SOURCES} or '' (none), got {self.unet.colour_skip!r}")
        if self.unet.colour_skip and (self.vae.kind != "pixel" or self.pile.anchor):
            raise ValueError("UNetConfig.colour_skip maps pixel patches: it needs the pixel-space VAE and no anchor frame")
        if self.unet.colour_skip_smooth and not self.unet.colour_skip:
            raise ValueError("UNetConfig.colour_skip_smooth interpolates a colour skip's maps: the model has no colour skip")
        shift, axes = self.unet.reference_shift, self.unet.reference_shift_axes
        step = REFERENCE_SHIFT_STEP if axes == "joint" else 1
        if self.unet.aligned_reference and self.unet.colour_skip != "reference":
            raise ValueError("UNetConfig.aligned_reference feeds a colour skip from the reference; this model has none")
        if self.unet.aligned_shift and (self.unet.aligned_shift < 0 or not self.unet.aligned_reference):
            raise ValueError(f"UNetConfig.aligned_shift moves an aligned reference by a positive number of px, got "
                             f"{self.unet.aligned_shift} with aligned_reference {self.unet.aligned_reference}")
        if shift and (shift < 0 or shift % step or self.unet.colour_skip != "reference"):
            raise ValueError(f"UNetConfig.reference_shift moves the reference of a colour skip from the reference, by "
                             f"a positive multiple of {step} pixels ({axes}); got {shift} with colour_skip "
                             f"{self.unet.colour_skip!r}")
        if axes not in REFERENCE_SHIFT_AXES:
            raise ValueError(f"UNetConfig.reference_shift_axes must be one of {REFERENCE_SHIFT_AXES}, got {axes!r}")
        if len(self.unet.attention) != self.unet.num_levels:
            raise ValueError("UNetConfig.attention needs one flag per level of block_out_channels")
        if self.unet.in_channels != self.vae.latent_channels:
            raise ValueError("UNetConfig.in_channels must equal VAEConfig.latent_channels")
        if self.scheduler.rescale_betas_zero_snr and self.scheduler.prediction_type == "epsilon":
            raise ValueError("zero terminal SNR needs v- or x_0-prediction: epsilon is undefined at the last timestep")
        self.pile.validate(self.unet.motion_max_seq_length)
        if self.pile.strength_min * self.scheduler.num_train_timesteps < self.pile.num_groups:
            raise ValueError(f"pile.strength_min {self.pile.strength_min} leaves fewer than {self.pile.num_groups} "
                             f"of the {self.scheduler.num_train_timesteps} timesteps for the pile's levels")
        if self.pile.reference_input and not self.scheduler.rescale_betas_zero_snr:
            raise ValueError("pile.reference_input needs zero terminal SNR (the noisiest level must hold no signal)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        sub = {"unet": UNetConfig, "pose_guider": PoseGuiderConfig, "image_encoder": ImageEncoderConfig,
               "vae": VAEConfig, "scheduler": SchedulerConfig, "pile": PileConfig, "refiner": RefinerConfig,
               "preset": PresetConfig}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name in sub:
                kwargs[name] = sub[name](**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
            else:
                kwargs[name] = value
        return cls(**kwargs)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> "ModelConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))


def sd15() -> ModelConfig:
    """The published RAIN-v0.1 architecture: the class defaults above."""
    return ModelConfig()


def tiny() -> ModelConfig:
    """A random-weight model for tests: 64x64 images, 8x8 latents, a few thousand parameters per part."""
    return ModelConfig(
        resolution=64,
        unet=UNetConfig(
            block_out_channels=(16, 32), attention=(True, False), layers_per_block=1, cross_attention_dim=16, num_attention_heads=2,
            norm_num_groups=8, motion_num_attention_heads=2, time_cond_proj_dim=16,
        ),
        pose_guider=PoseGuiderConfig(block_out_channels=(8, 8, 8, 16)),
        image_encoder=ImageEncoderConfig(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=32,
            patch_size=8,
        ),
        vae=VAEConfig(kind="tiny", block_out_channels=(8, 8, 8, 8), layers_per_block=1),
    )


def cpu() -> ModelConfig:
    """The shipped CPU tier: 256x256 frames diffused in pixel space as 16x16 grids of 16x16 patches
    (768 channels), a ~10 M-parameter denoiser; a full pile call (16 frames) takes ~140 ms on two cores."""
    return ModelConfig(
        resolution=256,
        unet=UNetConfig(
            block_out_channels=(64, 128, 128), attention=(True, True, True), layers_per_block=1,
            cross_attention_dim=64, num_attention_heads=2, norm_num_groups=16, motion_num_attention_heads=2,
            time_cond_proj_dim=64, in_channels=768, out_channels=768, position_embedding=True,
        ),
        pose_guider=PoseGuiderConfig(block_out_channels=(8, 16, 32, 32, 64)),
        image_encoder=ImageEncoderConfig(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, image_size=64,
            patch_size=16,
        ),
        vae=VAEConfig(kind="pixel", block_out_channels=(3, 12, 48, 192, 768), latent_channels=768),
        # x_0-prediction: a 64-wide UNet cannot carry 768 channels of per-pixel noise through to predict v or
        # epsilon; predicting the clean patch needs no such identity path
        scheduler=SchedulerConfig(prediction_type="sample"),
        pile=PileConfig(reference_input=True),
    )


PRESETS = {"tiny": tiny, "cpu": cpu, "sd15": sd15}
