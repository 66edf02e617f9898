"""Names of the published RAIN-v0.1 checkpoints -> names of our modules, with a strict check.

- `reference_unet.pth` -> `reference_net`: diffusers' SD1.5 names exactly (our reference net has no
  output head either).
- `pose_guider.pth` -> `pose_guider`: the same names (`conv_in`, `blocks.0..5`, `conv_out`).
- `motion_unet.pth` -> `unet`: SD1.5 names exactly, plus `time_embedding.cond_proj.weight`; the 21
  AnimateDiff-v2 temporal modules are renamed the way diffusers converts AnimateDiff checkpoints:
  drop `temporal_transformer.`, `attention_blocks.0/1` -> `attn1/attn2`, `norms.0/1` -> `norm1/norm2`,
  `ff_norm` -> `norm3`. Their `pos_encoder.pe` buffers are dropped: our `pos_embed.pe` sin/cos tables
  are recomputed at construction.
- `vae` (a diffusers `AutoencoderKL` folder, e.g. `stabilityai/sd-vae-ft-mse`) -> `vae`: diffusers' names;
  the legacy attention names of older exports are renamed the way diffusers' own loader does
  (`query/key/value/proj_attn` -> `to_q/to_k/to_v/to_out.0`).
- `image_encoder` (a transformers `CLIPVisionModelWithProjection` folder, e.g. the `image_encoder` of
  `lambdalabs/sd-image-variations-diffusers`) -> `image_encoder`: prefixed with `model.` (our wrapper
  holds the CLIP model there); the `position_ids` buffer older exports saved is dropped (transformers
  recomputes it; it is not persistent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

PART_OF_FILE = {"motion_unet": "unet", "reference_unet": "reference_net", "pose_guider": "pose_guider",
                "vae": "vae", "image_encoder": "image_encoder"}
RECOMPUTED_BUFFER = re.compile(r"\.pos_embed\.pe$")  # our temporal position tables, never loaded

_MOTION_RENAMES = [
    ("temporal_transformer.", ""),
    (".attention_blocks.0.", ".attn1."),
    (".attention_blocks.1.", ".attn2."),
    (".norms.0.", ".norm1."),
    (".norms.1.", ".norm2."),
    (".ff_norm.", ".norm3."),
]
_LEGACY_VAE_ATTENTION = {"query": "to_q", "key": "to_k", "value": "to_v", "proj_attn": "to_out.0"}
_LEGACY_VAE_KEY = re.compile(r"(\.attentions\.\d+\.)(query|key|value|proj_attn)(\.(?:weight|bias))$")
_CLIP_DROPPED = re.compile(r"(^|\.)position_ids$")  # a recomputed, non-persistent buffer in transformers


def convert_key(file: str, key: str) -> str | None:
    """Our name for a published key, or None for a key that is deliberately dropped."""
    if file not in PART_OF_FILE:
        raise ValueError(f"unknown RAIN-v0.1 checkpoint {file!r}; expected one of {sorted(PART_OF_FILE)}")
    if file == "motion_unet" and ".motion_modules." in key:
        return _motion_key(key)
    if file == "vae":
        return _LEGACY_VAE_KEY.sub(lambda m: m.group(1) + _LEGACY_VAE_ATTENTION[m.group(2)] + m.group(3), key)
    if file == "image_encoder":
        return None if _CLIP_DROPPED.search(key) else "model." + key
    return key


def _motion_key(key: str) -> str | None:
    if key.endswith(".pos_encoder.pe"):
        return None
    for old, new in _MOTION_RENAMES:
        key = key.replace(old, new)
    return key


@dataclass(frozen=True)
class KeyReport:
    missing: list[str]  # ours, left without a published tensor
    unexpected: list[str]  # published, with no parameter of ours
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]]  # (name, published shape, our shape)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self) -> str:
        lines = [f"missing (ours, unfilled): {k}" for k in self.missing]
        lines += [f"unexpected (published, unmapped): {k}" for k in self.unexpected]
        lines += [f"shape mismatch: {k} published {a} ours {b}" for k, a, b in self.mismatched]
        return "\n".join(lines)


def check_keys(module: torch.nn.Module, converted: dict[str, tuple[int, ...]]) -> KeyReport:
    """Compare converted names and shapes with `module`'s state dict (recomputed buffers aside)."""
    ours = {k: tuple(v.shape) for k, v in module.state_dict().items() if not RECOMPUTED_BUFFER.search(k)}
    return KeyReport(
        missing=sorted(set(ours) - set(converted)),
        unexpected=sorted(set(converted) - set(ours)),
        mismatched=[(k, tuple(converted[k]), ours[k]) for k in ours if k in converted and tuple(converted[k]) != ours[k]],
    )


def convert_state_dict(file: str, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state_dict.items():
        new = convert_key(file, key)
        if new is not None:
            out[new] = value
    return out


def checked_state_dict(module: torch.nn.Module, file: str, state_dict: dict[str, torch.Tensor],
                       ) -> dict[str, torch.Tensor]:
    """Convert a published state dict to our names and check it against `module` (raising with every
    missing/unexpected/mismatched key); `module` may live on the `meta` device."""
    converted = convert_state_dict(file, state_dict)
    report = check_keys(module, {k: tuple(v.shape) for k, v in converted.items()})
    if not report.ok:
        raise ValueError(f"{file}: the checkpoint does not fit our {type(module).__name__}:\n{report.describe()}")
    return converted


def load_published(module: torch.nn.Module, file: str, state_dict: dict[str, torch.Tensor]) -> None:
    """Load a published state dict into `module`, raising with every missing/unexpected/mismatched key.

    The tensors are assigned (not copied): a module built with empty (meta) parameters is filled
    without ever allocating a random init."""
    module.load_state_dict(checked_state_dict(module, file, state_dict), strict=False, assign=True)
