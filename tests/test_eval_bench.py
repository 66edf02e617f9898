"""Evaluation metrics and the benchmark/eval command lines (their numbers are measured, never asserted)."""

import json

import numpy as np
import pytest

from rain.__main__ import main as rain_main
from rain.checkpoint import save_models
from rain.config import tiny
from rain.eval.metrics import flicker, psnr, ssim
from rain.pipeline import RainPipeline


def test_metrics_on_known_images():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    assert psnr(truth, truth) > 90 and ssim(truth, truth) == pytest.approx(1.0)
    noisy = np.clip(truth.astype(int) + rng.normal(0, 10, truth.shape), 0, 255).astype(np.uint8)
    assert 25 < psnr(noisy, truth) < 30  # sigma 10 -> about 28 dB
    assert flicker(truth, truth) == 0
    still = np.repeat(truth[:1], 3, axis=0)  # a frozen output of a moving truth flickers by the truth's change
    assert flicker(still, truth) == pytest.approx(np.abs(np.diff(truth.astype(np.float32), axis=0)).mean())


def test_bench_and_eval_commands_write_json(tmp_path):
    assert rain_main(["bench", "--preset", "tiny", "--calls", "12", "--window", "4", "--json", str(tmp_path / "b.json")]) == 0
    bench = json.loads((tmp_path / "b.json").read_text())["pile"]
    assert bench["calls"] == 12 and set(bench["ms_per_call_by_stage"]) == {"pose", "unet", "step", "decode"}
    pipeline = RainPipeline.from_config(tiny())
    save_models(pipeline.models, pipeline.config, tmp_path / "model")
    args = ["eval", "--mode", "motion", "--model", str(tmp_path / "model"), "--json", str(tmp_path / "e.json"),
            "--sequences", "1", "--frames", "9", "--drift-frames", "24", "--drift-window", "8"]
    assert rain_main(args) == 0
    result = json.loads((tmp_path / "e.json").read_text())
    assert {"pile", "no_temporal", "flicker_ratio", "drift"} <= set(result)
    assert (tmp_path / "eval_motion.mp4").stat().st_size > 0 and (tmp_path / "eval_motion.png").exists()
    assert rain_main(["nonsense"]) == 2
