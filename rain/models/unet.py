"""The denoising UNet: diffusers' `UNetMotionModel` with per-frame timesteps and pose features.

Layer names, blocks and temporal modules are diffusers' own (AnimateDiff-v2 layout: two temporal modules
per down block, one in the mid block, three per up block). Only `forward` is ours, and it differs from
diffusers' in two narrow ways: every frame gets its own time embedding (the pile holds frames at
different noise levels), and pose-guider features (and, if configured, a position grid) are added to
the output of `conv_in`. If configured, a patch head (rain/models/output_head.py) and a colour skip
(rain/models/colour_skip.py) add to `conv_out`, and the reference aligned to each frame feeds both ends
(rain/models/aligned_reference.py).
"""

from __future__ import annotations

import torch
from diffusers import UNetMotionModel

from rain.models.aligned_reference import AlignedReference
from rain.models.attention import ReferenceRead
from rain.models.blocks import run_blocks
from rain.models.colour_skip import ColourSkip
from rain.models.output_head import PatchHead
from rain.models.reference_shift import ReferenceShift
from rain.models.position import GridPosition


class RainUNet(UNetMotionModel):
    """Frames are folded into the batch for the spatial layers; temporal modules unfold them."""

    def __init__(self, position_embedding: bool = False, output_head: int = 0, colour_skip: bool = False,
                 colour_skip_smooth: bool = False, reference_shift: int = 0, reference_shift_axes: str = "joint",
                 aligned_reference: bool = False, aligned_shift: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.position = GridPosition(kwargs["block_out_channels"][0]) if position_embedding else None
        self.head: PatchHead | None = None
        self.skip: ColourSkip | None = None
        self.shift: ReferenceShift | None = None
        self.aligned: AlignedReference | None = None
        if output_head:
            self.add_output_head(output_head)
        if colour_skip:
            self.add_colour_skip()
        if colour_skip_smooth:
            self.smooth_colour_maps()
        if reference_shift:
            self.add_reference_shift(reference_shift, reference_shift_axes)
        if aligned_reference:
            self.add_aligned_reference()
        if aligned_shift:
            self.aligned.add_shift(aligned_shift)

    def add_output_head(self, width: int) -> None:
        """Grow a patch head of `width` hidden channels (zero output at first: the model is unchanged)."""
        if self.head is not None:
            raise ValueError("this UNet already has a patch head")
        self.head = PatchHead(self.conv_out.in_channels, self.conv_out.out_channels, width).to(
            self.conv_out.weight.device, self.conv_out.weight.dtype)

    def add_colour_skip(self) -> None:
        """Grow a colour skip (a no-op at first: the model is unchanged)."""
        if self.skip is not None:
            raise ValueError("this UNet already has a colour skip")
        self.skip = ColourSkip(self.conv_out.in_channels).to(self.conv_out.weight.device, self.conv_out.weight.dtype)

    def smooth_colour_maps(self) -> None:
        """Interpolate the colour skip's maps between patch centres from now on (no weight changes)."""
        if self.skip is None:
            raise ValueError("only a colour skip's maps can be smoothed: this UNet has none")
        self.skip.smooth = True

    def add_reference_shift(self, radius: int, axes: str = "joint") -> None:
        """Grow a reference shift of `radius` pixels, its softmax over `axes`, in front of the colour skip (a no-op
        at first)."""
        if self.skip is None or self.shift is not None:
            raise ValueError("a reference shift goes in front of a colour skip, once")
        self.shift = ReferenceShift(self.conv_out.in_channels, radius, axes).to(self.conv_out.weight.device,
                                                                          self.conv_out.weight.dtype)

    def add_aligned_reference(self) -> None:
        """Grow a reader of the reference aligned to each frame, feeding `conv_in` and the colour skip's source (a
        no-op at first; rain/models/aligned_reference.py)."""
        if self.skip is None or self.aligned is not None:
            raise ValueError("an aligned reference feeds a colour skip, once")
        self.aligned = AlignedReference(self.conv_in.in_channels, self.conv_in.out_channels).to(
            self.conv_in.weight.device, self.conv_in.weight.dtype)

    def forward(  # type: ignore[override]
        self,
        sample: torch.Tensor,  # (b, c, f, h, w) noisy latents
        timesteps: torch.Tensor,  # (b, f) one timestep per frame
        encoder_hidden_states: torch.Tensor,  # (b, n, d) image-embedding tokens, shared by the frames
        pose_features: torch.Tensor | None = None,  # (b, c0, f, h, w) pose-guider output, c0 = first block width
        guidance_embedding: torch.Tensor | None = None,  # (b, time_cond_proj_dim)
        reference: ReferenceRead | None = None,  # reference tokens for the spatial self-attention
        source: torch.Tensor | None = None,  # (b, c_out, f, h, w) the clean latent the colour skip maps, if any
        shifted: torch.Tensor | None = None,  # the reference shift's `prepared_reference` of source, if made once
        return_moved: bool = False,  # also return the reference shift's mix of shifts alone (a training loss)
        aligned: torch.Tensor | None = None,  # (b, c, f, h, w) the reference's latent aligned to each frame, if read
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:  # (b, c_out, f, h, w), and the mix of that shape
        if return_moved and self.shift is None:
            raise ValueError("return_moved is the reference shift's mix; this UNet has no reference shift")
        b, _, f, h, w = sample.shape
        if timesteps.shape != (b, f):
            raise ValueError(f"timesteps must have shape (batch, frames) = {(b, f)}, got {tuple(timesteps.shape)}")
        if (self.skip is None) != (source is None):
            raise ValueError("a UNet with a colour skip needs its source latent, and one without takes none")
        if shifted is not None and self.shift is None:
            raise ValueError("a shifted reference is for a UNet with a reference shift; this one has none")
        if (self.aligned is None) != (aligned is None):
            raise ValueError("a UNet that reads the aligned reference needs it per frame, and one without takes none")

        # 1. time embedding, one per frame (diffusers repeats one per video instead)
        t_emb = self.time_proj(timesteps.reshape(b * f)).to(self.dtype)  # (b*f, c0)
        cond = None if guidance_embedding is None else guidance_embedding.repeat_interleave(f, dim=0)
        emb = self.time_embedding(t_emb, cond)  # (b*f, 4*c0)

        # 2. fold frames into the batch; every frame sees the same image token(s)
        x = sample.permute(0, 2, 1, 3, 4).reshape(b * f, -1, h, w)  # (b*f, c, h, w)
        context = encoder_hidden_states.repeat_interleave(f, dim=0)  # (b*f, n, d)
        kwargs = {"reference": reference} if reference is not None else None

        # 3. conv_in, plus the position grid and the pose features
        x = self.conv_in(x)  # (b*f, c0, h, w)
        if self.position is not None:
            x = x + self.position(h, w)
        if pose_features is not None:
            x = x + pose_features.permute(0, 2, 1, 3, 4).reshape(x.shape)
        aligned_flat = None if aligned is None else aligned.transpose(1, 2).reshape(b * f, -1, h, w)  # (b*f, c, h, w)
        if aligned_flat is not None:
            x = x + self.aligned.read(aligned_flat)

        # 4. down, mid and up blocks (temporal modules run inside each block, over the f frames)
        x = run_blocks(self, x, emb, context, kwargs, num_frames=f)

        # 5. output head (plus the patch head and the colour skip, if any), unfold frames
        features = self.conv_act(self.conv_norm_out(x))  # (b*f, c0, h, w)
        x = self.conv_out(features)  # (b*f, c_out, h, w)
        if self.head is not None:
            x = x + self.head(features)
        moved = None
        if self.skip is not None:
            flat = source.transpose(1, 2).reshape(b * f, -1, h, w)  # (b*f, c_out, h, w)
            if self.shift is not None:  # moved per patch by the shift
                flat, moved = self.shift(features, source, shifted)
            if aligned_flat is not None:  # the character copied from the aligned reference where the gate says
                flat = self.aligned.blend(features, flat, aligned_flat)
            x = self.skip(features, x, flat)  # float32
        unfold = lambda y: y.reshape(b, f, -1, h, w).permute(0, 2, 1, 3, 4)  # noqa: E731 (b*f, c, h, w) -> (b, c, f, h, w)
        return (unfold(x), unfold(moved)) if return_moved else unfold(x)
