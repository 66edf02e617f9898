"""Measure detection time per frame on this machine.

    python -m rain.conditioning.benchmark [--frames 30]

Times MediaPipe pose and face mesh separately (video mode, i.e. tracking between frames, and
static mode, detection from scratch every frame) on a real photo (scikit-image's astronaut)
resized to 256x256 and 640x480 (the frame as given, no crop), plus the full `Conditioner` path
(crop + detect + smooth + draw) for face and body mode at 512x512 output.
"""
from __future__ import annotations

import argparse
import logging
import time

import cv2
import numpy as np

log = logging.getLogger(__name__)


def _time_ms(fn, frames: list[np.ndarray], warmup: int = 3) -> float:
    for f in frames[:warmup]:
        fn(f)
    t0 = time.perf_counter()
    for f in frames:
        fn(f)
    return (time.perf_counter() - t0) * 1000.0 / len(frames)


def _frames(img: np.ndarray, size: tuple[int, int], n: int) -> list[np.ndarray]:
    """n frames of a slowly panning view, so trackers see motion."""
    big = cv2.resize(img, (size[0] + n, size[1] + n))
    return [np.ascontiguousarray(big[i:i + size[1], i:i + size[0]]) for i in range(n)]


def run(n: int = 30) -> list[tuple[str, str, str, float]]:
    from skimage.data import astronaut

    from rain.conditioning import ConditionConfig, Conditioner
    from rain.conditioning.detect_mediapipe import MediaPipeDetector

    rows = []
    for size in ((256, 256), (640, 480)):
        frames = _frames(astronaut(), size, n)
        for part in ("pose", "face"):
            for static in (False, True):
                det = MediaPipeDetector(body=part == "pose", face=part == "face", static_images=static)
                ms = _time_ms(det.detect, frames)
                det.close()
                rows.append((f"{size[0]}x{size[1]}", part, "static" if static else "video", ms))
        for mode in ("face", "body"):
            cond = Conditioner(ConditionConfig(mode=mode, resolution=512))
            rows.append((f"{size[0]}x{size[1]}", f"Conditioner[{mode}]", "video", _time_ms(cond, frames)))
            cond.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"{'frame':>9} {'what':>20} {'mode':>7} {'ms/frame':>9}")  # noqa: T201 - CLI output
    for frame, what, mode, ms in run(args.frames):
        print(f"{frame:>9} {what:>20} {mode:>7} {ms:9.1f}")  # noqa: T201


if __name__ == "__main__":
    main()
