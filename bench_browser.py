"""The live path as a person sees it: the real server, headless chromium, a fake webcam, the page itself.

    python bench_browser.py --json runs/browser/default.json
    python bench_browser.py --json runs/browser/fast.json -- --compile --overlap --threads 1 --stream-every 0.05

Starts `python app.py [app flags after --]` (bench_soak.server), opens the Human motion tab in chromium
whose camera plays the example driving video (examples/driving/body.mp4, looped, at --camera-fps), picks
an example character and starts the webcam. Then, for --seconds:
- in the page, a MutationObserver notes the time of every new output image (a new src: Gradio names a
  served file by its content's hash), so `browser.fps` is what the person sees, Gradio transport and
  all, counted after --warmup seconds (the pile fills first);
- the page's own readout (server side: frames shown per second, camera-to-output latency, tracking
  status) is read every half second.
Results: JSON with every reading; the summary is printed. It lives beside app.py because rain/ never
imports gradio; the page helpers are browser_driver.py's, shared with the browser tests.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from bench_soak import rss_mib, server
from browser_driver import CHROMIUM, CHROMIUM_FLAGS, READOUT, component, open_tab, pick_example
from rain.bench.machine import cpu_model, usable_cores
from rain.bench.stats import percentiles_ms

ROOT = Path(__file__).resolve().parent
DRIVING = ROOT / "examples" / "driving" / "body.mp4"
CHARACTER = "1000501.png"  # an example of the Human motion tab
# records the page time of every new output image (a new src) in window.__rainFrames
WATCH_OUTPUT = """(block) => {
  window.__rainFrames = [];
  let last = null;
  const note = () => {
    const img = block.querySelector('img');
    const src = img && img.getAttribute('src');
    if (src && src !== last) { last = src; window.__rainFrames.push(performance.now()); }
  };
  new MutationObserver(note).observe(block, {subtree: true, childList: true, attributes: true,
                                             attributeFilter: ['src']});
  return performance.now();
}"""
logger = logging.getLogger("bench_browser")


def make_camera(out: Path, fps: float) -> Path:
    """The driving video as a y4m file chromium plays as its camera (256x256 at `fps`, looped)."""
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(DRIVING),
                    "-vf", f"fps={fps},scale=256:256", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", str(out)],
                   check=True, timeout=120)
    return out


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the app server and by all chromium processes (Linux /proc)."""
    used = {"server": 0.0, "chromium": 0.0}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):  # not a process, or it ended while read
            continue
        who = "server" if entry.name == str(server_pid) else "chromium" if b"chrom" in command else None
        if who:
            used[who] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def stream(url: str, camera: Path, seconds: float, rtt_ms: float, server_pid: int) -> tuple[list, list, dict]:
    """Stream the camera through the Human motion tab for `seconds`: (output image times in s since the
    webcam started, readouts as (t, fps, latency ms, status), cores used by the server and by chromium).
    `rtt_ms`: network latency chromium adds to every request (DevTools network emulation), as a remote page
    would see; 0 is this machine's loopback."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={camera}"])
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        context.grant_permissions(["camera"], origin=url.rstrip("/"))
        page = context.new_page()
        page.set_default_timeout(120_000)
        if rtt_ms:
            devtools = context.new_cdp_session(page)
            devtools.send("Network.enable")
            devtools.send("Network.emulateNetworkConditions", {"offline": False, "latency": rtt_ms,
                                                               "downloadThroughput": -1, "uploadThroughput": -1})
        page.goto(url, wait_until="load")
        panel = open_tab(page, "Human motion")
        camera_block, output_block = component(panel, page, "Camera"), component(panel, page, "Animated character")
        pick_example(panel, page, CHARACTER)
        panel.get_by_text("Ready").wait_for()
        start = page.evaluate(WATCH_OUTPUT, output_block.element_handle())
        camera_block.get_by_title("grant webcam access").click()
        camera_block.get_by_role("button").filter(has_text="Record").click()
        readout, readings, t0 = panel.get_by_text(READOUT), [], time.monotonic()
        cpu0 = cpu_seconds(server_pid)
        while (t := time.monotonic() - t0) < seconds:
            match = READOUT.search(readout.first.inner_text()) if readout.count() else None
            if match:
                readings.append((t, float(match[1]), int(match[2]), match[3]))
            time.sleep(0.5)
        cpu = {who: (used - cpu0[who]) / (time.monotonic() - t0) for who, used in cpu_seconds(server_pid).items()}
        frames = [(ms - start) / 1000.0 for ms in page.evaluate("() => window.__rainFrames")]
        camera_block.get_by_role("button").filter(has_text="Stop").click()
        chromium.close()
    return frames, readings, cpu


def summary(frames: list[float], readings: list[tuple], warmup: float, seconds: float) -> dict:
    """Frame rate seen in the page and the readout's medians, after the warm-up."""
    seen = np.asarray([t for t in frames if t >= warmup])
    late = [r for r in readings if r[0] >= warmup]
    return {
        "browser": {"frames_after_warmup": int(seen.size), "fps": seen.size / (seconds - warmup),
                    "interval_ms": percentiles_ms(np.diff(seen)) if seen.size > 1 else percentiles_ms([]),
                    "first_frame_s": frames[0] if frames else None},
        "readout": {"count": len(late), "fps_median": float(np.median([r[1] for r in late])) if late else None,
                    "latency_ms": percentiles_ms([r[2] / 1000.0 for r in late]),
                    "tracking_share": sum(r[3] == "tracking" for r in late) / len(late) if late else None},
    }


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=60.0, help="streaming time, warm-up included")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds not counted (the pile fills)")
    parser.add_argument("--camera-fps", type=float, default=30.0, help="frame rate of the fake webcam")
    parser.add_argument("--rtt-ms", type=float, default=0.0, help="network latency added to each request (ms)")
    parser.add_argument("--start-timeout", type=float, default=900.0, help="seconds the server may take to start")
    parser.add_argument("app_flags", nargs="*", help="flags of app.py, after --")
    args = parser.parse_args(argv)
    if not 0 <= args.warmup < args.seconds:
        parser.error("--warmup must be within 0 .. --seconds")
    if not 0 <= args.rtt_ms <= 2000:
        parser.error("--rtt-ms must be within 0 .. 2000")
    with tempfile.TemporaryDirectory() as tmp, server(timeout=args.start_timeout, flags=args.app_flags) as (url, proc):
        camera = make_camera(Path(tmp) / "camera.y4m", args.camera_fps)
        logger.info("server up at %s (%s); streaming %.0f s", url, " ".join(args.app_flags) or "defaults", args.seconds)
        frames, readings, cpu = stream(url, camera, args.seconds, args.rtt_ms, proc.pid)
        result = {"app_flags": args.app_flags, "seconds": args.seconds, "warmup": args.warmup,
                  "camera_fps": args.camera_fps, "rtt_ms": args.rtt_ms, "cores_used": cpu, "machine": {"cpu": cpu_model(), "cores": usable_cores()},
                  **summary(frames, readings, args.warmup, args.seconds), "server_rss_mib": rss_mib(proc.pid),
                  "frame_times_s": frames, "readings": readings}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("app_flags", "rtt_ms", "cores_used", "browser", "readout")}, indent=2))  # noqa: T201 - CLI output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
