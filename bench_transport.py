"""Gradio transport: the round trip of one small image through a real local Gradio server.

`python bench_transport.py --json OUT.json`: adds `gradio_transport` to a JSON written by
`python -m rain bench` (it lives beside app.py because rain/ never imports gradio).

An echo `gr.Blocks` (image in, the same image out, no work) is launched inside the benchmark on
127.0.0.1 and called with `gradio_client`: upload, queue, event, download. This is the transport cost a
frame pays on top of the model; the app's webcam stream uses the same server and queue.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

import imageio.v2 as imageio
import numpy as np

from rain.bench.stats import percentiles_ms
from rain.bench.worlds import make_world

logger = logging.getLogger(__name__)


def echo(image: np.ndarray) -> np.ndarray:
    return image


def gradio_round_trip(image: np.ndarray, calls: int) -> dict:
    """Median / p95 / max ms of `calls` round trips of `image` (after one warm-up call)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr
    from gradio_client import Client, handle_file

    with gr.Blocks() as demo:
        inp, out = gr.Image(type="numpy"), gr.Image(type="numpy")
        gr.Button().click(echo, inp, out, api_name="echo")
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1")
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "frame.png"
            imageio.imwrite(path, image)
            client = Client(url, verbose=False)
            client.predict(handle_file(str(path)), api_name="/echo")
            times = []
            for _ in range(calls):
                t0 = time.perf_counter()
                client.predict(handle_file(str(path)), api_name="/echo")
                times.append(time.perf_counter() - t0)
    finally:
        demo.close()
    return {"image": f"{image.shape[1]}x{image.shape[0]} png", "bytes": path_size(image),
            "round_trip_ms": percentiles_ms(times)}


def path_size(image: np.ndarray) -> int:
    """Bytes of the PNG the client uploads."""
    import io

    buffer = io.BytesIO()
    imageio.imwrite(buffer, image, format="png")
    return buffer.tell()


def main() -> None:
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, required=True, help="a `python -m rain bench` JSON to extend")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--size", type=int, default=256, help="side of the test image")
    args = parser.parse_args()
    result = json.loads(args.json.read_text())
    result["gradio_transport"] = gradio_round_trip(make_world("body", 1, args.size).reference, args.calls)
    args.json.write_text(json.dumps(result, indent=2))
    logger.info("gradio round trip p50 %.1f ms", result["gradio_transport"]["round_trip_ms"]["p50"])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
