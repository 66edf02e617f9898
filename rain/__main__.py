"""`python -m rain <command> ...`: synth (procedural worlds), train (the recipe), eval (metrics), ship, bench, bench-report (a bench JSON's tables), render."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = {
        "synth": "rain.worlds.cli",
        "train": "rain.train.cli",
        "eval": "rain.eval.cli",
        "ship": "rain.train.ship",
        "bench": "rain.bench",
        "bench-report": "rain.bench.report",
        "render": "rain.render",
    }
    if not argv or argv[0] not in commands:
        print(f"usage: python -m rain {{{','.join(commands)}}} ...", file=sys.stderr)
        return 2
    import importlib

    return importlib.import_module(commands[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
