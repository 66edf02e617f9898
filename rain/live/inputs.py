"""Uploaded images, checked and converted with a clear message for everything a user can send.

`load_image` returns the RGB uint8 pixels plus a list of the conversions it made (shown to the user:
nothing is converted silently), or raises ValueError saying what is wrong with the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from rain.live.config import LIVE

MIN_SIDE = 16  # smaller images carry no usable character
_T = Image.Transpose
# EXIF orientation -> the transpose that makes the picture upright (as PIL.ImageOps.exif_transpose)
_UPRIGHT = {2: _T.FLIP_LEFT_RIGHT, 3: _T.ROTATE_180, 4: _T.FLIP_TOP_BOTTOM, 5: _T.TRANSPOSE, 6: _T.ROTATE_270,
            7: _T.TRANSVERSE, 8: _T.ROTATE_90}


def _to_rgb(image: Image.Image, notes: list[str]) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # F: 32-bit float, often in [0, 1]
        notes.append(f"{image.mode} (high bit depth) reduced to 8 bits")
        array = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0).clip(0, None)
        return np.repeat((array / max(array.max(), 1.0) * 255).round().astype(np.uint8)[..., None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        notes.append("transparent pixels put on white")
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if image.mode != "RGB":
        notes.append(f"{image.mode} converted to RGB")
    return np.asarray(image.convert("RGB"))


def load_image(path: str | Path, what: str = "image", max_side: int = LIVE.max_image_side,
               ) -> tuple[np.ndarray, list[str]]:
    """(H, W, 3) uint8 RGB and the conversions made; ValueError for anything unusable."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise ValueError(f"the {what} file is missing or empty")
    try:
        with Image.open(path) as image:
            width, height = image.size
            if max(width, height) > max_side or min(width, height) < MIN_SIDE:
                raise ValueError(f"the {what} is {width}x{height}; use {MIN_SIDE} to {max_side} pixels a side")
            notes: list[str] = []
            if image.mode in ("RGB", "RGBA") and any(";16" in str(tile.args) for tile in image.tile):
                notes.append("16 bits per channel reduced to 8")  # PIL decodes 48/64-bit PNGs so, silently
            if getattr(image, "n_frames", 1) > 1:
                notes.append(f"animated ({image.n_frames} frames): the first frame is used")
                image = next(ImageSequence.Iterator(image))
            image.load()
            rgb = _to_rgb(image, notes)
            orientation = image.getexif().get(0x0112, 1)  # EXIF orientation: phone photos are stored sideways
            if orientation in _UPRIGHT:
                rgb = np.asarray(Image.fromarray(rgb).transpose(_UPRIGHT[orientation]))
                notes.append(f"turned upright (EXIF orientation {orientation})")
            return rgb, notes
    except UnidentifiedImageError as exc:
        raise ValueError(f"the {what} is not an image file PIL can read ({path.suffix or 'no extension'})") from exc
    except Image.DecompressionBombError as exc:  # a header claiming billions of pixels
        raise ValueError(f"the {what} is too large to open safely ({exc})") from exc
    except (OSError, SyntaxError) as exc:  # truncated or corrupt data
        raise ValueError(f"the {what} file is corrupt or truncated ({exc})") from exc
