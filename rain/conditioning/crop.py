"""Frame validation, centre crop and resize.

Every frame entering the conditioning stage goes through `prepare_frame`:
1. `to_rgb_uint8` converts by these documented rules, or raises `ValueError` saying why:
   - uint8 (H, W, 3): used as is (assumed RGB).
   - grayscale (H, W) or (H, W, 1): replicated to three channels.
   - RGBA (H, W, 4): composited over black (opaque pixels are unchanged, alpha is dropped).
   - uint16: scaled to 8 bits by rounding ``x / 257`` (65535 -> 255).
   - float, bool, signed or other dtypes, None, empty frames, 2 or > 4 channels: ValueError
     (a float frame's range is ambiguous; convert it yourself, e.g. ``(x * 255).round()``).
2. `center_crop` takes the centred square whose side is ``crop_ratio`` x the short side
   (the official demo uses 0.9), so frames of any size and aspect give a square.
3. `resize_square` resizes it to the model resolution (INTER_AREA down, INTER_LINEAR up).
Landmarks are normalised to the cropped square, so they are independent of the resize.
"""
from __future__ import annotations

import cv2
import numpy as np


def to_rgb_uint8(frame: np.ndarray) -> np.ndarray:
    """Validate a camera frame and return it as contiguous uint8 RGB (H, W, 3)."""
    if frame is None:
        raise ValueError("frame is None (no camera image yet?)")
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.ndim == 2:
        frame = frame[:, :, None]
    if frame.ndim != 3:
        raise ValueError(f"frame must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {frame.shape}")
    h, w, c = frame.shape
    if h == 0 or w == 0:
        raise ValueError(f"frame is empty: shape {frame.shape}")
    if c not in (1, 3, 4):
        raise ValueError(f"frame has {c} channels; expected 1 (gray), 3 (RGB) or 4 (RGBA)")
    frame = _to_uint8(frame)
    if c == 1:
        frame = np.repeat(frame, 3, axis=2)
    elif c == 4:
        alpha = frame[:, :, 3:4].astype(np.uint16)
        frame = ((frame[:, :, :3].astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)
    return np.ascontiguousarray(frame)


def _to_uint8(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint8:
        return frame
    if frame.dtype == np.uint16:
        return ((frame.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    raise ValueError(
        f"frame dtype {frame.dtype} is not supported: pass uint8 (or uint16) RGB; "
        "for floats in [0, 1] use (x * 255).round().astype(np.uint8)")


def crop_box(height: int, width: int, crop_ratio: float) -> tuple[int, int, int]:
    """(top, left, side) of the centred square crop; side >= 1."""
    if not 0.0 < crop_ratio <= 1.0:
        raise ValueError(f"crop_ratio must be in (0, 1], got {crop_ratio}")
    side = max(1, int(round(min(height, width) * crop_ratio)))
    return (height - side) // 2, (width - side) // 2, side


def center_crop(frame: np.ndarray, crop_ratio: float) -> np.ndarray:
    """The centred square of side crop_ratio * short side. (H, W, C) -> (S, S, C)."""
    top, left, side = crop_box(frame.shape[0], frame.shape[1], crop_ratio)
    return frame[top:top + side, left:left + side]


def resize_square(square: np.ndarray, size: int) -> np.ndarray:
    """Resize a square image to (size, size); a no-op when it already has that size."""
    if square.shape[0] == size and square.shape[1] == size:
        return square
    interp = cv2.INTER_AREA if square.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interp)


def prepare_frame(frame: np.ndarray, crop_ratio: float, size: int) -> np.ndarray:
    """Any camera frame -> validated, centre-cropped, resized uint8 RGB (size, size, 3)."""
    return resize_square(center_crop(to_rgb_uint8(frame), crop_ratio), size)
