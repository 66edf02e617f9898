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
from rain.conditioning import ConditionConfig
from rain.live import LIVE, LiveConfig, LiveSession
from rain.live.inputs import load_image
from rain.live.offline import animate_video, probe_video
from rain.live.session import StreamStopped
from rain.weights import CorruptWeightsError
from rain.weights.load import read_tensors
from rain.worlds.io import write_sequence

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = sorted((ROOT / "examples" / "body").glob("*.png"))[0]
DRIVING = ROOT / "examples" / "driving" / "body.mp4"
BODY = LIVE.models["body"]  # the shipped body model's registry name
TICK = 0.1  # seconds between camera frames (fake clock)
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


# ---------------------------------------------------------------------------------------------- inputs
def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=60)


def png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims width x height, with no pixel data: what a decompression bomb looks like."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Every bad or unusual input, made once."""
    d = tmp_path_factory.mktemp("inputs")
    rgb = np.random.default_rng(0).integers(0, 256, (64, 48, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(d / "rgb.png")
    Image.fromarray(rgb).save(d / "rgb.jpg", quality=95)
    png, jpg = (d / "rgb.png").read_bytes(), (d / "rgb.jpg").read_bytes()
    (d / "truncated.png").write_bytes(png[: len(png) // 2])
    (d / "truncated.jpg").write_bytes(jpg[: len(jpg) // 2])
    (d / "empty.png").write_bytes(b"")
    (d / "text.png").write_text("hello, this is not an image\n" * 20)
    (d / "page.png").write_text("<!doctype html><html><body><img src=x onerror=alert(1)></body></html>")
    Image.new("RGB", (1, 1), (255, 0, 0)).save(d / "one.png")
    Image.new("RGB", (5000, 20)).save(d / "wide.png")
    Image.new("1", (10000, 10000)).save(d / "huge.png")  # mostly constant: 12 kB on disk, 10000x10000 in its header
    png_header_only(d / "bomb.png", 60000, 60000)  # 3.6 G pixels claimed
    Image.fromarray(np.full((40, 40), 77, np.uint8)).save(d / "gray.png")
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 0] = 255  # red everywhere, but the bottom half is fully transparent
    rgba[:20, :, 3] = 255
    Image.fromarray(rgba, "RGBA").save(d / "rgba.png")
    Image.fromarray((np.arange(40 * 40, dtype=np.uint16).reshape(40, 40) * 40)).save(d / "gray16.png")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=40x40:rate=1", "-frames:v", "1", "-pix_fmt", "rgb48be",
           str(d / "rgb48.png"))
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(d / "cmyk.jpg")  # CMYK red
    frames = [Image.new("RGB", (32, 32), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    frames[0].save(d / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    Image.fromarray(np.full((32, 32), 0.5, np.float32), mode="F").save(d / "float.tif")
    sideways = np.zeros((20, 40, 3), np.uint8)
    sideways[:, :20] = 255  # stored landscape, left half white; EXIF 6 = turn 90 degrees clockwise to view
    image = Image.fromarray(sideways)
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(d / "exif6.jpg", exif=exif, quality=95)
    # videos
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=10", "-frames:v", "4", "-pix_fmt", "yuv420p",
           str(d / "short.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25", "-frames:v", "200", "-pix_fmt", "yuv420p",
           str(d / "long.mp4"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(d / "audio.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=10", "-frames:v", "0", str(d / "zero.mp4"))
    short = (d / "short.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(short[: len(short) // 2])
    (d / "noise.mp4").write_bytes(np.random.default_rng(1).bytes(4000))
    (d / "empty.mp4").write_bytes(b"")
    return d


@pytest.fixture(scope="module")
def private_tmp(tmp_path_factory):
    """The process's temp dir for this module: the rain-* folders our code makes can be counted exactly."""
    folder = tmp_path_factory.mktemp("tmp")
    previous, tempfile.tempdir = tempfile.tempdir, str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = previous


@pytest.fixture(scope="module")
def server(private_tmp):
    """The real app, launched as `python app.py` does; yields (url, client)."""
    demo = app.build_demo()
    demo.queue(default_concurrency_limit=LIVE.concurrency_limit)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, max_file_size=LIVE.max_file_size,
                            allowed_paths=[str(app.EXAMPLES)], show_error=True)
    try:
        yield url.rstrip("/"), Client(url, download_files=False, verbose=False)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def driving(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("driving")
    write_sequence(1_000_778, 6, 256, folder)  # a held-out world seed, a person the detector finds
    return folder / "driving.mp4"


def camera_frames(n: int) -> list[np.ndarray]:
    """The first frames of the example driving video: a person the detector finds."""
    reader = imageio.get_reader(DRIVING, format="FFMPEG")
    try:
        return [np.asarray(f) for _, f in zip(range(n), reader)]
    finally:
        reader.close()


def tiny_session(pipeline, mode: str = "style", **kwargs) -> LiveSession:
    session = LiveSession(pipeline, ConditionConfig(mode=mode, resolution=pipeline.config.resolution), **kwargs)
    session.set_reference(np.random.default_rng(7).integers(0, 256, (80, 80, 3), dtype=np.uint8))
    return session


def noise(i: int, size=(48, 64)) -> np.ndarray:
    return np.random.default_rng(i).integers(0, 256, (*size, 3), dtype=np.uint8)


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


def test_modes_without_a_model_say_so():
    with pytest.raises(gr.Error, match="Face morphing is not available"):
        app.set_reference("face", LIVE.models["face"], str(EXAMPLE), None, 0.9, 0)


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
    app.set_retarget(handler_session, *good)
    applied = dict(handler_session.conditioner.retarget)
    with pytest.raises((gr.Error, ValueError), match=f"{RETARGET_PARAMS[0].name}=.*outside"):
        app.set_retarget(handler_session, value, *good[1:])
    assert handler_session.conditioner.retarget == applied


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
def raw_call(url: str, api: str, body: str) -> tuple[str, object]:
    """One API call as raw JSON (what gradio_client cannot send: NaN, hand-made file payloads)."""
    r = httpx.post(f"{url}/gradio_api/call/{api}", content=body, headers={"content-type": "application/json"})
    r.raise_for_status()
    events = httpx.get(f"{url}/gradio_api/call/{api}/{r.json()['event_id']}", timeout=120).text
    kind = [line.split(": ", 1)[1] for line in events.splitlines() if line.startswith("event: ")][-1]
    data = [line.split(": ", 1)[1] for line in events.splitlines() if line.startswith("data: ")][-1]
    return kind, json.loads(data)


def file_payload(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


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


# ============================================================================ 2. faults
class FailingStep:
    """One session's view of the shared pipeline whose `step` raises after `ok` calls.

    An injection is the only way: the real step does not fail on any input the session lets through (bad
    frames are refused before it), and the pipeline object is shared by every session, so the fault must live
    in a wrapper that only the failing session holds (patching the shared instance would hit both sessions).
    """

    def __init__(self, inner, ok: int) -> None:
        self.inner, self.ok, self.calls = inner, ok, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def step(self, stream, conditions):
        self.calls += 1
        if self.calls > self.ok:
            raise RuntimeError("injected fault: out of memory in the UNet")
        return self.inner.step(stream, conditions)


def test_a_model_fault_ends_one_session_and_the_others_stream_on(tiny_pipeline):
    failing, healthy, alone = (tiny_session(tiny_pipeline) for _ in range(3))
    failing.pipeline = FailingStep(tiny_pipeline, ok=2)
    errors, frames = [], []
    for i in range(40):
        try:
            failing.push(noise(i), now=i * TICK)
        except StreamStopped as exc:
            errors.append(str(exc))
        frames.append(healthy.push(noise(i), now=i * TICK).image)
    assert len(errors) == 40 - 2 * tiny_pipeline.frames_per_group - (tiny_pipeline.frames_per_group - 1)
    assert "the model failed (RuntimeError: injected fault" in errors[0] and "Choose the character again" in errors[0]
    assert failing.pipeline.calls == 3  # once stopped, the session never runs the model again
    # the healthy session is untouched: the same frames as a session that ran alone
    expected = [alone.push(noise(i), now=i * TICK).image for i in range(40)]
    assert sum(f is not None for f in frames) > 20
    assert all((a is None and b is None) or np.array_equal(a, b) for a, b in zip(frames, expected))
    # the stopped session restarts on a new reference
    failing.pipeline.ok = 10**9
    failing.set_reference(noise(99, (80, 80)))
    assert any(failing.push(noise(i), now=(40 + i) * TICK).image is not None for i in range(20))


def test_a_model_fault_reaches_the_user_as_a_message(tiny_pipeline):
    session = tiny_session(tiny_pipeline)
    session.pipeline = FailingStep(tiny_pipeline, ok=0)  # see FailingStep: why an injection
    for i in range(tiny_pipeline.frames_per_group - 1):
        app.live_tick(noise(i), session)
    for _ in range(2):  # the message, then the same message on the next tick
        with pytest.raises(gr.Error, match="the stream stopped: the model failed"):
            app.live_tick(noise(9), session)


@pytest.fixture(params=[0, 1], ids=["full", "one-page-left"])
def full_disk(request, tmp_path):
    """A real full disk: a 64 kB tmpfs filled by a file up to `param` free 4 kB pages (mounting needs root, as in
    the CI container). With no room ffmpeg dies at once; with one page it dies only at the end, writing the
    index, after every frame was sent (the case that used to pass silently with a truncated mp4)."""
    mount = tmp_path / "full"
    mount.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}); the /dev/full case still runs")
    try:
        pages = 0
        with open(mount / "filler", "wb", buffering=0) as f, pytest.raises(OSError, match="No space left"):
            for pages in range(64):
                f.write(b"x" * 4096)
        os.truncate(mount / "filler", (pages - request.param) * 4096)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_while_writing_the_mp4_is_a_clear_error(files, tiny_pipeline, full_disk, tmp_path):
    condition = ConditionConfig(mode="style", resolution=64)
    ok = [p.video for p in animate_video(tiny_pipeline, noise(0), files / "long.mp4", condition, tmp_path / "ok.mp4")]
    assert ok[-1] == tmp_path / "ok.mp4" and ok[-1].stat().st_size > 4096  # control: it renders, and needs room
    out = full_disk / "out.mp4"
    with pytest.raises(OSError, match=r"writing the mp4 failed.*disk full\? 0\.0 MB free"):
        for _ in animate_video(tiny_pipeline, noise(0), files / "long.mp4", condition, out):
            pass
    assert not out.exists()  # no broken mp4 left


def test_unwritable_output_device_is_a_clear_error(files, tiny_pipeline):
    with pytest.raises(OSError, match="writing the mp4 failed"):
        for _ in animate_video(tiny_pipeline, noise(0), files / "short.mp4",
                               ConditionConfig(mode="style", resolution=64), Path("/dev/full")):
            pass
    assert Path("/dev/full").is_char_device()  # and the device itself is left alone


# ============================================================================ 3. security
def test_checkpoints_load_only_from_safetensors_or_weights_only():
    calls = []
    for path in (ROOT / "rain").rglob("*.py"):
        text = path.read_text()
        assert "pickle.load" not in text and "allow_pickle=True" not in text, path
        for line in text.splitlines():
            if "torch.load(" in line:
                calls.append(line)
                assert "weights_only=True" in line, f"{path}: {line.strip()}"
    assert calls  # the published .pth path exists and was checked


def test_a_malicious_pickle_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "motion_unet.pth"
    torch.save({"weight": torch.zeros(2), "payload": Evil()}, bad)
    with pytest.raises(CorruptWeightsError, match="cannot be read"):
        read_tensors(bad)
    assert not marker.exists()
    torch.load(bad, weights_only=False)  # control: the file really runs code when unpickled unsafely
    assert marker.exists()


OPENED: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)) and "secret-" in str(args[0]):
        OPENED.append(str(args[0]))


sys.addaudithook(_audit)  # records every file this process opens whose name holds "secret-"


def test_client_paths_outside_uploads_are_refused_and_never_read(server, tmp_path):
    url, _ = server
    secret = tmp_path / "secret-character.png"  # a valid image: reading it would make the call succeed
    Image.open(EXAMPLE).save(secret)
    cache = gr.utils.get_upload_folder()  # where uploads live
    paths = ["/etc/passwd", str(secret), f"{cache}/../../{secret.relative_to('/')}",
             f"{app.EXAMPLES}/../../{secret.relative_to('/')}", str(EXAMPLE)]
    OPENED.clear()
    for path in paths:
        kind, data = raw_call(url, "encode_reference", json.dumps({"data": [file_payload(path), "body"]}))
        assert kind == "error" and "not uploaded by a user" in data["error"], (path, data)
        assert "root:" not in json.dumps(data)
    assert OPENED == []  # the server never opened the file
    secret.read_bytes()
    assert OPENED  # control: the audit hook does see opens of that file
    uploaded = httpx.post(f"{url}/gradio_api/upload", files={"files": ("ok.png", EXAMPLE.read_bytes())}).json()[0]
    kind, _ = raw_call(url, "encode_reference", json.dumps({"data": [file_payload(uploaded), "body"]}))
    assert kind == "complete"  # control: the same payload with a path the server handed out works


def test_uploads_larger_than_max_file_size_are_refused(server, tmp_path):
    url, _ = server
    limit = 50 * 1024 * 1024
    assert LIVE.max_file_size == "50mb"
    big = tmp_path / "big.png"
    with open(big, "wb") as f:
        f.truncate(limit + 1)
    with open(big, "rb") as f:
        r = httpx.post(f"{url}/gradio_api/upload", files={"files": ("big.png", f)}, timeout=60)
    assert r.status_code == 413 and "maximum allowed size" in r.text
    r = httpx.post(f"{url}/gradio_api/upload", files={"files": ("small.png", EXAMPLE.read_bytes())})
    assert r.status_code == 200  # control


# ============================================================================ 4. temp files, server alive
def test_no_temp_files_left_behind(server, files, driving, private_tmp):
    _, client = server
    ours = lambda: sorted(private_tmp.glob("rain-*"))  # noqa: E731
    assert ours() == []
    during = []
    job = client.submit(handle_file(str(EXAMPLE)), handle_file(str(driving)), "body", 0, 0.9, api_name="/animate")
    for out in job:
        during.append(len(ours()))
    assert out[2] is not None and during[0] == 1  # the render folder exists while it streams
    for video in ("noise.mp4", "audio.mp4"):
        with pytest.raises(Exception):
            client.submit(handle_file(str(EXAMPLE)), handle_file(str(files / video)), "body", 0, 0.9,
                          api_name="/animate").result()
    assert ours() == []


def test_server_still_answers(server):
    _, client = server
    image, status = client.predict(handle_file(str(EXAMPLE)), "body", api_name="/encode_reference")
    assert "256x256" in status and np.asarray(imageio.imread(image["path"])).std() > 0
