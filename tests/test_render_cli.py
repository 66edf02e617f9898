"""`python -m rain render`: a world's driving video through the real live path (mediapipe) into an mp4."""

import imageio.v2 as imageio

from rain.__main__ import main as rain_main
from rain.checkpoint import save_models
from rain.config import tiny
from rain.pipeline import RainPipeline


def test_render_a_driving_video_end_to_end(tmp_path):
    assert rain_main(["synth", "--world", "body", "--seed", "7", "--frames", "10", "--size", "64",
                      "--out", str(tmp_path / "seq")]) == 0
    pipeline = RainPipeline.from_config(tiny())
    save_models(pipeline.models, pipeline.config, tmp_path / "model")
    out = tmp_path / "out.mp4"
    assert rain_main(["render", "--model", str(tmp_path / "model"), "--reference", str(tmp_path / "seq" / "reference.png"),
                      "--driving", str(tmp_path / "seq" / "driving.mp4"), "--out", str(out)]) == 0
    frames = imageio.mimread(out)
    assert len(frames) == 10 and frames[0].shape == (64, 64, 3)
