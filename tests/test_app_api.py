"""The app's API through a real Gradio server and `gradio_client`, on the shipped CPU-tier body model."""

from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from gradio_client import Client, handle_file

import app
from rain.live import LIVE
from rain.worlds.io import write_sequence

EXAMPLE = sorted(Path("examples/body").glob("*.png"))[0]
DRIVING_FRAMES = 10  # not a multiple of the group size: the last group is padded and drained


@pytest.fixture(scope="module")
def client():
    demo = app.build_demo()
    demo.queue(default_concurrency_limit=LIVE.concurrency_limit)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, max_file_size=LIVE.max_file_size, show_error=True)
    try:
        yield Client(url, download_files=False, verbose=False)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def driving(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("driving")
    write_sequence(1_000_777, DRIVING_FRAMES, 256, folder)  # a held-out world seed
    return folder / "driving.mp4"


def error_text(excinfo) -> str:
    return str(excinfo.value)


def test_named_endpoints_and_hidden_streams(client):
    named = client.view_api(return_format="dict")["named_endpoints"]
    assert {"/animate", "/encode_reference"} <= set(named)
    assert not any("tick" in name or "stream" in name for name in named)  # .stream() endpoints are private


def test_encode_reference_returns_the_model_view(client):
    image, status = client.predict(handle_file(str(EXAMPLE)), "body", api_name="/encode_reference")
    seen = imageio.imread(image["path"])
    assert seen.shape[:2] == (256, 256)
    assert "Human motion" in status and "256x256" in status


def test_animate_streams_every_frame_then_an_h264_mp4(client, driving):
    job = client.submit(handle_file(str(EXAMPLE)), handle_file(str(driving)), "body", 0, 0.9,
                        api_name="/animate")
    outputs = list(job)
    assert len(outputs) == DRIVING_FRAMES + 1  # one update per frame as it clears, then the finished file
    assert all(out[2] is None for out in outputs[:-1]) and outputs[-1][2] is not None
    frames = [imageio.imread(out[0]["path"]) for out in outputs[:-1]]
    assert len({f.tobytes() for f in frames}) > 1  # the frames move
    conditions = [imageio.imread(out[1]["path"]) for out in outputs[:-1]]
    assert max(int(c.max()) for c in conditions) > 0  # a skeleton was detected and drawn
    reader = imageio.get_reader(outputs[-1][2]["path"], format="FFMPEG")
    assert reader.get_meta_data()["codec"] == "h264"
    assert sum(1 for _ in reader) == DRIVING_FRAMES
    reader.close()


@pytest.mark.parametrize("payload, message", [
    (b"not an image at all", "image"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "image"),  # truncated PNG
])
def test_bad_reference_files_get_a_clear_error(client, tmp_path, payload, message):
    bad = tmp_path / "bad.png"
    bad.write_bytes(payload)
    with pytest.raises(Exception) as excinfo:
        client.predict(handle_file(str(bad)), "body", api_name="/encode_reference")
    assert message in error_text(excinfo).lower()


def test_bad_videos_get_a_clear_error(client, tmp_path):
    not_video = tmp_path / "clip.mp4"
    not_video.write_bytes(b"\x00" * 1000)
    with pytest.raises(Exception) as excinfo:
        client.submit(handle_file(str(EXAMPLE)), handle_file(str(not_video)), "body", 0, 0.9,
                      api_name="/animate").result()
    assert "video" in error_text(excinfo).lower()


def test_shipped_modes_encode_and_others_are_refused_clearly(client):
    example = sorted(Path("examples/face").glob("*.png"))[0]
    _, status = client.predict(handle_file(str(example)), "face", api_name="/encode_reference")
    assert status == "encoded for Face morphing at 256x256"
    style = sorted(Path("examples/style").glob("*.png"))[0]
    _, status = client.predict(handle_file(str(style)), "style", api_name="/encode_reference")
    assert status == "encoded for Style transfer at 256x256"
    with pytest.raises(Exception) as excinfo:
        client.predict(handle_file(str(EXAMPLE)), "dance", api_name="/encode_reference")
    assert "not in the list of choices" in error_text(excinfo)


def test_server_survives_and_still_answers(client):
    image, _ = client.predict(handle_file(str(EXAMPLE)), "body", api_name="/encode_reference")
    assert np.asarray(imageio.imread(image["path"])).std() > 0


def test_spaces_gpu_is_a_no_op_off_spaces():
    import inspect

    import spaces

    def gen():
        yield 1

    assert spaces.GPU(gen) is gen  # off Spaces the decorator returns the function itself
    assert inspect.isgeneratorfunction(app.animate)  # so the animate endpoint still streams
