"""Load and soak runs through the real server: many API clients at once, and one very long stream.

    python bench_soak.py load --clients 8 --minutes 3 --json runs/soak/load.json
    python bench_soak.py stream --frames 10000 --json runs/soak/stream.json

Both start `python app.py` (the real server on the shipped model) as its own process, talk to it with
`gradio_client` and read the server's resident memory from /proc/<pid>/status.
- load: every client has its own character, driving video and seed. Each is first run alone to record
  its frames; then all clients call /animate in a loop at once. Every frame a client receives must be
  closer to its own solo frame than to any other client's (the content check: nobody sees another's
  frames), no call may fail, and the server's memory after the clients have gone is compared with its
  baseline (measured after the solo runs, with the model loaded and warm).
- stream: one /animate call on a driving video of --frames frames (the server is started with
  --max-video-frames/--max-video-seconds to allow it): output frames per second per window and the
  server's memory along the stream, first window against last.
It lives beside app.py because rain/ never imports gradio.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import imageio.v2 as imageio
import numpy as np

from rain.bench.stats import percentiles_ms
from rain.worlds.io import write_sequence

logger = logging.getLogger("bench_soak")
ROOT = Path(__file__).parent
REFERENCES = sorted((ROOT / "examples" / "body").glob("*.png"))
DRIVING_SEED = 1_000_800  # held-out world seeds of the clients' driving videos
FPS = 25  # frame rate of the generated driving videos


def rss_mib(pid: int) -> float:
    """Resident memory of a process (MiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(max_video_frames: int | None = None, timeout: float = 300.0,
           flags: Sequence[str] = ()) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python app.py [flags]` on a free port; yields (url, process) once it answers, stops it afterwards."""
    from gradio_client import Client

    port = free_port()
    cmd = [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port)]
    if max_video_frames:
        cmd += ["--max-video-frames", str(max_video_frames), "--max-video-seconds", str(max_video_frames / FPS + 60)]
    cmd += list(flags)
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url, t0 = f"http://127.0.0.1:{port}/", time.monotonic()
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with code {proc.returncode}")
            try:
                Client(url, verbose=False).close()
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() - t0 > timeout:
                    raise RuntimeError(f"the server did not answer within {timeout:.0f} s") from None
                time.sleep(1.0)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def driving_video(folder: Path, index: int, frames: int) -> Path:
    out = folder / f"driving_{index}"
    write_sequence(DRIVING_SEED + index, frames, 256, out)
    return out / "driving.mp4"


def animate(client, reference: Path, video: Path, seed: int) -> tuple[list[np.ndarray], float]:
    """One /animate call: the frames it streamed (pixels) and its wall time."""
    from gradio_client import handle_file

    t0 = time.perf_counter()
    outputs = list(client.submit(handle_file(str(reference)), handle_file(str(video)), "body", seed, 0.9,
                                 api_name="/animate"))
    frames = [imageio.imread(out[0]["path"]) for out in outputs[:-1]]
    if outputs[-1][2] is None:
        raise RuntimeError("/animate ended without its mp4")
    return frames, time.perf_counter() - t0


def closest_client(frame: np.ndarray, index: int, solo: list[list[np.ndarray]]) -> tuple[int, float, float]:
    """(the client whose solo frame at `index` is nearest, distance to it, distance to the next nearest)."""
    d = [float(np.abs(frame.astype(np.int16) - s[index].astype(np.int16)).mean()) for s in solo]
    order = np.argsort(d)
    return int(order[0]), d[order[0]], d[order[1]] if len(d) > 1 else float("inf")


def client_loop(url: str, me: int, inputs: tuple[Path, Path, int], solo: list[list[np.ndarray]], end: float,
                record: dict, max_calls: int | None = None) -> None:
    """Call /animate until `end` (or `max_calls`), checking every frame against every client's solo frames."""
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)
    try:
        while time.monotonic() < end and (max_calls is None or len(record["seconds"]) < max_calls):
            try:
                frames, seconds = animate(client, *inputs)
            except Exception as exc:  # noqa: BLE001 - a failed call is a result, recorded with its reason
                record["errors"].append(f"{type(exc).__name__}: {exc}")
                continue
            record["seconds"].append(seconds)
            record["frames"] += len(frames)
            for i, frame in enumerate(frames):
                owner, own, other = closest_client(frame, i, solo)
                record["foreign_frames"] += owner != me
                record["max_own_diff"] = max(record["max_own_diff"], own)
                record["min_other_diff"] = min(record["min_other_diff"], other)
    finally:
        client.close()


def new_record() -> dict:
    return {"errors": [], "seconds": [], "frames": 0, "foreign_frames": 0, "max_own_diff": 0.0,
            "min_other_diff": float("inf")}


def all_clients(url: str, inputs: list, solo: list, end: float, max_calls: int | None, pid: int,
                ) -> tuple[list[dict], float, float]:
    """Every client in its own thread at once; returns their records, the peak RSS and the wall time."""
    records = [new_record() for _ in inputs]
    threads = [threading.Thread(target=client_loop, args=(url, i, inputs[i], solo, end, records[i], max_calls))
               for i in range(len(inputs))]
    peak, t0 = 0.0, time.perf_counter()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_mib(pid))
        time.sleep(1.0)
    return records, peak, time.perf_counter() - t0


def run_load(args: argparse.Namespace) -> dict:
    """1. inputs per client, 2. server up, 3. solo runs, 4. one concurrent warm-up round, then the
    baseline, 5. all at once for --minutes, 6. memory after the clients have gone."""
    from gradio_client import Client

    with tempfile.TemporaryDirectory(prefix="rain-soak-") as tmp:
        inputs = [(REFERENCES[i % len(REFERENCES)], driving_video(Path(tmp), i, args.clip_frames), i)
                  for i in range(args.clients)]
        with server() as (url, proc):
            rss = {"after_start": rss_mib(proc.pid)}
            solo_client = Client(url, verbose=False, download_files=False)
            solo = [animate(solo_client, *x)[0] for x in inputs]
            solo_client.close()
            rss["after_solo_runs"] = rss_mib(proc.pid)
            warm, _, _ = all_clients(url, inputs, solo, float("inf"), 1, proc.pid)  # concurrency's one-time
            time.sleep(args.settle)  # costs (a second worker thread's caches) belong in the baseline
            rss["baseline"] = rss_mib(proc.pid)
            records, rss["peak_under_load"], wall = all_clients(url, inputs, solo, time.monotonic() + 60 * args.minutes,
                                                                None, proc.pid)
            records += warm
            time.sleep(args.settle)
            rss["after_clients_left"] = rss_mib(proc.pid)
    rss["growth_over_baseline"] = rss["after_clients_left"] - rss["baseline"]
    return {"clients": args.clients, "minutes": args.minutes, "clip_frames": args.clip_frames, "wall_seconds": wall,
            "calls": sum(len(r["seconds"]) for r in records), "errors": [e for r in records for e in r["errors"]],
            "frames": sum(r["frames"] for r in records),
            "foreign_frames": sum(r["foreign_frames"] for r in records),
            "max_own_diff": max(r["max_own_diff"] for r in records),
            "min_other_diff": min(r["min_other_diff"] for r in records),
            "call_ms": percentiles_ms([s for r in records for s in r["seconds"]]), "rss_mib": rss}


def window_fps(times: list[float], window: int) -> list[float]:
    """Output frames per second in consecutive windows of `window` frames (arrival times in seconds)."""
    return [window / (times[i + window - 1] - times[i]) for i in range(0, len(times) - window + 1, window)
            if times[i + window - 1] > times[i]]


def run_stream(args: argparse.Namespace) -> dict:
    """1. a long driving video, 2. server allowing it, 3. one /animate call, arrival times and memory."""
    from gradio_client import Client, handle_file

    with tempfile.TemporaryDirectory(prefix="rain-soak-") as tmp:
        video = driving_video(Path(tmp), 99, args.frames)
        with server(max_video_frames=args.frames + 100) as (url, proc):
            client = Client(url, verbose=False, download_files=False)
            job = client.submit(handle_file(str(REFERENCES[0])), handle_file(str(video)), "body", 0, 0.9,
                                api_name="/animate")
            t0, times, rss, last = time.perf_counter(), [], [], None
            for out in job:
                if out[2] is not None:
                    last = out
                    break
                times.append(time.perf_counter() - t0)
                if len(times) % args.window == 1:
                    rss.append((len(times), rss_mib(proc.pid)))
            rss.append((len(times), rss_mib(proc.pid)))
            client.close()
    fps = window_fps(times, args.window)
    return {"frames": len(times), "finished_with_mp4": last is not None, "wall_seconds": times[-1] if times else 0.0,
            "window": args.window, "fps_per_window": fps, "last_over_first_fps": fps[-1] / fps[0] if fps else None,
            "rss_mib": rss, "rss_growth_mib": rss[-1][1] - rss[1][1] if len(rss) > 2 else None}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="python bench_soak.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", choices=["load", "stream"])
    p.add_argument("--json", type=Path, required=True)
    p.add_argument("--clients", type=int, default=8, help="load: concurrent API clients")
    p.add_argument("--minutes", type=float, default=3.0, help="load: how long they all call /animate")
    p.add_argument("--clip-frames", type=int, default=24, help="load: frames of each client's driving video")
    p.add_argument("--settle", type=float, default=20.0, help="load: seconds to wait before the memory after")
    p.add_argument("--frames", type=int, default=10_000, help="stream: frames of the long driving video")
    p.add_argument("--window", type=int, default=1000, help="stream: frames per FPS/memory window")
    args = p.parse_args(argv)
    result = run_load(args) if args.run == "load" else run_stream(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    logger.info("wrote %s", args.json)
    return 0 if not result.get("errors") and not result.get("foreign_frames") else 1


if __name__ == "__main__":
    sys.exit(main())
