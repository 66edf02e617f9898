"""The shipped CPU-tier motion model (checkpoints/body) loads and animates a fresh held-out sequence."""

import json
from pathlib import Path

import numpy as np

from rain.checkpoint import load_models
from rain.eval.evaluate import stream_sequence, without_temporal
from rain.eval.metrics import flicker, psnr
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START
from rain.worlds.body import BodyWorld

CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "body"
FLOOR_MARGIN_DB = 1.5  # the floor sits this far below the PSNR measured at shipping time


def test_shipped_body_model_animates_a_held_out_sequence():
    measured = json.loads((CHECKPOINT / "eval.json").read_text())["pile"]["psnr"]
    models, config = load_models(CHECKPOINT)
    pipeline = RainPipeline(models, config)
    world = BodyWorld.from_seed(HELD_OUT_SEED_START + 4321, num_frames=24, size=config.resolution)
    pairs = list(stream_sequence(pipeline, world, seed=0))
    out = np.stack([o for o, _ in pairs])
    truth = np.stack([t for _, t in pairs])
    assert out.shape == (24, config.resolution, config.resolution, 3)
    quality = psnr(out, truth)
    assert quality > measured - FLOOR_MARGIN_DB, f"{quality:.2f} dB, shipped at {measured:.2f} dB"
    # the temporal modules do their job: far less flicker than the same weights without them
    ablation = without_temporal(pipeline)
    plain = np.stack([o for o, _ in stream_sequence(ablation, world, seed=0)])
    assert flicker(out, truth) < 0.6 * flicker(plain, truth)
