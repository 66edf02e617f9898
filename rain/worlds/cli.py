"""``python -m rain synth --world body --seed 7 --frames 300 --out DIR [--size 256]``.

Each world registers a writer in `WORLDS`; `--face-condition` and `--style-families` narrow the face and
style worlds as in training (`rain.train.data.world_config`).
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

from rain.worlds.config import WorldConfig

log = logging.getLogger(__name__)

Writer = Callable[[int, int, int, Path, Any], None]  # (seed, num_frames, size, out, world config or None)


def _write_body(seed: int, num_frames: int, size: int, out: Path, config: Any = None) -> None:
    from rain.worlds.io import write_sequence  # imageio only when writing
    write_sequence(seed, num_frames, size, out, config)


def _write_face(seed: int, num_frames: int, size: int, out: Path, config: Any = None) -> None:
    from rain.worlds.face.world import write_sequence
    write_sequence(seed, num_frames, size, out, config)


def _write_style(seed: int, num_frames: int, size: int, out: Path, config: Any = None) -> None:
    from rain.worlds.style_world import write_sequence
    write_sequence(seed, num_frames, size, out, config)


WORLDS: Mapping[str, Writer] = MappingProxyType({"body": _write_body, "face": _write_face,
                                                 "style": _write_style})


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rain synth",
                                description="Render a procedural world sequence with known ground truth.")
    p.add_argument("--world", choices=sorted(WORLDS), default="body", help="which world to render")
    p.add_argument("--seed", type=int, default=0, help="world seed (same seed, same sequence)")
    p.add_argument("--frames", type=int, default=300, help="number of frames")
    p.add_argument("--size", type=int, default=WorldConfig().size, help="side of the square frames (pixels)")
    p.add_argument("--out", type=Path, required=True, help="output folder (created)")
    p.add_argument("--face-condition", default="", help="face world: dots (default) or contours condition images")
    p.add_argument("--style-families", default="", help="style world: comma-separated style families (default: all)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; ``argv`` excludes the ``synth`` sub-command name. Returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.frames < 1 or args.size < 16:
        raise SystemExit("--frames must be >= 1 and --size >= 16")
    from rain.worlds.options import world_config

    try:
        config = world_config(args.world, args.style_families, args.face_condition)
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    WORLDS[args.world](args.seed, args.frames, args.size, args.out, config)
    dt = time.perf_counter() - t0
    print(f"synth: world={args.world} seed={args.seed} frames={args.frames} size={args.size} "
          f"-> {args.out} ({dt:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
