"""Frame metrics: PSNR, SSIM, flicker (how far the frame-to-frame change strays from the truth's), the edge
ratio (how much edge the output has against the truth) and motion (does the output move with the truth).
PSNR, SSIM and flicker all reward a soft, still average; the last two show it."""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity


def psnr(output: np.ndarray, truth: np.ndarray) -> float:
    """uint8 arrays of the same shape -> dB (peak 255)."""
    mse = np.mean((output.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def ssim(output: np.ndarray, truth: np.ndarray) -> float:
    """Mean SSIM over frames of (T, H, W, 3) or one (H, W, 3) uint8 image."""
    if output.ndim == 3:
        return float(structural_similarity(output, truth, channel_axis=2, data_range=255))
    return float(np.mean([ssim(o, t) for o, t in zip(output, truth)]))


def flicker(output: np.ndarray, truth: np.ndarray) -> float:
    """Mean |(o[t] - o[t-1]) - (g[t] - g[t-1])| over (T, H, W, 3) frames, in 0..255 units."""
    d_out = np.diff(output.astype(np.float32), axis=0)
    d_true = np.diff(truth.astype(np.float32), axis=0)
    return float(np.mean(np.abs(d_out - d_true)))


def edge_ratio(output: np.ndarray, truth: np.ndarray) -> float:
    """Mean gradient magnitude of the output's grey levels over the truth's, for (..., H, W, 3) uint8 frames:
    1 = as much edge as the truth, below 1 = softer (blur), above 1 = more (noise counts too)."""
    def edges(x: np.ndarray) -> float:
        grey = x.astype(np.float32).mean(axis=-1)
        return float(np.abs(np.diff(grey, axis=-1)).mean() + np.abs(np.diff(grey, axis=-2)).mean())
    return edges(output) / max(edges(truth), 1e-9)


def block_changes(frames: np.ndarray, pool: int = 8) -> np.ndarray:
    """Frame-to-frame changes of (T, H, W, 3) frames averaged in pool x pool blocks (the layout, not the
    sampler's grain), flattened."""
    t, h, w, c = frames.shape
    blocks = frames.astype(np.float32)[:, : h - h % pool, : w - w % pool]
    blocks = blocks.reshape(t, h // pool, pool, w // pool, pool, c).mean(axis=(2, 4))
    return np.diff(blocks, axis=0).ravel()


def motion_of_changes(d_out: np.ndarray, d_true: np.ndarray) -> tuple[float, float]:
    """Does the output move with the truth? The correlation of their changes (1 = in step, 0 = unrelated)
    and the output's mean change over the truth's (0 = frozen, 1 = as much motion). Pool the changes of
    several sequences before calling: a sequence whose truth hardly moves makes its own ratio meaningless."""
    if d_out.std() == 0 or d_true.std() == 0:  # a frozen output (or truth) moves with nothing
        return 0.0, float(np.abs(d_out).mean() / max(np.abs(d_true).mean(), 1e-9))
    return float(np.corrcoef(d_out, d_true)[0, 1]), float(np.abs(d_out).mean() / np.abs(d_true).mean())


def motion(output: np.ndarray, truth: np.ndarray, pool: int = 8) -> tuple[float, float]:
    """`motion_of_changes` of one sequence's (T, H, W, 3) frames, on pool x pool blocks."""
    return motion_of_changes(block_changes(output, pool), block_changes(truth, pool))


def summarize(output: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Whole-sequence PSNR, SSIM and flicker, and the PSNR of its first and last quarter (a stream that
    feeds on its own errors loses quality within a sequence; a per-frame sampler cannot)."""
    q = max(1, len(output) // 4)
    return {"psnr": psnr(output, truth), "ssim": ssim(output, truth), "flicker": flicker(output, truth),
            "edge_ratio": edge_ratio(output, truth),
            "psnr_first_quarter": psnr(output[:q], truth[:q]), "psnr_last_quarter": psnr(output[-q:], truth[-q:])}
