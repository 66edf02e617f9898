"""RAIN Live: the Gradio app. Runs locally (`python app.py`), as a Hugging Face Space, and as an API.

Layout: one tab per mode (Human motion, Face morphing, Style transfer), each with a live webcam stream,
and an Offline video tab; a tab's settings controls and their handlers are in app_controls.py. Models
are loaded once per process and shared read-only (`loaded`; `--compile` compiles their UNets first);
everything that changes while a person streams lives in that person's `gr.State` (a `LiveSession`).
Settings come from `rain.live.LIVE` and `ConditionConfig`; nothing is defaulted here.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import logging
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
import spaces
import torch


from rain.conditioning import ConditionConfig
from rain.bench.machine import usable_cores
from rain.compiled import CompileError, compile_pipeline
from rain.images import square, to_tensor, to_uint8
from rain.live import LIVE, MODE_LABELS, LiveConfig, LiveSession
from rain.live.config import MAX_STREAM_EVERY, MIN_STREAM_EVERY
from rain.live.inputs import load_image
from rain.live.offline import animate_video
from rain.weights import CHECKPOINTS_ROOT, REGISTRY, LoadedWeights, MissingWeightsError, WeightsError, load_weights
from rain.weights.runtime import resolve_entry

from app_controls import (face_controls, pile_controls, set_pile_shape, set_retarget, set_strength,
                          strength_control)

EXAMPLES = Path(__file__).parent / "examples"


# ---------------------------------------------------------------------------------------------- models
@functools.cache
def _load(weights: str, compile_unet: bool) -> LoadedWeights:
    served = load_weights(weights)  # CUDA if available, else CPU
    if not compile_unet:
        return served
    return dataclasses.replace(served, pipeline=compile_pipeline(served.pipeline))  # every pile shape, now


def loaded(mode: str, weights: str, live: LiveConfig = LIVE) -> LoadedWeights:
    """The process-wide, frozen pipeline serving `mode` (loaded on first use, then shared by every session;
    with `live.compile` its UNet is compiled, see `warm_up_models`)."""
    try:
        return _load(weights, live.compile)
    except MissingWeightsError as exc:
        raise gr.Error(f"{MODE_LABELS[mode]} is not available in this build: no model is installed for it "
                       f"({weights}).") from exc
    except (WeightsError, FileNotFoundError, CompileError) as exc:
        raise gr.Error(f"{MODE_LABELS[mode]} could not be loaded: {exc}") from exc


def warm_up_models(models: dict[str, str], live: LiveConfig) -> None:
    """Load (and with `live.compile`, compile) every installed mode's model before the first user comes."""
    for mode, weights in models.items():
        try:
            loaded(mode, weights, live)
        except gr.Error as exc:
            logging.getLogger(__name__).warning("%s", exc)


def condition_config(mode: str, weights: str, crop_ratio: float, smoothing: float = ConditionConfig.smoothing,
                     align: bool = ConditionConfig.align_body, live: LiveConfig = LIVE) -> ConditionConfig:
    base = loaded(mode, weights, live).condition  # the conditioning the model was trained with
    try:
        return dataclasses.replace(base, mode=mode, crop_ratio=crop_ratio, smoothing=smoothing, align_body=align)
    except ValueError as exc:
        raise gr.Error(str(exc)) from exc


def checked_image(path: str | None, what: str) -> tuple[np.ndarray, list[str]]:
    """An uploaded image file -> RGB pixels and the conversions made, or a clear gr.Error."""
    if not path:
        raise gr.Error(f"Please provide a {what}.")
    try:
        return load_image(path, what)
    except ValueError as exc:
        raise gr.Error(str(exc)) from exc


def weights_of(models: dict[str, str], mode: str) -> str:
    if mode not in models:
        raise gr.Error(f"mode must be one of {sorted(models)}, got {mode!r}")
    return models[mode]


# ---------------------------------------------------------------------------------------------- handlers
def close_session(session: LiveSession | None) -> None:
    if session is not None:
        session.close()


@spaces.GPU
def set_reference(mode: str, weights: str, image: str | None, session: LiveSession | None,
                  crop_ratio: float, seed: float, live: LiveConfig = LIVE) -> tuple[LiveSession, str]:
    image, notes = checked_image(image, "reference image")
    if session is None:
        session = LiveSession(loaded(mode, weights, live).pipeline,
                              condition_config(mode, weights, crop_ratio, live=live), seed=int(seed),
                              overlap=live.overlap)
    session.set_reference(image)
    converted = "".join(f" Note: {n}." for n in notes)
    return session, f"**Ready**: character encoded{reference_note(session)}.{converted} Start the webcam."


def reference_note(session: LiveSession) -> str:
    """Which landmarks align and calibrate the new reference, when it is not simply MediaPipe's."""
    face = session.reference_face
    if face.refused:
        found = ("MediaPipe's face aligns it" if face.marks is not None
                 else "MediaPipe found none: alignment/calibration off")
        return f" (the model's cartoon landmarker did not trust its points on it; {found})"
    if session.reference_marks is None and face.source == "landmarker":
        return " (MediaPipe found no face in it: the model's cartoon landmarker placed one for alignment/calibration)"
    return "" if session.reference_marks is not None else " (no landmarks found in it: alignment/calibration off)"


@spaces.GPU
def live_tick(frame: np.ndarray | None, session: LiveSession | None):
    if session is None or not session.ready:
        return None, None, "Choose a character first (upload one or pick an example)."
    if frame is None or frame.size == 0:
        return gr.skip(), gr.skip(), "Waiting for the camera..."
    try:
        out = session.push(frame)
    except ValueError as exc:
        raise gr.Error(str(exc)) from exc
    latency = "-" if out.latency_ms is None else f"{out.latency_ms:.0f} ms"
    image = gr.skip() if out.image is None else out.image
    return image, out.condition, f"{out.fps:.1f} FPS · latency {latency} · {out.status} · dropped {session.dropped}"


def apply_settings(mode: str, weights: str, session: LiveSession | None, crop_ratio: float, smoothing: float,
                   align: bool, seed: float, live: LiveConfig = LIVE) -> None:
    if session is None:
        return
    seed = int(seed)  # before anything is applied: a bad seed must not leave half the settings changed
    session.conditioner.reconfigure(condition_config(mode, weights, crop_ratio, smoothing, align, live))
    if int(seed) != session.seed:
        session.reset(int(seed))


@spaces.GPU
def animate(reference: str | None, video: str | None, mode: str, seed: float, crop_ratio: float,
            models: dict[str, str], limits: LiveConfig = LIVE, progress: gr.Progress = gr.Progress()):
    """Reference image + driving video -> frames as they clear the pile, then the mp4."""
    reference, _ = checked_image(reference, "reference image")
    weights = weights_of(models, mode)
    if not video:
        raise gr.Error("Please provide a driving video.")
    with tempfile.TemporaryDirectory(prefix="rain-") as folder:
        out = Path(folder) / "rain.mp4"
        try:
            for item in animate_video(loaded(mode, weights, limits).pipeline, reference, video,
                                      condition_config(mode, weights, crop_ratio, live=limits), out, seed=int(seed),
                                      limits=limits):
                progress(item.index / item.total, desc="rendering")
                yield item.frame, item.condition, None if item.video is None else str(item.video)
        except (ValueError, OSError) as exc:
            raise gr.Error(str(exc)) from exc


@spaces.GPU
def encode_reference(image: str | None, mode: str, models: dict[str, str],
                     live: LiveConfig = LIVE) -> tuple[np.ndarray, str]:
    """Check and encode a reference image; returns it as the model sees it (square, model size)."""
    image, notes = checked_image(image, "reference image")
    pipeline = loaded(mode, weights_of(models, mode), live).pipeline
    pipeline.encode_reference(image)
    seen = to_uint8(square(to_tensor(image), pipeline.config.resolution)[None])[0]
    size = pipeline.config.resolution
    return seen, f"encoded for {MODE_LABELS[mode]} at {size}x{size}" + "".join(f"; {n}" for n in notes)


# ---------------------------------------------------------------------------------------------- layout
def examples_of(mode: str) -> list[str]:
    return sorted(str(p) for p in (EXAMPLES / mode).glob("*.png"))


def styles_note(weights: str) -> str:
    """" (learned styles: palette, grade)" for a style model trained on some style families only."""
    try:
        styles = resolve_entry(weights, CHECKPOINTS_ROOT)[0].styles
    except WeightsError:  # not installed: the tab says so when a character is chosen
        return ""
    return f" (learned styles: {', '.join(styles)})" if styles else ""


def mode_tab(mode: str, weights: str, live: LiveConfig) -> None:
    """One live mode: character, camera, output beside the condition image, settings."""
    session = gr.State(None, time_to_live=LIVE.session_ttl, delete_callback=close_session)
    mode_box, weights_box, live_box = gr.State(mode), gr.State(weights), gr.State(live)
    with gr.Row():
        with gr.Column(scale=1):
            reference = gr.Image(label="Character (reference)", type="filepath", image_mode=None,
                                 sources=["upload", "clipboard"], height=256)
            if examples_of(mode):
                gr.Examples(examples_of(mode), inputs=reference, label="Example characters")
            status = gr.Markdown("Choose a character to start.")
            gr.Markdown(f"Model: `{weights}`" + styles_note(weights))
        with gr.Column(scale=1):
            camera = gr.Image(label="Camera", sources=["webcam"], streaming=True, type="numpy", height=256)
            readout = gr.Markdown("")
        with gr.Column(scale=1):
            output = gr.Image(label="Animated character", height=256, interactive=False)
            condition = gr.Image(label="What the model sees", height=160, interactive=False)
    with gr.Accordion("Settings", open=False):
        crop = gr.Slider(0.3, 1.0, value=ConditionConfig.crop_ratio, step=0.05, label="Crop ratio")
        seed = gr.Number(value=LIVE.seed, precision=0, minimum=0, maximum=2**32 - 1, label="Seed")
        smoothing = gr.Slider(0.0, 1.0, value=ConditionConfig.smoothing, step=0.05, label="Smoothing",
                              visible=mode != "style")
        align = gr.Checkbox(value=ConditionConfig.align_body, label="Align bone lengths to the character",
                            visible=mode == "body")
        strength = strength_control(session, weights)
        pile_shape = pile_controls(session, weights)
    chosen = reference.change(set_reference, [mode_box, weights_box, reference, session, crop, seed, live_box],
                              [session, status], api_visibility="private")
    if mode == "face":
        sliders, preview = face_controls(session, weights)
        # a new session starts from the sliders as shown (the model's defaults or the user's values)
        chosen.success(set_retarget, [session, *sliders], preview, api_visibility="private")
    if strength is not None:  # a new session starts at the strength shown
        chosen.success(set_strength, [session, strength], None, api_visibility="private")
    if pile_shape:  # ... and with the pile shape shown
        chosen.success(set_pile_shape, [session, *pile_shape], None, api_visibility="private")
    settings = [crop, smoothing, align, seed]
    gr.on([c.change for c in settings], apply_settings, [mode_box, weights_box, session, *settings, live_box], None,
          api_visibility="private")
    camera.stream(live_tick, [camera, session], [output, condition, readout], stream_every=live.stream_every,
                  time_limit=LIVE.time_limit, concurrency_limit=LIVE.concurrency_limit, concurrency_id="live",
                  api_visibility="private")


def offline_tab(models: dict[str, str], live: LiveConfig) -> None:
    models_box, limits_box = gr.State(models), gr.State(live)
    with gr.Row():
        with gr.Column():
            reference = gr.Image(label="Character (reference)", type="filepath", image_mode=None, height=256)
            video = gr.Video(label="Driving video", sources=["upload"], height=256)
            mode = gr.Radio(list(MODE_LABELS), value="body", label="Mode")
            with gr.Row():
                seed = gr.Number(value=LIVE.seed, precision=0, minimum=0, maximum=2**32 - 1, label="Seed")
                crop = gr.Slider(0.3, 1.0, value=ConditionConfig.crop_ratio, step=0.05, label="Crop ratio")
            with gr.Row():
                check = gr.Button("Check character")
                run = gr.Button("Animate", variant="primary")
            with gr.Row():
                seen = gr.Image(label="The character as the model sees it", height=128, interactive=False)
                checked = gr.Textbox(label="Check", interactive=False)
        with gr.Column():
            frame = gr.Image(label="Latest frame", height=256, interactive=False)
            condition = gr.Image(label="Condition (what the model sees)", height=160, interactive=False)
            result = gr.Video(label="Result (H.264 mp4)", height=256, interactive=False)
    driving = sorted(str(p) for p in (EXAMPLES / "driving").glob("*.mp4"))
    if driving and examples_of("body"):
        gr.Examples([[examples_of("body")[0], driving[0], "body"]], inputs=[reference, video, mode])
    run.click(animate, [reference, video, mode, seed, crop, models_box, limits_box], [frame, condition, result],
              api_name="animate",
              concurrency_limit=LIVE.concurrency_limit, concurrency_id="live")
    check.click(encode_reference, [reference, mode, models_box, limits_box], [seen, checked],
                api_name="encode_reference")


def build_demo(models: dict[str, str] | None = None, live: LiveConfig = LIVE) -> gr.Blocks:
    """The page; `models` maps each mode to its weights (default `LIVE.models`); `live` holds the
    offline/API video limits (the server's `--max-video-*` options)."""
    models = dict(LIVE.models if models is None else models)
    with gr.Blocks(title="RAIN Live", delete_cache=(600, 3600)) as demo:
        gr.Markdown("# RAIN Live\nA character from one image moves with you, live, for as long as you like. "
                    "Pick a character, start the webcam. Offline: animate a video and download the mp4.")
        with gr.Tabs():
            for mode, label in MODE_LABELS.items():
                with gr.Tab(label):
                    mode_tab(mode, models[mode], live)
            with gr.Tab("Offline video"):
                offline_tab(models, live)
    return demo


def condition_mode(weights: str) -> str:
    """The mode a registry name or model folder was trained for."""
    try:
        return resolve_entry(weights, CHECKPOINTS_ROOT)[0].condition_mode
    except WeightsError as exc:
        raise SystemExit(str(exc)) from exc


def parse_settings(argv: list[str] | None = None) -> tuple[LiveConfig, dict[str, str], argparse.Namespace]:
    """The server's settings from its command line: `LIVE` with the flags applied, and the weights per mode."""
    parser = argparse.ArgumentParser(description="RAIN Live")
    parser.add_argument("--host", default=None, help="server address (default: Gradio's, or 0.0.0.0 on Spaces)")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--share", action="store_true")
    parser.add_argument("--weights", default=None,
                        help=f"weights for the mode they were trained for: {', '.join(REGISTRY)} or a model folder")
    parser.add_argument("--max-video-frames", type=int, default=LIVE.max_video_frames,
                        help="longest driving video the offline tab and /animate accept (frames)")
    parser.add_argument("--max-video-seconds", type=float, default=LIVE.max_video_seconds,
                        help="longest driving video the offline tab and /animate accept (seconds)")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile every model's UNet before serving (faster calls; minutes to start)")
    parser.add_argument("--overlap", action=argparse.BooleanOptionalAction, default=LIVE.overlap,
                        help="run each pile call on the stream's worker thread while the next frames are detected")
    parser.add_argument("--stream-every", type=float, default=LIVE.stream_every,
                        help="seconds between webcam frames sent to the server (0.05 = 20 fps; see LiveConfig)")
    parser.add_argument("--threads", type=int, default=LIVE.torch_threads,
                        help="torch threads of the process (default: every core but one with overlap, else torch's); "
                             "see LiveConfig")
    args = parser.parse_args(argv)
    if args.max_video_frames < 1 or not args.max_video_seconds > 0:
        parser.error("--max-video-frames and --max-video-seconds must be positive")
    if not MIN_STREAM_EVERY <= args.stream_every <= MAX_STREAM_EVERY:
        parser.error(f"--stream-every must be within {MIN_STREAM_EVERY}..{MAX_STREAM_EVERY} s, got {args.stream_every}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    live = dataclasses.replace(LIVE, max_video_frames=args.max_video_frames, max_video_seconds=args.max_video_seconds,
                               compile=args.compile, overlap=args.overlap, torch_threads=args.threads,
                               stream_every=args.stream_every)
    models = dict(LIVE.models)
    if args.weights:
        models[condition_mode(args.weights)] = args.weights
    return live, models, args


def main() -> None:
    live, models, args = parse_settings()
    threads = live.threads_for(usable_cores())
    if threads is not None:
        torch.set_num_threads(threads)  # before any model runs: compiled code is built for it
    if live.compile:
        warm_up_models(models, live)  # compiled before the first user, never on a live stream
    demo = build_demo(models, live)
    demo.queue(default_concurrency_limit=LIVE.concurrency_limit)
    # show_error: upload problems Gradio itself detects (an unreadable image) reach the user with their reason
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, max_file_size=LIVE.max_file_size,
                allowed_paths=[str(EXAMPLES)], show_error=True)


if __name__ == "__main__":
    main()
