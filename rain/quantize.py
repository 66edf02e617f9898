"""Int8 weight storage for shipped checkpoints: half the size of fp16, dequantised to float on load.

Each float matrix or convolution kernel with at least `MIN_ELEMENTS` values is stored as int8 with one
fp16 scale per output channel (dim 0, symmetric: scale = max|w| / 127), under the tensor's own key plus
`<key>.int8_scale`. Biases, norms and small tensors stay fp16. Compute is unchanged: models run on the
dequantised float weights, so only the rounding of the stored values (at most scale / 2 per weight) differs.
"""

from __future__ import annotations

import torch

SCALE_SUFFIX = ".int8_scale"  # key suffix of a quantised tensor's per-output-channel scales
MIN_ELEMENTS = 4096  # smaller tensors are not worth quantising (and norms/biases are sensitive)
STORAGE = ("float32", "float16", "int8")  # storage formats `save_models` accepts


def _per_channel(scale: torch.Tensor, ndim: int) -> torch.Tensor:
    """(out,) -> (out, 1, ..., 1): broadcast one scale per output channel (k-diffusion's append_dims)."""
    return scale.reshape(scale.shape[0], *([1] * (ndim - 1)))


def quantize_tensor(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(out, ...) float -> int8 values of the same shape and (out,) fp16 scales."""
    w = weight.detach().float()
    absmax = w.abs().reshape(w.shape[0], -1).amax(dim=1)
    scale = (absmax / 127.0).clamp_min(1e-12).half()  # fp16 scales, used as stored when dequantising
    q = torch.round(w / _per_channel(scale.float(), w.ndim)).clamp_(-127, 127).to(torch.int8)
    return q, scale


def quantizable(tensor: torch.Tensor) -> bool:
    return tensor.is_floating_point() and tensor.ndim >= 2 and tensor.numel() >= MIN_ELEMENTS


def encode_state(state: dict[str, torch.Tensor], storage: str) -> dict[str, torch.Tensor]:
    """A state dict as stored on disk in `storage` (one of STORAGE)."""
    if storage not in STORAGE:
        raise ValueError(f"unknown storage {storage!r}; choose one of {', '.join(STORAGE)}")
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        value = value.detach()
        if storage == "int8" and quantizable(value):
            out[key], out[key + SCALE_SUFFIX] = quantize_tensor(value)
        elif value.is_floating_point():
            out[key] = value.to(torch.float16 if storage != "float32" else torch.float32).contiguous().clone()
        else:
            out[key] = value.contiguous().clone()
    return out


def decode_state(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Stored tensors (any of STORAGE) -> float32 state dict with the model's own keys."""
    out: dict[str, torch.Tensor] = {}
    for key, value in stored.items():
        if key.endswith(SCALE_SUFFIX):
            if key[: -len(SCALE_SUFFIX)] not in stored:
                raise ValueError(f"scale {key!r} has no quantised tensor")
            continue
        scale = stored.get(key + SCALE_SUFFIX)
        if scale is not None:
            if value.dtype != torch.int8 or scale.shape != (value.shape[0],):
                raise ValueError(f"{key!r}: expected int8 values with {value.shape[0]} scales")
            out[key] = value.float() * _per_channel(scale.float(), value.ndim)
        else:
            out[key] = value.float() if value.is_floating_point() else value
    return out
