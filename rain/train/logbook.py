"""Loss log (CSV) and loss curve (PNG) of a training run."""

from __future__ import annotations

import csv
from pathlib import Path


def append(path: Path, step: int, values: dict[str, float]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(["step", *values])
        writer.writerow([step, *(f"{v:.6g}" for v in values.values())])


def plot(path: Path, out: Path, title: str) -> None:
    """Loss against step (log scale) with a running mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = list(csv.DictReader(path.open()))
    if not rows:
        return
    steps = np.array([int(r["step"]) for r in rows])
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    for key in rows[0]:
        if key == "step":
            continue
        y = np.array([float(r[key]) for r in rows])
        k = max(1, len(y) // 20)
        ax.plot(steps, y, alpha=0.3)
        ax.plot(steps[k - 1:], np.convolve(y, np.ones(k) / k, mode="valid"), label=f"{key} (running mean)")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
