"""Hardening (issue 8), part 2: faults (a failing model step, a full disk), security (checkpoints, client
paths, upload size) and temp files. Shared inputs and the server fixture: hardening_support.py."""

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

from hardening_support import (  # noqa: F401 - pytest fixtures and helpers shared by the hardening tests
    BODY, DRIVING, EXAMPLE, FFMPEG, ROOT, TICK, camera_frames, driving, ffmpeg, files, noise, png_header_only,
    file_payload, private_tmp, raw_call, server, tiny_session,
)


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

    def step(self, stream, conditions, similarities=None):
        self.calls += 1
        if self.calls > self.ok:
            raise RuntimeError("injected fault: out of memory in the UNet")
        return self.inner.step(stream, conditions, similarities)


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
