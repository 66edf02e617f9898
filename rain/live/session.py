"""One browser session's live stream: camera frames in, animated frames out, one per tick.

Data flow of one tick (`LiveSession.push`):
1. the newest camera frame -> condition image (detection, smoothing, retargeting: `Conditioner`);
2. conditions collect into a group; a full group goes through the pile (one `RainPipeline.step`), and
   the group that became clean lands in the playback buffer with the camera times of its inputs;
3. latency first: beyond `max_buffer` the oldest waiting frames are dropped, never queued into lag;
4. one frame leaves the buffer per tick, so frames that clear together play at the stream's rate.

Everything here belongs to one session; the pipeline it points to is the frozen, shared one.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from collections import deque
from dataclasses import dataclass, replace
from typing import Callable, Mapping

import numpy as np

from rain.conditioning import ConditionConfig, Conditioner, Landmarks, make_detector, propose_params, render_condition
from rain.conditioning.align import uncropped
from rain.conditioning.detect import detect_frame
from rain.live.config import LIVE
from rain.live.memory import release_memory
from rain.pipeline import RainPipeline
from rain.state import ReferenceState, StreamState

logger = logging.getLogger(__name__)

FPS_WINDOW = 2.0  # seconds of shown frames the FPS readout averages over


class StreamStopped(ValueError):
    """This session's stream ended because the model failed on it; a new reference restarts it. A ValueError,
    so every caller that reports bad input to the user (the app's handlers) reports this too."""


@dataclass(frozen=True)
class LiveFrame:
    image: np.ndarray | None  # (R, R, 3) uint8 output frame of this tick; None while the pile fills
    condition: np.ndarray  # (R, R, 3) uint8: what the model sees for the newest camera frame
    status: str  # the conditioner's status: tracking, holding, fading, neutral or style
    fps: float  # output frames shown per second over the last FPS_WINDOW seconds
    latency_ms: float | None  # camera frame in -> this output frame out; None without an output


def reference_landmarks(image: np.ndarray, config: ConditionConfig) -> Landmarks | None:
    """The reference character's landmarks (body alignment, face calibration), or None if not found."""
    static = replace(config, static_images=True, mode="face" if config.mode == "face" else "body")
    detector = make_detector(static)
    try:
        return detect_frame(detector, image, static)
    finally:
        detector.close()


@dataclass(frozen=True)
class ReferenceFace:
    """Where a model that aligns the reference (face mode) takes the reference's face from (`face_reference`)."""
    marks: Landmarks | None  # the face in the reference's whole square; None: the reference is not aligned
    source: str = ""  # "landmarker" (the model's cartoon landmarker), "mediapipe", or "" (none found, or not needed)
    refused: bool = False  # the model's landmarker did not trust its points on this image (`reference_face`)


def face_reference(pipeline: RainPipeline, image: np.ndarray, marks: Landmarks | None, config: ConditionConfig,
                   searched: bool = False) -> ReferenceFace:
    """The reference's face in its whole square, for a model that aligns the reference (face mode; its refiner or
    UNet, `RainPipeline.aligns_reference`): the model's cartoon landmarker's points on `image` if it has one and
    trusts them, else MediaPipe's (`marks` when `searched`, MediaPipe's answer with `config`, None if it found none;
    else found here); no face otherwise, with a warning when such a model finds none on the reference."""
    if config.mode != "face" or not pipeline.aligns_reference:
        return ReferenceFace(None)
    found = pipeline.reference_face(image)
    if found is not None:
        return ReferenceFace(found, "landmarker")
    refused = pipeline.models.landmarker is not None
    marks = marks if searched else reference_landmarks(image, config)
    if marks is None or not marks.has_face(config.min_confidence):
        logger.warning("no face found on the reference image: the model reads it where it is, not aligned "
                       "to each frame (expect softer edges when the head moves or turns)")
        return ReferenceFace(None, refused=refused)
    return ReferenceFace(uncropped(marks, config.crop_ratio), "mediapipe", refused)


def align_conditioner(conditioner: Conditioner, pipeline: RainPipeline, reference: np.ndarray) -> None:
    """Give `conditioner` the `reference` image's face, for a model that aligns the reference (face mode)."""
    if conditioner.config.mode == "face" and pipeline.aligns_reference:
        conditioner.face_reference = face_reference(pipeline, reference, None, conditioner.config).marks
        conditioner.face_map_kind = pipeline.face_map


class _Inline:
    """An executor that runs the call at once, in the caller's thread (overlap off)."""

    @staticmethod
    def submit(fn: Callable[..., np.ndarray], *args: object) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future, as a worker would
            future.set_exception(exc)
        return future

    def shutdown(self) -> None:
        pass


def _serialized(method: Callable) -> Callable:
    """Run a public LiveSession method under the session's lock: Gradio may deliver a settings event of a
    session while its stream event runs, and both touch the same pile and buffers."""
    @functools.wraps(method)
    def locked(self: "LiveSession", *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        with self._lock:
            return method(self, *args, **kwargs)
    return locked


class LiveSession:
    """One person's stream. Its public methods run one at a time (`_serialized`); the pile call may run on
    the session's worker thread (overlap), handed over through one future."""

    def __init__(self, pipeline: RainPipeline, condition: ConditionConfig, seed: int = LIVE.seed,
                 max_buffer: int = LIVE.max_buffer, overlap: bool = LIVE.overlap) -> None:
        if condition.resolution != pipeline.config.resolution:
            raise ValueError(f"condition resolution {condition.resolution} != model resolution "
                             f"{pipeline.config.resolution}")
        self.pipeline, self.seed, self.max_buffer = pipeline, int(seed), max_buffer
        self.conditioner = Conditioner(condition)
        self.stream: StreamState | None = None  # created by the first reference
        self.reference_image: np.ndarray | None = None
        self.reference_marks: Landmarks | None = None  # MediaPipe's landmarks on the reference (not in style mode)
        self.reference_face = ReferenceFace(None)  # the face the aligned reference takes (face models that align)
        self.failure: str | None = None  # set when the model failed on this stream: the stream has ended
        self.snapshot: Landmarks | None = None  # the user's neutral face for calibration (face tab)
        self.dropped = 0  # output frames dropped to keep latency bounded
        self.strength: float | None = None  # img2img strength (latent-entry models); None: the model's default
        self.frames_per_group: int | None = None  # the pile's frames per UNet call; None: the model's
        self.num_groups: int | None = None  # the pile's groups (noise levels, LCM steps); None: the model's
        self._pending: list[tuple[np.ndarray, np.ndarray | None, float]] = []  # (condition, face map, camera
        # time) of the open group
        self._in_pile: deque[float] = deque()  # camera times of frames inside the pile, oldest first
        self._buffer: deque[tuple[np.ndarray, float]] = deque()  # (frame, camera time) waiting to show
        self._shown: deque[float] = deque()  # wall times of recently shown frames
        self._t0: float | None = None
        # overlap: pile calls run on this session's one worker thread while the next frames are conditioned;
        # the future in `_running` is the only hand-over (one call at a time, collected in order)
        self.overlap = overlap and pipeline.device.type == "cpu"  # GPU calls are asynchronous already
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="rain-pile") if self.overlap else _Inline()
        self._lock = threading.RLock()
        self._running: Future | None = None
        self._last_t = -1.0

    @property
    def ready(self) -> bool:
        return self.stream is not None

    @_serialized
    def set_reference(self, image: np.ndarray) -> None:
        """Encode a reference; mid-stream the pile keeps running and later frames take the new identity."""
        reference = self.pipeline.encode_reference(image)
        self.reference_image = image
        style = self.conditioner.config.mode == "style"  # the style condition is the frame: no landmarks
        self.reference_marks = None if style else reference_landmarks(image, self.conditioner.config)
        self.conditioner.reference = self.reference_marks if self.conditioner.config.mode == "body" else None
        self.reference_face = face_reference(self.pipeline, image, self.reference_marks, self.conditioner.config,
                                             searched=True)
        self.conditioner.face_reference = self.reference_face.marks
        self.conditioner.face_map_kind = self.pipeline.face_map
        if self.stream is None or self.failure is not None:  # first reference, or a restart after a failure
            self.failure = None
            self.stream = self._new_stream(reference)
            self._clear()
        else:
            self.wait()  # the new identity starts at a call boundary
            self.stream.reference = reference

    @_serialized
    def reset(self, seed: int | None = None) -> None:
        """Empty the pile and the buffers (keeps the reference and the settings)."""
        self.seed = self.seed if seed is None else int(seed)
        if self.stream is not None:
            self.stream = self._new_stream(self.stream.reference)
            self.failure = None
        self._clear()

    @_serialized
    def set_strength(self, strength: float) -> None:
        """img2img strength of a latent-entry (style) model. A change restarts the pile (same reference and
        seed): the groups in it were noised for the old strength's levels."""
        strength = self.pipeline.check_strength(strength)
        changed, self.strength = strength != self.strength, strength
        if changed and self.stream is not None:
            self.reset()

    def _new_stream(self, reference: ReferenceState) -> StreamState:
        return self.pipeline.new_stream(reference, self.seed, self.strength, self.frames_per_group, self.num_groups)

    @_serialized
    def set_frames_per_group(self, frames_per_group: int) -> None:
        """The pile's frames per UNet call: fewer = lower latency (a frame leaves the pile num_groups calls
        after it entered), more = smoother. A change restarts the pile (same reference and seed)."""
        self.frames_per_group = self.pipeline.check_frames_per_group(frames_per_group)
        if self.stream is not None and self.stream.frames_per_group != frames_per_group:
            self.reset()

    @_serialized
    def set_num_groups(self, num_groups: int) -> None:
        """The pile's groups = noise levels = LCM steps: fewer = lower latency and cheaper calls, softer frames
        (`RainPipeline.check_num_groups`). A change restarts the pile (same reference and seed)."""
        self.num_groups = self.pipeline.check_num_groups(num_groups, self.frames_per_group)
        if self.stream is not None and self.stream.num_groups != num_groups:
            self.reset()

    def _collect(self, wait: bool) -> None:
        """Move the clean frames of the pile call in flight to the buffer once it has finished (or wait for it).
        A model failure ends this stream only (StreamStopped), never the server."""
        if self._running is None or not (wait or self._running.done()):
            return
        future, self._running = self._running, None
        try:
            cleared = future.result()
        except Exception as exc:  # noqa: BLE001 - any model failure ends this stream only, never the server
            logger.error("the model failed on a live stream; that stream is stopped", exc_info=exc)
            self.failure = (f"the stream stopped: the model failed ({type(exc).__name__}: {exc}). "
                            "Choose the character again to restart.")
            self._clear()
            raise StreamStopped(self.failure) from exc
        for out in cleared:
            self._buffer.append((out, self._in_pile.popleft()))

    def _settle(self) -> None:
        """Wait for a pile call in flight and drop its result (before the stream is replaced or closed)."""
        self.wait()
        self._running = None

    def wait(self) -> None:
        """Let a pile call in flight finish; its frames are collected by the next push (benchmarks use this)."""
        if self._running is not None:
            concurrent.futures.wait([self._running])

    def _clear(self) -> None:
        self._settle()
        for queue in (self._pending, self._in_pile, self._buffer, self._shown):
            queue.clear()

    @_serialized
    def push(self, frame: np.ndarray, now: float | None = None) -> LiveFrame:
        """One camera frame (any size, RGB) at wall time `now` (seconds) -> what to show this tick."""
        if self.stream is None:
            raise ValueError("no reference image yet: choose a character first")
        if self.failure is not None:
            raise StreamStopped(self.failure)
        wall_clock = now is None
        now = time.monotonic() if wall_clock else now
        self._t0 = now if self._t0 is None else self._t0
        t = max(now - self._t0, self._last_t + 1e-6)  # a resumed stream's clock never runs backwards
        self._last_t = t

        # 1. the condition image of the newest camera frame
        result = self.conditioner(frame, t=t)

        # 2. a full group goes through the pile (on the worker thread in overlap mode, while the next
        # frames are conditioned here); a finished call's clean group joins the buffer with its camera times
        self._pending.append((result.image, result.face_map, now))
        self._collect(wait=False)
        if len(self._pending) == self.stream.frames_per_group:
            self._collect(wait=True)  # one call at a time: the pile's order is the stream's order
            conditions = np.stack([c for c, _, _ in self._pending])
            given = [m for _, m, _ in self._pending]  # each frame's reference -> frame map, for a model that aligns
            maps = np.stack(given) if all(m is not None for m in given) else None  # none: the identity
            self._in_pile.extend(t_in for _, _, t_in in self._pending)
            self._pending.clear()
            self._running = self._worker.submit(self.pipeline.step, self.stream, conditions, maps)
            if not self.overlap:
                self._collect(wait=True)

        # 3. latency first: drop the oldest frames beyond max_buffer
        while len(self._buffer) > self.max_buffer:
            self._buffer.popleft()
            self.dropped += 1

        # 4. one frame per tick
        image, latency = None, None
        if self._buffer:
            image, t_in = self._buffer.popleft()
            t_out = time.monotonic() if wall_clock else now  # after this tick's work
            latency = (t_out - t_in) * 1000.0
            self._shown.append(t)
        while self._shown and t - self._shown[0] > FPS_WINDOW:
            self._shown.popleft()
        span = self._shown[-1] - self._shown[0] if self._shown else 0.0
        fps = (len(self._shown) - 1) / span if span > 0 else 0.0
        return LiveFrame(image, result.image, result.status, fps, latency)

    # ---------------------------------------------------------------------------------- face calibration
    @_serialized
    def take_snapshot(self) -> None:
        """Keep the user's latest detected face (neutral expression) for calibration and its preview."""
        cfg, marks = self.conditioner.config, self.conditioner.last_detection
        if marks is None or not marks.has_face(cfg.min_confidence):
            raise ValueError("no face in the camera yet: look at the camera with a neutral face and retry")
        self.snapshot = marks

    def snapshot_preview(self, retarget: Mapping[str, float]) -> np.ndarray | None:
        """The snapshot drawn through the given sliders (what the model would see), or None without one."""
        if self.snapshot is None:
            return None
        return render_condition(self.conditioner.config, self.snapshot, retarget=retarget)

    def propose(self) -> dict[str, float]:
        """Slider values that give the snapshot face the reference character's proportions (the character's face as
        the model's cartoon landmarker finds it if it has one: MediaPipe's face mesh keeps human proportions)."""
        if self.snapshot is None:
            raise ValueError("take a snapshot of your face first")
        face = self.conditioner.face_reference if self.conditioner.face_reference is not None else self.reference_marks
        if face is None or not face.has_face(self.conditioner.config.min_confidence):
            raise ValueError("no face was found in the character image, so there is nothing to match")
        return propose_params(self.snapshot.face, face.face)

    @_serialized
    def close(self) -> None:
        """Free the detector and the stream (called when the browser session ends)."""
        self.conditioner.close()
        self._settle()
        self._worker.shutdown()
        self.stream, self._buffer, self._pending = None, deque(), []
        release_memory()
