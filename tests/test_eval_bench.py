"""Evaluation metrics and the benchmark/eval command lines (their numbers are measured, never asserted)."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from rain.__main__ import main as rain_main
from rain.checkpoint import save_models
from rain.config import tiny
from rain.eval.cli import world_factory
from rain.eval.evaluate import drift
from rain.eval.metrics import edge_ratio, flicker, motion, psnr, ssim, summarize
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
    truth8, out8 = np.concatenate([truth, truth, truth[:2]]), np.concatenate([truth, noisy, noisy[:2]])
    row = summarize(out8, truth8)  # 8 frames: the first quarter exact, the last quarter noisy
    assert row["psnr_first_quarter"] > 90 and 25 < row["psnr_last_quarter"] < 30
    assert edge_ratio(truth, truth) == pytest.approx(1.0) and row["edge_ratio"] > 1  # noise adds edges
    ramp = np.broadcast_to(np.linspace(0, 255, 32, dtype=np.float32)[None, :, None], (32, 32, 3))
    stripes = np.where(np.arange(32) % 8 < 4, 255, 0).astype(np.uint8)[None, :, None].repeat(32, 0).repeat(3, 2)
    soft = (0.5 * stripes + 0.5 * stripes.mean()).astype(np.uint8)  # the stripes at half contrast
    assert edge_ratio(soft, stripes) == pytest.approx(0.5, abs=0.01)
    assert edge_ratio(ramp.astype(np.uint8), stripes) < 0.2  # a smooth ramp has little edge
    moving = np.zeros((6, 64, 64, 3), np.uint8)
    for i in range(6):  # a bright square sliding right, 3 pixels a frame
        moving[i, 20:36, 10 + 3 * i: 26 + 3 * i] = 200
    assert motion(moving, moving) == pytest.approx((1.0, 1.0))
    assert motion(np.repeat(moving[:1], 6, axis=0), moving) == (0.0, 0.0)  # frozen: no motion, in step with nothing
    half = (0.5 * moving + 64).astype(np.uint8)  # the same motion at half contrast: in step, half the change
    corr, ratio = motion(half, moving)
    assert corr > 0.99 and ratio == pytest.approx(0.5, abs=0.02)
    assert motion(moving[::-1], moving)[0] < 0  # the same square sliding left: against the truth


TINY_BENCH = ["--preset", "tiny", "--precision", "fp32", "--threads", "1", "--frames", "40", "--short-frames", "24",
              "--compare-frames", "24", "--chunk-window", "8", "--chunk-overlap", "2", "--flop-reps", "2",
              "--matmul-size", "128", "--calls", "12", "--window", "4"]
STREAM_FIELDS = {"frames", "shown", "dropped", "pile_calls", "fps", "fps_capacity", "first_output_ms", "latency_ms",
                 "push_ms", "window_frames", "ms_per_frame_first_window", "ms_per_frame_last_window",
                 "last_over_first", "rss_start_mib", "rss_end_mib", "rss_growth_mib", "ms_per_frame_by_stage"}
STAGES = {"detection", "conditioning_other", "pipeline_pose", "pipeline_unet", "pipeline_step", "pipeline_decode",
          "session_other", "total"}
METHODS = ("pile", "chunked_window", "per_frame_no_temporal", "pile_no_temporal")


def check_stream(stream: dict, frames: int, detection: bool) -> None:
    assert STREAM_FIELDS <= set(stream) and stream["frames"] == frames
    # the first frame shows after the pile filled: every push after that shows one frame
    assert stream["shown"] == frames - (16 - 1) and stream["dropped"] == 0 and stream["pile_calls"] == frames // 4
    lat = stream["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["max"] and lat["count"] == stream["shown"]
    assert stream["fps"] > 0 and stream["ms_per_frame_first_window"] > 0 and stream["last_over_first"] > 0
    assert stream["rss_start_mib"] > 10 and stream["rss_end_mib"] > 10
    stages = stream["ms_per_frame_by_stage"]
    assert set(stages) == STAGES and stages["pipeline_unet"] > 0 and stages["total"] > 0
    assert (stages["detection"] > 0) == detection


def test_bench_writes_every_measurement(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert rain_main(["bench", *TINY_BENCH, "--modes", "body", "style", "face", "--json", str(out)]) == 0
    result = json.loads(out.read_text())  # strict JSON: allow_nan=False on write
    machine = result["machine"]
    assert machine["cores"] >= 1 and machine["torch_threads"] == 1 and machine["precision"] == "fp32" and machine["cpu"]
    body, style = result["modes"]["body"], result["modes"]["style"]
    check_stream(body["with_detection"], 40, detection=True)  # real MediaPipe on the driving frames
    check_stream(body["without_detection"], 24, detection=False)
    check_stream(style["with_detection"], 24, detection=False)  # the style condition needs no detector
    overlap = body["with_detection_overlap"]  # calls on the worker thread: every frame still shows, in time
    assert STREAM_FIELDS <= set(overlap) and overlap["fps"] > 0 and overlap["pile_calls"] == 6
    assert 24 - 16 - 4 <= overlap["shown"] <= 24 - 15 and overlap["dropped"] == 0
    assert "note" not in style  # a preset serves every mode with the same weights: nothing to note
    assert set(result["modes"]["face"]) >= {"with_detection", "without_detection"}  # a preset serves every mode
    assert result["where_time_goes"] == body["with_detection"]["ms_per_frame_by_stage"]
    compare = result["compare"]
    assert compare["frames"] == 24 and compare["window"] == 8 and compare["overlap"] == 2
    for name, per_call in zip(METHODS, (4, 6, 1, 4)):
        row = compare[name]
        assert row["frames_per_call"] == per_call and row["frames_scored"] == 24
        assert row["ms_per_frame"] > 0 and row["first_frame_latency_ms"] > 0 and row["flicker"] >= 0
        assert row["steady_latency_ms"]["p50"] > 0
    flops = result["flops"]
    assert flops["unet"]["flops_per_call"] > 0 and flops["unet"]["frames_per_call"] == 16
    assert flops["matmul_fp32"]["flops_per_s"] > 0 and flops["unet_over_matmul_fp32"] > 0
    assert "matmul_bf16" not in flops  # the pipeline runs in fp32 here
    pile = result["pile"]
    assert pile["calls"] == 12 and set(pile["ms_per_call_by_stage"]) == {"pose", "unet", "step", "decode"}
    check_markdown_report(out, capsys)


def check_markdown_report(path, capsys) -> None:
    """`python -m rain bench-report JSON --markdown`: the tables of BENCHMARKS.md, one row per measured thing."""
    capsys.readouterr()
    assert rain_main(["bench-report", str(path), "--markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| ")]
    widths = {line.count("|") for line in rows if line.startswith("| mode")}
    assert widths == {12}  # 11 columns
    assert sum(line.startswith("| body | ") for line in rows) == 3  # with, without detection, overlap
    assert sum(line.split(" | ")[0] in {"| pile", "| chunked_window", "| per_frame_no_temporal",
                                        "| pile_no_temporal"} for line in rows) == 4
    assert any(line.startswith("| total push | ") for line in rows)
    assert lines.count("|---|---|---|---|---|---|---|---|---|---|---|") == 1


def test_bench_skips_a_mode_without_a_model(tmp_path):
    pipeline = RainPipeline.from_config(tiny())
    save_models(pipeline.models, pipeline.config, tmp_path / "model")
    args = ["bench", *TINY_BENCH[2:], "--model", str(tmp_path / "model"), "--face-model", str(tmp_path / "none"),
            "--modes", "face", "--calls", "0", "--json", str(tmp_path / "b.json")]
    assert rain_main(args) == 0
    result = json.loads((tmp_path / "b.json").read_text())
    assert result["modes"]["face"]["skipped"].startswith("skipped: no face model")
    assert result["where_time_goes"] is None and "gradio_transport" not in result and "pile" not in result
    assert result["compare"]["pile"]["frames_scored"] == 24  # the given model is still compared


def test_bench_measures_a_model_with_a_colour_skip_from_the_condition(tmp_path):
    """The style tier's models (a colour skip from the restyled frame) as --model: the FLOP count and the pile
    section run (the UNet call gets a stand-in of the conditions' latents); --compare-frames 0 skips the
    samplers' comparison, which drives a body world."""
    from test_colour_skip import tiny_pixel

    config = tiny_pixel("condition")
    save_models(RainPipeline.from_config(config).models, config, tmp_path / "model")
    args = ["bench", *TINY_BENCH[2:], "--model", str(tmp_path / "model"), "--modes", "body", "--compare-frames", "0",
            "--json", str(tmp_path / "b.json")]
    assert rain_main(args) == 0
    result = json.loads((tmp_path / "b.json").read_text())
    assert "compare" not in result and result["flops"]["unet"]["flops_per_call"] > 0
    assert result["pile"]["calls"] == 12 and result["pile"]["fps_steady"] > 0


def test_chunked_sampler_slides_with_overlap(tiny_pipeline):
    from rain.bench.samplers import ChunkedSampler

    rng = np.random.default_rng(0)
    reference = tiny_pipeline.encode_reference(rng.integers(0, 256, (64, 64, 3), np.uint8))
    sampler = ChunkedSampler(tiny_pipeline, reference, window=8, overlap=2)
    assert sampler.needed == 8
    first = sampler.run(rng.integers(0, 256, (8, 64, 64, 3), np.uint8))
    assert first.shape == (8, 64, 64, 3) and first.dtype == np.uint8 and sampler.needed == 6
    assert sampler.run(rng.integers(0, 256, (6, 64, 64, 3), np.uint8)).shape == (6, 64, 64, 3)
    with pytest.raises(ValueError, match="overlap"):
        ChunkedSampler(tiny_pipeline, reference, window=4, overlap=4)


@pytest.mark.parametrize("mode", ["motion", "face", "style"])
def test_eval_command_writes_json(tmp_path, mode):
    pipeline = RainPipeline.from_config(tiny())
    save_models(pipeline.models, pipeline.config, tmp_path / "model")
    args = ["eval", "--mode", mode, "--model", str(tmp_path / "model"), "--json", str(tmp_path / "e.json"),
            "--sequences", "1", "--frames", "9", "--drift-frames", "24", "--drift-window", "8"]
    assert rain_main(args) == 0
    result = json.loads((tmp_path / "e.json").read_text())
    assert {"pile", "no_temporal", "flicker_ratio", "drift"} <= set(result)
    assert result["mode"] == mode and 0 < result["pile"]["psnr"] < 60
    assert (result["sequences"], result["frames"]) == (1, 9)  # the sample the numbers come from
    assert -1 <= result["pile"]["motion_corr"] <= 1 and result["pile"]["motion_ratio"] >= 0  # pooled over sequences
    assert (tmp_path / f"eval_{mode}.mp4").stat().st_size > 0 and (tmp_path / f"eval_{mode}.png").exists()
    assert ("condition_as_output" in result) == (mode == "style") and result["entry"] == "noise"
    d = result["drift"]  # the ablation ran on the same stream: its difference is subtracted
    assert d["drift_vs_ablation_db"] == pytest.approx(d["drift_db"] - d["ablation_drift_db"])
    assert rain_main(["nonsense"]) == 2


def test_drift_against_itself_as_ablation_is_zero(tiny_pipeline):
    """Same weights, same stream, same seed: the content term cancels exactly (the comparison is paired)."""
    make_world = world_factory("motion", tiny_pipeline.config.resolution)
    d = drift(tiny_pipeline, make_world, frames=24, window=8, ablation=tiny_pipeline)
    assert d["ablation_drift_db"] == d["drift_db"] and d["drift_vs_ablation_db"] == 0.0


def test_eval_narrows_the_style_world_to_trained_families(tmp_path):
    pipeline = RainPipeline.from_config(tiny())
    save_models(pipeline.models, pipeline.config, tmp_path / "model")
    args = ["eval", "--model", str(tmp_path / "model"), "--json", str(tmp_path / "e.json"),
            "--sequences", "1", "--frames", "5", "--drift-frames", "0", "--style-families", "palette,grade"]
    assert rain_main([args[0], "--mode", "style", *args[1:]]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["style_families"] == "palette,grade"
    with pytest.raises(ValueError, match="style world only"):
        rain_main([args[0], "--mode", "motion", *args[1:]])
    with pytest.raises(ValueError, match="unknown style families"):
        rain_main([args[0], "--mode", "style", *args[1:-1], "palette,oil"])


def test_eval_takes_a_strength_within_the_trained_range(tmp_path):
    config = tiny()
    config = dataclasses.replace(config, pile=dataclasses.replace(config.pile, entry="latent", strength=0.7,
                                                                  strength_min=0.5))
    pipeline = RainPipeline.from_config(config)
    save_models(pipeline.models, pipeline.config, tmp_path / "model")
    args = ["eval", "--mode", "style", "--model", str(tmp_path / "model"), "--json", str(tmp_path / "e.json"),
            "--sequences", "1", "--frames", "9", "--drift-frames", "0"]
    assert rain_main([*args, "--strength", "0.6"]) == 0
    result = json.loads((tmp_path / "e.json").read_text())
    assert (result["entry"], result["strength"]) == ("latent", 0.6) and result["condition_as_output"]["psnr"] > 0
    with pytest.raises(ValueError, match="strength_min <= strength"):
        rain_main([*args, "--strength", "0.3"])


def test_gradio_transport_round_trip():
    import bench_transport

    frame = np.zeros((32, 32, 3), np.uint8)
    result = bench_transport.gradio_round_trip(frame, 2)  # a real local Gradio server and gradio_client
    assert result["round_trip_ms"]["count"] == 2 and result["round_trip_ms"]["p50"] > 0 and result["bytes"] > 0


@pytest.mark.parametrize("variant", ["base", "channels_last", "bf16_weights", "onnx"])
def test_speed_variants_run_and_write_json(tmp_path, variant):
    """The Optimisations table's variants (compile is left out here: minutes of inductor compile on CPU)."""
    from rain.bench import variants

    pipeline = RainPipeline.from_config(tiny())
    save_models(pipeline.models, pipeline.config, tmp_path / "model")
    out = tmp_path / f"{variant}.json"
    assert variants.main(["--model", str(tmp_path / "model"), "--variant", variant, "--threads", "1",
                          "--calls", "3", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["variant"] == variant and result["ms_per_call_p50"] > 0 and result["ms_per_call_by_stage"]["unet"] > 0
    with pytest.raises(ValueError, match="variant must be one of"):
        variants.variant_pipeline(tmp_path / "model", "fp8")


def test_onnx_runtime_unet_matches_torch(tiny_pipeline):
    """The `onnx` speed variant computes the same UNet (fp32 on both sides), for each pile shape it meets."""
    from rain.bench.onnx_unet import OnnxUNet
    from rain.models.attention import ReferenceRead

    p = tiny_pipeline
    ref = p.encode_reference(np.full((64, 64, 3), 128, np.uint8))
    onnx_unet = OnnxUNet(p.models.unet, threads=1)
    c, h = p.config.unet.in_channels, p.config.resolution // p.config.vae.downscale
    pose_c = p.config.unet.block_out_channels[0]
    g = torch.Generator().manual_seed(0)
    for f in (4, 8, 4):
        x, pose = torch.randn(1, c, f, h, h, generator=g), torch.randn(1, pose_c, f, h, h, generator=g)
        t = torch.randint(0, 1000, (1, f), generator=g)
        args = (x, t, ref.image_embeds.float(), pose, p.guidance, ReferenceRead(ref.tokens, f))
        with torch.no_grad():
            torch.testing.assert_close(onnx_unet(*args), p.models.unet(*args).float(), rtol=1e-3, atol=1e-3)
    assert len(onnx_unet.sessions) == 2  # one export per shape
