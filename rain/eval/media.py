"""Video and image outputs of an evaluation: an H.264 mp4 and a contact sheet."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import numpy as np


def write_mp4(path: Path, frames: np.ndarray, fps: float) -> None:
    """(T, H, W, 3) uint8 -> H.264 mp4 (yuv420p, playable everywhere)."""
    with imageio.get_writer(path, fps=fps, codec="libx264", pixelformat="yuv420p", macro_block_size=1) as w:
        for frame in frames:
            w.append_data(frame)


def contact_sheet(path: Path, truth: np.ndarray, output: np.ndarray, columns: int = 8) -> None:
    """Top row: ground truth, bottom row: output, `columns` frames evenly spaced."""
    idx = np.linspace(0, len(truth) - 1, columns).round().astype(int)
    sheet = np.concatenate([np.concatenate(list(truth[idx]), axis=1), np.concatenate(list(output[idx]), axis=1)])
    imageio.imwrite(path, sheet)
