"""Hardening (issue 8): bad input through the library, the UI handlers and the API; faults; security; temp files.

Every bad input must give a clear message (ValueError / gr.Error naming what is wrong) or a graceful hold,
never a crash and never a silently wrong result. Library cases use the tiny random pipeline; the handler and
API cases use the shipped body model through `app` (one module-scoped real server + gradio_client, like
tests/test_app_api.py, whose cases are not repeated here).
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import gradio as gr
import httpx
import imageio.v2 as imageio
import imageio_ffmpeg
import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from PIL import Image

import app
import app_controls
from rain.conditioning import ConditionConfig
from rain.live import LIVE, LiveConfig, LiveSession
from rain.live.inputs import load_image
from rain.live.offline import animate_video, probe_video
from rain.live.session import StreamStopped
from rain.weights import CorruptWeightsError
from rain.weights.load import read_tensors
from rain.worlds.io import write_sequence

from hardening_support import (  # noqa: F401 - pytest fixtures and helpers shared by the hardening tests
    BODY, DRIVING, EXAMPLE, FFMPEG, ROOT, TICK, camera_frames, driving, ffmpeg, files, noise, png_header_only,
    file_payload, private_tmp, raw_call, server, tiny_session,
)


# ============================================================================ 1. bad input: the library
@pytest.mark.parametrize("name, message", [
    ("missing.png", "missing or empty"),
    ("empty.png", "missing or empty"),
    ("text.png", "not an image file"),
    ("page.png", "not an image file"),  # HTML named .png
    ("truncated.png", "corrupt or truncated"),
    ("truncated.jpg", "corrupt or truncated"),
    ("one.png", "is 1x1; use 16 to 4096"),
    ("wide.png", "is 5000x20"),
    ("huge.png", "is 10000x10000"),  # refused from the header, before decoding 100 M pixels
    ("bomb.png", "too large to open safely"),
])
def test_load_image_refuses_unusable_files_clearly(files, name, message):
    with pytest.raises(ValueError, match=message):
        load_image(files / name, "reference image")


def test_huge_image_is_refused_without_decoding(files):
    started = time.perf_counter()
    with pytest.raises(ValueError):
        load_image(files / "huge.png")
    assert time.perf_counter() - started < 1.0  # decoding 10000x10000 to RGB would take seconds and 300 MB


@pytest.mark.parametrize("name, note, check", [
    ("rgb.png", None, lambda a: a.shape == (64, 48, 3)),  # control: nothing converted, nothing said
    ("gray.png", "L converted to RGB", lambda a: (a == 77).all()),
    ("rgba.png", "transparent pixels put on white", lambda a: (a[25:] == 255).all() and (a[:15] == (255, 0, 0)).all()),
    ("gray16.png", "I;16 (high bit depth) reduced to 8 bits", lambda a: a.max() == 255 and a.min() == 0),
    ("rgb48.png", "16 bits per channel reduced to 8", lambda a: a.shape == (40, 40, 3) and a.std() > 10),
    ("cmyk.jpg", "CMYK converted to RGB", lambda a: a[..., 0].mean() > 200 and a[..., 1:].mean() < 60),
    ("animated.gif", "animated (3 frames): the first frame is used", lambda a: (a[..., 0] > 200).all()),
    ("float.tif", "F (high bit depth) reduced to 8 bits", lambda a: abs(int(a.mean()) - 128) <= 1),
    ("exif6.jpg", "turned upright (EXIF orientation 6)",
     lambda a: a.shape == (40, 20, 3) and a[:18].mean() > 240 and a[22:].mean() < 15),
])
def test_load_image_reports_every_conversion(files, name, note, check):
    pixels, notes = load_image(files / name)
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
    assert (notes == []) if note is None else any(note in n for n in notes), notes
    assert check(pixels)


@pytest.mark.parametrize("name, message", [
    ("missing.mp4", "missing or empty"),
    ("empty.mp4", "missing or empty"),
    ("noise.mp4", "cannot read 'noise.mp4' as a video"),
    ("truncated.mp4", "cannot read 'truncated.mp4' as a video"),
    ("audio.mp4", "'audio.mp4' has no video stream: it holds only audio"),
    ("zero.mp4", "'zero.mp4' has no video stream: it holds no streams at all"),
    ("rgb.png", "cannot read 'rgb.png' as a video"),
])
def test_probe_video_refuses_unusable_videos_clearly(files, name, message):
    with pytest.raises(ValueError, match=message):
        probe_video(files / name)


@pytest.mark.parametrize("limits, message", [
    (LiveConfig(max_video_frames=3), "has about 4 frames; the limit is 3"),
    (LiveConfig(max_video_seconds=0.2), "is 0.4 s long; the limit is 0.2 s"),
])
def test_too_long_videos_are_refused_before_any_work(files, tiny_pipeline, tmp_path, limits, message):
    assert probe_video(files / "short.mp4").frames == 4  # control: within the default limits
    out = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match=message):
        next(animate_video(tiny_pipeline, noise(0), files / "short.mp4",
                           ConditionConfig(mode="style", resolution=64), out, limits=limits))
    assert not out.exists()


@pytest.mark.parametrize("frame, message", [
    (None, "frame is None"),
    (np.zeros((0, 0, 3), np.uint8), "frame is empty"),
    (np.zeros((10, 0, 3), np.uint8), "frame is empty"),
    (np.full((32, 32, 3), np.nan, np.float32), "dtype float32 is not supported"),
    ([[0, 1], [2, 3]], "must be a numpy array"),
])
def test_push_refuses_bad_frames_and_the_stream_goes_on(tiny_pipeline, frame, message):
    session = tiny_session(tiny_pipeline)
    for i in range(5):
        session.push(noise(i), now=i * TICK)
    with pytest.raises(ValueError, match=message):
        session.push(frame, now=5 * TICK)
    outs = [session.push(noise(i), now=i * TICK) for i in range(6, 30)]  # the same stream carries on
    assert outs[-1].image is not None and outs[-1].image.shape == (64, 64, 3)


def test_nobody_in_view_for_half_a_minute_holds_fades_then_stays_neutral(tiny_pipeline):
    """Body mode with the real MediaPipe detector at a fake clock: a person, then 300 empty frames."""
    session = tiny_session(tiny_pipeline, mode="body")
    try:
        person = camera_frames(6)
        blank = np.full((256, 256, 3), 200, np.uint8)
        outs = [session.push(f, now=i * TICK) for i, f in enumerate(person)]
        assert outs[-1].status == "tracking"  # precondition: the person was found
        outs += [session.push(blank, now=(len(person) + i) * TICK) for i in range(300)]
    finally:
        session.close()
    after = [o.status for o in outs[len(person):]]
    runs = [s for i, s in enumerate(after) if i == 0 or s != after[i - 1]]
    assert runs == ["holding", "fading", "neutral"], runs
    assert after.count("holding") == pytest.approx(ConditionConfig.hold_seconds / TICK, abs=1)
    assert after.count("fading") == pytest.approx(ConditionConfig.fade_seconds / TICK, abs=1)
    first = next(i for i, o in enumerate(outs) if o.image is not None)
    assert all(o.image is not None for o in outs[first:])  # frames keep coming the whole time
    neutral = [o.condition for o in outs[-100:]]
    assert neutral[0].max() > 0 and all(np.array_equal(c, neutral[0]) for c in neutral)  # a steady neutral pose


# ============================================================================ 1. bad input: the UI handlers
@pytest.fixture(scope="module")
def handler_session():
    session, status = app.set_reference("body", BODY, str(EXAMPLE), None, ConditionConfig.crop_ratio, 0)
    assert "Ready" in status
    yield session
    session.close()


def tick(session, frames) -> list:
    return [app.live_tick(f, session) for f in frames]


def test_live_tick_without_a_character_or_a_camera_frame_waits(handler_session):
    assert "Choose a character first" in app.live_tick(noise(0), None)[2]
    for frame in (None, np.zeros((0, 0, 3), np.uint8), np.zeros((480, 0, 3), np.uint8)):
        image, condition, status = app.live_tick(frame, handler_session)
        assert status == "Waiting for the camera..." and image == condition == gr.skip()  # keeps what is shown


def test_live_tick_with_camera_size_changing_mid_stream(handler_session):
    person = camera_frames(4)
    sizes = [(256, 256), (480, 640), (720, 405), (100, 130)]
    frames = [np.asarray(Image.fromarray(person[i % 4]).resize((w, h))) for i, (h, w) in
              enumerate(sizes * 5)]
    outs = tick(handler_session, frames)
    assert all(out[1].shape == (256, 256, 3) for out in outs)  # the condition is always the model's size
    assert any(isinstance(out[0], np.ndarray) and out[0].shape == (256, 256, 3) for out in outs)
    assert all("FPS" in out[2] for out in outs)


@pytest.mark.parametrize("image, message", [
    (None, "Please provide a reference image"),
    ("text.png", "not an image file"),
    ("truncated.png", "corrupt or truncated"),
    ("one.png", "1x1"),
])
def test_set_reference_refuses_bad_images(files, image, message):
    with pytest.raises(gr.Error, match=message):
        app.set_reference("body", BODY, None if image is None else str(files / image), None, 0.9, 0)


def test_modes_without_a_model_say_so(tmp_path):
    with pytest.raises(gr.Error, match="Face morphing is not available"):
        app.set_reference("face", str(tmp_path / "not-installed"), str(EXAMPLE), None, 0.9, 0)


@pytest.mark.parametrize("crop, smoothing, seed, message", [
    (5.0, 0.5, 0, "crop_ratio must be in"),
    (math.nan, 0.5, 0, "crop_ratio must be in"),
    (0.9, -0.5, 0, "smoothing must be in"),
    (0.9, math.nan, 0, "smoothing must be in"),
    (0.9, 0.5, math.nan, "(?i)nan"),
])
def test_apply_settings_refuses_bad_values_and_keeps_the_stream(handler_session, crop, smoothing, seed, message):
    before = (handler_session.conditioner.config, handler_session.seed)
    with pytest.raises((gr.Error, ValueError), match=message):
        app.apply_settings("body", BODY, handler_session, crop, smoothing, False, seed)
    assert (handler_session.conditioner.config, handler_session.seed) == before  # nothing half-applied
    assert "FPS" in app.live_tick(camera_frames(1)[0], handler_session)[2]


@pytest.mark.parametrize("value", [math.nan, 99.0, -5.0])
def test_set_retarget_refuses_bad_values_and_keeps_the_previous_ones(handler_session, value):
    from rain.conditioning import RETARGET_PARAMS
    good = [p.default for p in RETARGET_PARAMS]
    app_controls.set_retarget(handler_session, *good)
    applied = dict(handler_session.conditioner.retarget)
    with pytest.raises((gr.Error, ValueError), match=f"{RETARGET_PARAMS[0].name}=.*outside"):
        app_controls.set_retarget(handler_session, value, *good[1:])
    assert handler_session.conditioner.retarget == applied


@pytest.mark.parametrize("value", [math.nan, 0, 2.5, 5, -1, "4", None, True])
@pytest.mark.parametrize("setting", ["frames per model call", "denoising steps"])
def test_pile_shape_refuses_bad_values_and_keeps_the_stream(handler_session, value, setting):
    shape = (handler_session.stream.frames_per_group, handler_session.stream.num_groups)
    frames, steps = (value, 4) if setting == "frames per model call" else (4, value)
    with pytest.raises(gr.Error, match=f"{setting} must be a whole number from 1 to 4"):
        app_controls.set_pile_shape(handler_session, frames, steps)
    assert (handler_session.stream.frames_per_group, handler_session.stream.num_groups) == shape
    assert "FPS" in app.live_tick(camera_frames(1)[0], handler_session)[2]


def test_pile_shape_changes_mid_stream(handler_session):
    app_controls.set_pile_shape(handler_session, 1.0, 4.0)  # sliders send floats
    assert handler_session.stream.frames_per_group == 1
    shown = [app.live_tick(f, handler_session)[0] for f in camera_frames(8)]
    assert sum(isinstance(image, np.ndarray) for image in shown) >= 4  # the first after 4 calls, then every tick
    app_controls.set_pile_shape(handler_session, 1, 2)
    assert (handler_session.stream.frames_per_group, handler_session.stream.num_groups) == (1, 2)
    shown = [app.live_tick(f, handler_session)[0] for f in camera_frames(4)]
    assert sum(isinstance(image, np.ndarray) for image in shown) >= 2  # the first after 2 calls
    app_controls.set_pile_shape(handler_session, 4, 4)
    assert (handler_session.stream.frames_per_group, handler_session.stream.num_groups) == (4, 4)


def test_settings_and_reference_changed_mid_stream(handler_session):
    person = camera_frames(4) * 8
    tick(handler_session, person[:12])
    # settings mid-stream: the new seed restarts the pile, the crop and smoothing apply to later frames
    app.apply_settings("body", BODY, handler_session, 0.6, 0.2, True, 7)
    config = handler_session.conditioner.config
    assert (config.crop_ratio, config.smoothing, config.align_body, handler_session.seed) == (0.6, 0.2, True, 7)
    outs = tick(handler_session, person[:20])
    assert isinstance(outs[-1][0], np.ndarray)  # the restarted pile delivers again
    # reference swapped mid-stream: the same session, no restart, no gap
    other = sorted((ROOT / "examples" / "body").glob("*.png"))[1]
    session, status = app.set_reference("body", BODY, str(other), handler_session, 0.6, 7)
    assert session is handler_session and "Ready" in status
    outs = tick(handler_session, person[:8])
    assert all(isinstance(out[0], np.ndarray) for out in outs)
    app.apply_settings("body", BODY, handler_session, ConditionConfig.crop_ratio, ConditionConfig.smoothing,
                       False, 0)


# ============================================================================ 1. bad input: the API






@pytest.mark.parametrize("name, message", [
    ("one.png", "the reference image is 1x1"),
    ("huge.png", "the reference image is 10000x10000"),
    ("empty.png", "(missing or empty|cannot identify image file)"),
    ("page.png", "(not an image file|cannot identify image file)"),
])
def test_api_refuses_bad_reference_uploads(server, files, name, message):
    _, client = server
    with pytest.raises(Exception, match=message):
        client.predict(handle_file(str(files / name)), "body", api_name="/encode_reference")


def test_api_turns_a_sideways_phone_photo_upright(server, files):
    _, client = server
    image, status = client.predict(handle_file(str(files / "exif6.jpg")), "body", api_name="/encode_reference")
    assert "turned upright" in status
    seen = imageio.imread(image["path"])
    assert seen[:100].mean() > seen[156:].mean() + 100  # white on top: it was turned


def test_api_reports_transparency_put_on_white(server, files):
    _, client = server
    image, status = client.predict(handle_file(str(files / "rgba.png")), "body", api_name="/encode_reference")
    assert "transparent pixels put on white" in status
    assert imageio.imread(image["path"])[200:, 128].mean() > 240  # the transparent half is white, not red


@pytest.mark.parametrize("video, message", [
    ("audio.mp4", "has no video stream: it holds only audio"),
    ("zero.mp4", "has no video stream: it holds no streams at all"),
    ("truncated.mp4", "cannot read 'truncated.mp4' as a video"),
])
def test_api_refuses_bad_driving_videos(server, files, video, message):
    _, client = server
    with pytest.raises(Exception, match=message):
        client.submit(handle_file(str(EXAMPLE)), handle_file(str(files / video)), "body", 0, 0.9,
                      api_name="/animate").result()


@pytest.mark.parametrize("seed, crop, message", [
    (0, 5.0, "Value 5.0 is greater than maximum value 1.0"),
    (0, 0.01, "Value 0.01 is less than minimum value 0.3"),
])
def test_api_refuses_out_of_range_sliders(server, files, seed, crop, message):
    _, client = server
    with pytest.raises(Exception, match=message):
        client.submit(handle_file(str(EXAMPLE)), handle_file(str(files / "short.mp4")), "body", seed, crop,
                      api_name="/animate").result()


def test_api_refuses_a_seed_too_large_clearly(server, files):
    _, client = server
    with pytest.raises(Exception, match="greater than maximum value"):
        client.submit(handle_file(str(EXAMPLE)), handle_file(str(files / "short.mp4")), "body", 1e30, 0.9,
                      api_name="/animate").result()


@pytest.mark.parametrize("seed, crop, message", [
    ("NaN", "0.9", "NaN"),  # gradio_client cannot even send NaN; raw JSON can
    ("0", "NaN", "crop_ratio must be in"),
    ("Infinity", "0.9", "(?i)(infinity|inf is greater)"),  # Python's text now; the seed bounds' after change 2
])
def test_api_refuses_nan_and_infinity(server, files, seed, crop, message):
    url, client = server
    uploaded = httpx.post(f"{url}/gradio_api/upload", files=[
        ("files", ("ref.png", EXAMPLE.read_bytes())), ("files", ("drive.mp4", (files / "short.mp4").read_bytes()))])
    reference, video = uploaded.json()
    body = (f'{{"data": [{json.dumps(file_payload(reference))}, {json.dumps(file_payload(video))}, "body", '
            f'{seed}, {crop}]}}')
    kind, data = raw_call(url, "animate", body)
    assert kind == "error"
    assert re.search(message, data["error"]), data
