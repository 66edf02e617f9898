"""`LiveConfig`: every setting of the live app and its API, each default defined here once.

The app (app.py) builds its sliders, limits and stream wiring from these values; nothing is repeated
there. Choices and their reasons are in the field comments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIN_STREAM_EVERY, MAX_STREAM_EVERY = 0.02, 2.0  # seconds: the range `stream_every` may be set to (50 .. 0.5 fps)
MODE_LABELS: dict[str, str] = {"body": "Human motion", "face": "Face morphing", "style": "Style transfer"}


@dataclass(frozen=True)
class LiveConfig:
    # the weights serving each mode: a registry name (rain.weights) or a model folder. A mode whose
    # weights are missing is disabled with a clear message, never served by another mode's model.
    # `python app.py --weights rain-v0.1` replaces the entry of the mode those weights were trained for
    models: dict[str, str] = field(default_factory=lambda: {
        "body": "tiny", "face": "checkpoints/face", "style": "checkpoints/style"})
    # webcam frames offered to the server per second = 1 / stream_every. 0.05 s (20 fps): with the default
    # server and models (1 step x 3 frames per call) the page showed 12.6 / 12.4 FPS at 0.05 against 10.1 at 0.1,
    # latency p50 446 against 522 ms (BENCHMARKS.md 7, chromium on the same 2 cores). While a pile call cost
    # 4 x 4 frames, 0.05 only added transport work on the shared cores (7.95 against 8.35-8.82 FPS)
    stream_every: float = 0.05
    # seconds one live stream may hold a worker; then the webcam stops and one click on record resumes
    # it with the same session state (pile, reference, sliders). 10 minutes keeps a shared Space fair
    time_limit: int = 600
    # live streams generating at the same time, process-wide: one per core. More would time-slice the
    # CPU and raise every user's latency instead of serving one more user well
    concurrency_limit: int = 2
    # output frames waiting to be shown; beyond this the oldest are dropped (latency first: we never
    # let a growing queue turn into seconds of lag)
    max_buffer: int = 8
    # run each pile call on the session's worker thread while the next camera frames are detected and
    # drawn. Measured in the page (BENCHMARKS.md 7, body, 2-core Xeon, chromium on the same cores): 5.85 FPS
    # inline at torch's 2 threads, 8.59 FPS with overlap at 1 thread (+47 %, latency p50 2.7 -> 2.3 s), 5.35
    # with overlap at 2 threads (the worker's threads and MediaPipe oversubscribe the cores). Through
    # LiveSession.push alone (BENCHMARKS.md 1) the two are even (16.3 vs 15.7-17.0 FPS): the page gains
    # because a tick no longer waits for a pile call. So on by default, with `torch_threads` left to
    # leave a core for detection; `python app.py --no-overlap` turns it off
    overlap: bool = True
    # torch.compile every served model's UNet at start-up (`python app.py --compile`; rain.compiled).
    # Measured (BENCHMARKS.md, body, 2 cores): UNet -25 %, 15.7 -> 17.6 FPS with detection, but compiling
    # takes ~5 minutes per model with a cold inductor cache (~40 s warm). Off by default: a Space or a quick
    # local start should serve at once
    compile: bool = False
    # torch threads of the whole process (`python app.py --threads N`). None = automatic (`threads_for`):
    # with `overlap`, every core but one (the other is detection's: 1 on 2 cores), without it torch's own
    # default (one per core). The offline tab renders on the same threads (~25 % slower at 1 than at 2)
    torch_threads: int | None = None
    seed: int = 0  # noise seed of a new stream
    output_fps: float = 25.0  # frame rate of offline mp4s when the driving video has none
    max_video_frames: int = 1800  # offline/API: longest driving video accepted (72 s at 25 fps)
    max_video_seconds: float = 300.0  # offline/API: longest driving video duration accepted
    max_image_side: int = 4096  # uploads larger than this on either side are refused, not resized blindly
    max_file_size: str = "50mb"  # Gradio upload limit (launch(max_file_size=...))
    session_ttl: int = 3600  # seconds an idle session's state lives before it is freed

    def threads_for(self, cores: int) -> int | None:
        """Torch threads to set on a machine with `cores` usable cores; None leaves torch's default."""
        if self.torch_threads is not None:
            return self.torch_threads
        return max(1, cores - 1) if self.overlap else None


LIVE = LiveConfig()
