"""The pile objective's loss of face models on the same fixed training clips (true maps, no jitter): is a change
better on what it trains on? `PYTHONPATH=. python docs/aligned_unet/objective_probe.py CLIPS JITTER MODEL...` (JITTER: the
maps' random error in px, as `--aligned-jitter`; 0 = the true maps)."""

import json
import sys

import numpy as np
import torch

from rain.checkpoint import load_models
from rain.train.data import ClipStream
from rain.train.objective import RainObjective, pile_levels


def main(clips: int, jitter: float, models: list[str]) -> None:
    torch.set_grad_enabled(False)
    stream = ClipStream("face", 4, 256, seed=0, aligned_jitter=jitter)
    batches = [stream.sample(np.random.default_rng(10_000 + i)) for i in range(clips)]
    result = {}
    for path in models:
        parts, config = load_models(path)
        objective = RainObjective(parts, config).eval()
        levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]
        losses = []
        for i, clip in enumerate(batches):
            batch = {k: v[None] for k, v in clip.items() if k != "aligned" or config.unet.aligned_reference}
            with torch.autocast("cpu", torch.bfloat16):
                losses.append(float(objective(batch, levels, torch.Generator().manual_seed(i))))
        result[path] = {"loss": float(np.mean(losses)), "psnr_x0": float(10 * np.log10(4 / np.mean(losses)))}
        print(path, result[path], flush=True)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:])
