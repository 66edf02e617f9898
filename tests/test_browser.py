"""The live path in a real browser: Debian chromium through playwright, a fake webcam playing a real
driving video, the real app server in this process.

Human motion: pick an example character, start the webcam, and the page must show a stream of generated
frames, a drawn skeleton in the condition image and an FPS/latency readout; stopping the webcam must
stop the frames, and the server must still answer the API (the face and style tabs:
tests/test_browser_modes.py; a mode without a model: tests/test_hardening.py). Two sessions at once (two
chromium processes, one camera each: the driving video and its mirror image): each page gets only the
frames of its own camera.

Chromium and playwright are required (CI installs them, see .ci/run): when missing the tests fail.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser_driver import CHROMIUM, CHROMIUM_FLAGS, READOUT, component, image_src, open_tab, pick_example

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network from Gradio

ROOT = Path(__file__).resolve().parents[1]
DRIVING = ROOT / "examples" / "driving" / "body.mp4"
SCREENSHOT_DIR = Path(os.environ.get("TMPDIR", "/tmp"))  # default home of the page screenshot


# ---------------------------------------------------------------------------------------------- fixtures
def make_camera(out: Path, mirrored: bool = False) -> Path:
    """The driving video (mirrored left-right if asked) as a y4m file chromium plays as its camera
    (256x256, 10 fps, looped)."""
    import imageio_ffmpeg

    filters = ("hflip," if mirrored else "") + "fps=10,scale=256:256"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(DRIVING),
                    "-vf", filters, "-t", "4", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", str(out)],
                   check=True, timeout=60)
    assert out.read_bytes()[:9] == b"YUV4MPEG2" and out.stat().st_size > 20 * 256 * 256
    return out


@pytest.fixture(scope="module")
def fake_camera(tmp_path_factory) -> Path:
    """The driving video as chromium's camera."""
    return make_camera(tmp_path_factory.mktemp("camera") / "camera.y4m")


@pytest.fixture(scope="module")
def mirrored_camera(tmp_path_factory) -> Path:
    """The driving video mirrored: the person stands on the other side of the picture."""
    return make_camera(tmp_path_factory.mktemp("camera") / "mirrored.y4m", mirrored=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real app, launched as `python app.py` does, in this process; yields its URL."""
    temp = str(tmp_path_factory.mktemp("gradio"))
    previous = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = temp  # every streamed frame is a file: keep them out of /tmp/gradio
    import app
    from rain.live import LIVE

    demo = app.build_demo()
    demo.queue(default_concurrency_limit=LIVE.concurrency_limit)
    port = free_port()
    demo.launch(prevent_thread_lock=True, quiet=True, server_port=port, max_file_size=LIVE.max_file_size,
                allowed_paths=[str(app.EXAMPLES)], show_error=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        demo.close()
        if previous is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = previous


@pytest.fixture(scope="module")
def browser(fake_camera):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"playwright is not installed ({exc}): pip install -r requirements-test.txt")
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"chromium not found at {CHROMIUM}: apt-get install chromium (or set RAIN_CHROMIUM)")
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={fake_camera}"])
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        pw.stop()


@pytest.fixture
def mirrored_browser(browser, mirrored_camera):
    """A second chromium process (one fake camera per process) whose camera plays the mirrored video."""
    camera = f"--use-file-for-fake-video-capture={mirrored_camera}"
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_FLAGS, camera])
    try:
        yield chromium
    finally:
        chromium.close()


@contextlib.contextmanager
def app_page(browser, server):
    """A fresh page on the app with camera permission; fails on any uncaught page error."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    try:
        context.grant_permissions(["camera"], origin=server)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server + "/", wait_until="load")  # "networkidle" never fires on a Gradio page
        yield page
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def page(browser, server):
    with app_page(browser, server) as page:
        yield page


@pytest.fixture
def mirrored_page(mirrored_browser, server):
    """A page in the second browser, whose camera plays the mirrored driving video."""
    with app_page(mirrored_browser, server) as page:
        yield page


# ---------------------------------------------------------------------------------------------- helpers
def fetch_image(page, src: str) -> np.ndarray:
    response = page.request.get(src)
    assert response.ok, f"{src}: HTTP {response.status}"
    return np.asarray(Image.open(io.BytesIO(response.body())).convert("RGB"))


def skeleton_pixels(condition: np.ndarray) -> tuple[int, float]:
    """(saturated coloured pixels, fraction of near-black pixels) of a condition image."""
    c = condition.astype(np.int16)
    coloured = int(((c.max(-1) > 80) & (c.max(-1) - c.min(-1) > 60)).sum())
    black = float((c.max(-1) < 30).mean())
    return coloured, black


def skeleton_centre_x(condition: np.ndarray) -> float | None:
    """Horizontal centre of the skeleton's coloured pixels (0 = left edge, 1 = right edge), None if none."""
    c = condition.astype(np.int16)
    xs = np.nonzero((c.max(-1) > 80) & (c.max(-1) - c.min(-1) > 60))[1]
    return float(xs.mean() / (condition.shape[1] - 1)) if xs.size else None


# ---------------------------------------------------------------------------------------------- tests
@pytest.mark.timeout(150)
def test_human_motion_live_stream_with_a_fake_webcam(page, server):
    panel = open_tab(page, "Human motion")
    output_block = component(panel, page, "Animated character")
    condition_block = component(panel, page, "What the model sees")
    camera_block = component(panel, page, "Camera")
    assert image_src(output_block) is None and image_src(condition_block) is None

    pick_example(panel, page, "1000501.png")
    panel.get_by_text("Ready").wait_for(timeout=60_000)  # the character is encoded

    camera_block.get_by_title("grant webcam access").click()
    record = camera_block.get_by_role("button").filter(has_text=re.compile(r"^\s*Record\s*$"))
    record.click()
    camera_block.get_by_role("button").filter(has_text=re.compile(r"^\s*Stop\s*$")).wait_for()
    readout = panel.get_by_text(READOUT)

    outputs: list[str] = []  # distinct output srcs, in arrival order
    conditions: dict[str, tuple[int, float]] = {}
    readings: list[tuple[float, int, str]] = []
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        src = image_src(output_block)
        if src and (not outputs or outputs[-1] != src):
            outputs.append(src)
        src = image_src(condition_block)
        if src and src not in conditions and len(conditions) < 12:
            conditions[src] = skeleton_pixels(fetch_image(page, src))
        match = READOUT.search(readout.first.inner_text()) if readout.count() else None
        if match:
            readings.append((float(match[1]), int(match[2]), match[3]))
        if len(set(outputs)) >= 8 and len(conditions) >= 8 and any(r[0] > 0 for r in readings):
            break
        time.sleep(0.1)

    # the README's screenshot comes from here: RAIN_SCREENSHOT=docs/screenshot.png python -m pytest ...
    page.screenshot(path=os.environ.get("RAIN_SCREENSHOT", str(SCREENSHOT_DIR / "live.png")), full_page=True)

    # Gradio names a served file by its content's hash: distinct srcs are distinct images
    assert len(set(outputs)) >= 8, f"only {len(set(outputs))} distinct output frames in 45 s"
    first, last = fetch_image(page, outputs[0]), fetch_image(page, outputs[-1])
    assert first.shape == last.shape == (256, 256, 3)
    assert first.std() > 2 and last.std() > 2, "the output frames are flat"
    assert np.abs(first.astype(float) - last.astype(float)).mean() > 0.5, "the output frames do not change"

    # the condition image is a skeleton drawn on black (many coloured pixels, mostly black) that moves
    # with the person in the camera: detected ("tracking"), not the neutral pose drawn when nobody is seen
    assert len(conditions) >= 8, f"only {len(conditions)} distinct condition images: the skeleton does not move"
    with_skeleton = [src for src, (coloured, black) in conditions.items() if coloured >= 150 and black > 0.6]
    assert len(with_skeleton) >= len(conditions) // 2, f"skeletons in too few condition images: {conditions}"

    assert readings, "no FPS/latency readout"
    fps, latency, _ = readings[-1]
    assert fps > 0 and 0 < latency < 30_000, readings[-1]
    tracked = sum(r[2] == "tracking" for r in readings)
    assert tracked >= len(readings) / 2, f"the person in the camera is not detected: {readings}"

    # stop the webcam: the frames stop, the server keeps serving
    camera_block.get_by_role("button").filter(has_text=re.compile(r"^\s*Stop\s*$")).click()
    record.wait_for()
    time.sleep(1.5)  # let any in-flight tick land
    stopped = image_src(output_block)
    time.sleep(1.5)
    assert image_src(output_block) == stopped, "output frames still arrive after the webcam stopped"

    from gradio_client import Client, handle_file

    client = Client(server + "/", verbose=False)
    seen, check = client.predict(handle_file(str(ROOT / "examples" / "body" / "1000502.png")), "body",
                                 api_name="/encode_reference")
    assert check == "encoded for Human motion at 256x256"
    assert np.asarray(Image.open(seen)).shape[:2] == (256, 256)


@pytest.mark.timeout(180)
def test_two_browser_sessions_at_once_receive_only_their_own_frames(page, mirrored_page, server):
    """Two chromium processes, two cameras: the driving video and its mirror image. The person stands right
    of centre in one (the skeleton's horizontal centre is ~0.63) and left of centre in the other (~0.37), so
    every condition image tells which camera it came from. Both pages stream at the same time."""
    # Gradio mirrors a webcam by default (WebcamOptions.mirror): the server then sees each camera flipped
    config = page.request.get(server + "/config").json()
    mirror = {c["props"]["webcam_options"]["mirror"] for c in config["components"]
              if c["props"].get("label") == "Camera"}
    assert len(mirror) == 1, f"the cameras do not agree on mirroring: {mirror}"
    person_on_right = {"camera": not mirror.pop()}  # in what the server sees
    person_on_right["mirrored"] = not person_on_right["camera"]

    pages = {"camera": page, "mirrored": mirrored_page}
    panels = {name: open_tab(p, "Human motion") for name, p in pages.items()}
    for name, p in pages.items():
        pick_example(panels[name], p, "1000501.png")
    for panel in panels.values():
        panel.get_by_text("Ready").wait_for(timeout=45_000)
    for name, p in pages.items():  # start both webcams
        camera_block = component(panels[name], p, "Camera")
        camera_block.get_by_title("grant webcam access").click()
        camera_block.get_by_role("button").filter(has_text=re.compile(r"^\s*Record\s*$")).click()
    for name, p in pages.items():
        component(panels[name], p, "Camera").get_by_role("button").filter(
            has_text=re.compile(r"^\s*Stop\s*$")).wait_for()

    outputs: dict[str, list[str]] = {name: [] for name in pages}  # distinct output srcs of each page
    centres: dict[str, dict[str, float | None]] = {name: {} for name in pages}  # condition src -> centre x
    blocks = {name: (component(panels[name], p, "Animated character"),
                     component(panels[name], p, "What the model sees")) for name, p in pages.items()}
    deadline = time.monotonic() + 90  # ends early once both pages have enough frames (a loaded CPU needs the margin)
    while time.monotonic() < deadline:
        for name, p in pages.items():
            output_block, condition_block = blocks[name]
            src = image_src(output_block)
            if src and src not in outputs[name]:
                outputs[name].append(src)
            src = image_src(condition_block)
            if src and src not in centres[name] and len(centres[name]) < 10:
                centres[name][src] = skeleton_centre_x(fetch_image(p, src))
        if all(len(outputs[n]) >= 6 and len(centres[n]) >= 6 for n in pages):
            break
        time.sleep(0.1)
    for name, p in pages.items():  # stop both streams before the browsers go away
        component(panels[name], p, "Camera").get_by_role("button").filter(
            has_text=re.compile(r"^\s*Stop\s*$")).click()

    found = {name: [None if c is None else round(c, 3) for c in centres[name].values()] for name in pages}
    for name in pages:
        assert len(outputs[name]) >= 4, f"{name}: only {len(outputs[name])} distinct output frames in 90 s"
        assert len(centres[name]) >= 4, f"{name}: only {len(centres[name])} distinct condition images in 90 s"
        # every condition image shows the person of the page's own camera, never the other camera's
        own_side = (lambda c: c > 0.56) if person_on_right[name] else (lambda c: c < 0.44)
        assert all(c is not None and own_side(c) for c in centres[name].values()), (
            f"{name}: a condition image that is not of its own camera (person on the "
            f"{'right' if person_on_right[name] else 'left'} expected): {found}")
    mean = {name: float(np.mean(list(centres[name].values()))) for name in pages}
    assert abs(mean["camera"] + mean["mirrored"] - 1) < 0.05, f"the skeletons are not mirror images: {found}"
    # Gradio names a served file by its content's hash: no image reached both pages
    assert not set(outputs["camera"]) & set(outputs["mirrored"]), "the same output frame reached both pages"
    assert not set(centres["camera"]) & set(centres["mirrored"]), "the same condition image reached both pages"
