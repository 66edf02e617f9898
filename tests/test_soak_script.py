"""bench_soak.py at toy scale: the load run's content check and the long-stream run both work end to end
through a real `python app.py` server process (the recorded full-size runs are in BENCHMARKS.md)."""

import dataclasses
import json

import numpy as np
import pytest
from gradio_client import Client, handle_file

import app
import bench_soak
from rain.live import LIVE


def test_window_fps_and_closest_client():
    assert bench_soak.window_fps([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], 3) == [3.0, 3.0]
    solo = [[np.full((4, 4, 3), v, np.uint8)] for v in (0, 100, 200)]
    assert bench_soak.closest_client(np.full((4, 4, 3), 110, np.uint8), 0, solo) == (1, 10.0, 90.0)


def test_load_run_with_two_clients(tmp_path):
    out = tmp_path / "load.json"
    code = bench_soak.main(["load", "--clients", "2", "--minutes", "0.05", "--clip-frames", "6", "--settle", "1",
                            "--json", str(out)])
    result = json.loads(out.read_text())
    assert code == 0 and result["errors"] == [] and result["foreign_frames"] == 0
    assert result["calls"] >= 2 and result["frames"] == 6 * result["calls"]
    assert result["max_own_diff"] < result["min_other_diff"]  # each client's frames are its own
    assert result["rss_mib"]["baseline"] > 0


def test_stream_run(tmp_path):
    out = tmp_path / "stream.json"
    assert bench_soak.main(["stream", "--frames", "40", "--window", "10", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["frames"] == 40 and result["finished_with_mp4"] and len(result["fps_per_window"]) == 4


def test_server_video_limit_is_an_option(tmp_path):
    """`python app.py --max-video-frames N` (what the stream run uses) reaches /animate's check."""
    video = bench_soak.driving_video(tmp_path, 0, 12)
    demo = app.build_demo(live=dataclasses.replace(LIVE, max_video_frames=8))
    demo.queue(default_concurrency_limit=LIVE.concurrency_limit)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
    try:
        client = Client(url, verbose=False, download_files=False)
        with pytest.raises(Exception, match="limit is 8"):
            client.predict(handle_file(str(bench_soak.REFERENCES[0])), handle_file(str(video)), "body", 0, 0.9,
                           api_name="/animate")
    finally:
        demo.close()


def test_release_memory_trims_the_heap_on_glibc():
    """The server's memory fix (rain/live/memory.py): glibc's malloc_trim is found and called."""
    from rain.live.memory import release_memory

    assert release_memory() is True  # CI and the Space run Linux with glibc
