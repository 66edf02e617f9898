"""Shared inputs, fixtures and helpers of the hardening tests (test_hardening*.py)."""

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


def tiny_session(pipeline, mode: str = "style", overlap: bool = False, **kwargs) -> LiveSession:
    """Tick-exact: the pile call runs inline (the overlap path is tested in test_live_session.py)."""
    session = LiveSession(pipeline, ConditionConfig(mode=mode, resolution=pipeline.config.resolution),
                          overlap=overlap, **kwargs)
    session.set_reference(np.random.default_rng(7).integers(0, 256, (80, 80, 3), dtype=np.uint8))
    return session


def noise(i: int, size=(48, 64)) -> np.ndarray:
    return np.random.default_rng(i).integers(0, 256, (*size, 3), dtype=np.uint8)


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
