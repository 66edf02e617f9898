"""Face morphing and style transfer live in a real browser on its shipped model (checkpoints/face): chromium's fake webcam
plays a face-world driving video (a human-proportioned face MediaPipe detects), and the page must show
moving generated frames, the 26-dot condition the model sees and the FPS/latency readout with the
tracker's status; style transfer the same on its shipped model (checkpoints/style), with the camera frame
itself as what the model sees. Helpers come from tests/test_browser.py.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from test_browser import (
    CHROMIUM, CHROMIUM_FLAGS, READOUT, app_page, component, fetch_image, image_src, open_tab, pick_example,
    server,  # noqa: F401 - the module-scoped real app server fixture
)
from rain.worlds.face.world import write_sequence as write_face_sequence

FACE_SEED = 1_000_601  # a held-out face-world seed


@pytest.fixture(scope="module")
def face_camera(tmp_path_factory) -> Path:
    """A face-world driving video as chromium's camera (256x256, 10 fps, y4m)."""
    import imageio_ffmpeg

    folder = tmp_path_factory.mktemp("face_camera")
    write_face_sequence(FACE_SEED, 40, 256, folder)
    out = folder / "camera.y4m"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i",
                    str(folder / "driving.mp4"), "-vf", "fps=10,scale=256:256", "-pix_fmt", "yuv420p",
                    "-f", "yuv4mpegpipe", str(out)], check=True, timeout=60)
    return out


@pytest.fixture(scope="module")
def face_browser(face_camera):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"chromium not found at {CHROMIUM}: apt-get install chromium (or set RAIN_CHROMIUM)")
    with contextlib.ExitStack() as stack:
        pw = sync_playwright().start()
        stack.callback(pw.stop)
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={face_camera}"])
        stack.callback(chromium.close)
        yield chromium


def stream_in_tab(page, tab: str, seconds: float = 60) -> tuple[list[str], list[str], list[tuple]]:
    """Pick the tab's first example, start the webcam, collect distinct output/condition srcs and readouts."""
    panel = open_tab(page, tab)
    output_block, condition_block = component(panel, page, "Animated character"), component(panel, page, "What the model sees")
    camera_block = component(panel, page, "Camera")
    pick_example(panel, page, "1000501.png")
    panel.get_by_text("Ready").wait_for(timeout=60_000)
    camera_block.get_by_title("grant webcam access").click()
    camera_block.get_by_role("button").filter(has_text="Record").click()
    readout = panel.get_by_text(READOUT)
    outputs: list[str] = []
    conditions: list[str] = []
    readings: list[tuple] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (len(outputs) >= 6 and len(conditions) >= 6 and readings):
        for block, seen in ((output_block, outputs), (condition_block, conditions)):
            src = image_src(block)
            if src and src not in seen:
                seen.append(src)
        match = READOUT.search(readout.first.inner_text()) if readout.count() else None
        if match:
            readings.append((float(match[1]), int(match[2]), match[3]))
        time.sleep(0.1)
    camera_block.get_by_role("button").filter(has_text="Stop").click()
    return outputs, conditions, readings


def assert_moving_frames(page, outputs: list[str]) -> None:
    assert len(outputs) >= 6, f"only {len(outputs)} distinct output frames"
    first, last = fetch_image(page, outputs[0]), fetch_image(page, outputs[-1])
    assert first.shape == (256, 256, 3) and first.std() > 2, "the output frames are flat"
    assert np.abs(first.astype(float) - last.astype(float)).mean() > 0.5, "the output frames do not change"


@pytest.mark.timeout(180)
def test_face_morphing_live_stream(face_browser, server):  # noqa: F811 - the imported fixture
    with app_page(face_browser, server) as page:
        outputs, conditions, readings = stream_in_tab(page, "Face morphing")
        assert_moving_frames(page, outputs)
        dots = [fetch_image(page, src) for src in conditions[:6]]
        for c in dots:  # the 26-dot condition: coloured dots on a black image
            assert (c.max(-1) < 30).mean() > 0.8 and (c.max(-1) > 80).sum() > 100
        assert readings and sum(r[2] == "tracking" for r in readings) >= len(readings) / 2, readings


@pytest.mark.timeout(180)
def test_style_transfer_live_stream(face_browser, server):  # noqa: F811 - the imported fixture
    """The camera frame itself is the condition; the shipped style model restyles it after the exemplar."""
    with app_page(face_browser, server) as page:
        outputs, conditions, readings = stream_in_tab(page, "Style transfer")
        assert page.get_by_text("learned styles: palette, grade").count() >= 1  # the tab names what it learned
        assert_moving_frames(page, outputs)
        camera = fetch_image(page, conditions[-1])
        assert camera.std() > 10 and (camera.max(-1) < 30).mean() < 0.5  # the camera frame, not dots on black
        assert readings
