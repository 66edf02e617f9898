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
from rain.worlds.options import style_world_config

WORLD_WRITERS = {"body": "rain.worlds.io", "face": "rain.worlds.face.world", "style": "rain.worlds.style_world"}
EXAMPLE_SEEDS = tuple(HELD_OUT_SEED_START + 501 + i for i in range(4))  # four characters per mode (+500 is a close-up)
DRIVING_FRAMES = 96  # about 4 s of motion at the world's 25 fps


def write_examples(out: Path, size: int = 256, style_families: str = "") -> list[Path]:
    """Write the example set into `out`; return the written files. `style_families` ("palette,grade"): the
    style exemplars come from the families the shipped style model learned."""
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode, module in WORLD_WRITERS.items():
            write_sequence = importlib.import_module(module).write_sequence
            (out / mode).mkdir(parents=True, exist_ok=True)
            for seed in EXAMPLE_SEEDS:
                folder = Path(tmp) / f"{mode}-{seed}"
                frames = DRIVING_FRAMES if (mode, seed) == ("body", EXAMPLE_SEEDS[0]) else 1
                if mode == "style" and style_families:
                    write_sequence(seed, frames, size, folder, style_world_config(style_families))
                else:
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
    parser.add_argument("--style-families", default="", help="style exemplars from these families (default: all)")
    args = parser.parse_args()
    for path in write_examples(args.out, style_families=args.style_families):
        print(path)


if __name__ == "__main__":
    main()
