"""`python -m rain.live.examples`: the app's example characters and driving video, made by our own worlds.

Every image is rendered by the project's procedural worlds from held-out seeds (never trained on), so
the examples carry no third-party licence. Writes examples/<mode>/<seed>.png for each mode and
examples/driving/body.mp4 (a skeleton-free driving video the live detector can read).
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import tempfile
from pathlib import Path

import imageio.v2 as imageio

from rain.train.config import HELD_OUT_SEED_START

WORLD_WRITERS = {"body": "rain.worlds.io", "face": "rain.worlds.face.world", "style": "rain.worlds.style_world"}
EXAMPLE_SEEDS = tuple(HELD_OUT_SEED_START + 501 + i for i in range(4))  # four characters per mode (+500 is a close-up)
DRIVING_FRAMES = 96  # about 4 s of motion at the world's 25 fps


def write_examples(out: Path, size: int = 256) -> list[Path]:
    """Write the example set into `out`; return the written files."""
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode, module in WORLD_WRITERS.items():
            write_sequence = importlib.import_module(module).write_sequence
            (out / mode).mkdir(parents=True, exist_ok=True)
            for seed in EXAMPLE_SEEDS:
                folder = Path(tmp) / f"{mode}-{seed}"
                frames = DRIVING_FRAMES if (mode, seed) == ("body", EXAMPLE_SEEDS[0]) else 1
                write_sequence(seed, frames, size, folder)
                target = out / mode / f"{seed}.png"
                imageio.imwrite(target, imageio.imread(folder / "reference.png"))
                written.append(target)
        (out / "driving").mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(tmp) / f"body-{EXAMPLE_SEEDS[0]}" / "driving.mp4", out / "driving" / "body.mp4")
        written.append(out / "driving" / "body.mp4")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("examples"))
    args = parser.parse_args()
    for path in write_examples(args.out):
        print(path)


if __name__ == "__main__":
    main()
