"""Checks and conversions between user images (uint8 RGB arrays) and model tensors."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def check_rgb(image: object, what: str) -> np.ndarray:
    """Return `image` as a (H, W, 3) uint8 array, or raise ValueError saying what is wrong with it."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{what} must be a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{what} must be RGB with shape (H, W, 3), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"{what} must be uint8, got {image.dtype}")
    if min(image.shape[:2]) < 1:
        raise ValueError(f"{what} is empty: shape {image.shape}")
    return image


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(..., H, W, 3) uint8 -> (..., 3, H, W) float in [0, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float() / 255.0
    return x.movedim(-1, -3)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(..., 3, H, W) float in [0, 1] -> (..., H, W, 3) uint8."""
    return (images.float().clamp(0, 1) * 255).round().to(torch.uint8).movedim(-3, -1).cpu().numpy()


def square(image: torch.Tensor, size: int) -> torch.Tensor:
    """(3, H, W) -> (3, size, size): centre crop to the short side, then area/bicubic resize."""
    _, h, w = image.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = image[:, top:top + s, left:left + s][None]
    mode = "area" if s > size else "bicubic"
    out = F.interpolate(crop, size=(size, size), mode=mode, **({} if mode == "area" else {"align_corners": False}))
    return out[0].clamp(0, 1)
