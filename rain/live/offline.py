"""Offline animation: a reference image + a driving video -> an H.264 mp4, rendered as a stream of progress.

Used by the app's offline tab and by the `animate` API endpoint. The driving video goes through the same
live path as the webcam (crop, detection, smoothing, condition drawing) and then the pile; each output
frame is written to the mp4 as soon as it clears, so a client sees frames while the video renders.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import imageio.v2 as imageio
import imageio_ffmpeg
import numpy as np

from rain.conditioning import ConditionConfig, Conditioner
from rain.live.config import LIVE, LiveConfig
from rain.live.memory import release_memory
from rain.live.session import align_conditioner
from rain.pipeline import RainPipeline

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoInfo:
    fps: float  # frames per second of the driving video
    frames: int  # estimated number of frames (duration x fps)


@dataclass(frozen=True)
class Progress:
    index: int  # frames written so far
    total: int  # frames expected
    frame: np.ndarray  # (R, R, 3) uint8: the newest output frame
    condition: np.ndarray  # (R, R, 3) uint8: the newest condition image
    video: Path | None  # the finished mp4, set on the last item only


def _stream_kinds(path: Path) -> set[str] | None:
    """The kinds of streams ffmpeg finds in a file ({"Video", "Audio", ...}), or None if it cannot open it."""
    try:
        listing = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                                 capture_output=True, text=True, errors="replace", timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    if "Input #0" not in listing:
        return None
    return set(re.findall(r"Stream #\S+: (\w+):", listing))


def probe_video(path: str | Path, limits: LiveConfig = LIVE) -> VideoInfo:
    """Check a driving video before any work: readable, has video frames, within the size limits."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise ValueError(f"the driving video {path.name!r} is missing or empty")
    try:
        reader = imageio.get_reader(path, format="FFMPEG")
        meta = reader.get_meta_data()
        reader.close()
    except Exception as exc:  # imageio raises OSError, IndexError, RuntimeError for bad files
        kinds = _stream_kinds(path)  # say why, when ffmpeg can tell: audio only, no streams at all
        if kinds is not None and "Video" not in kinds:
            what = "only audio" if "Audio" in kinds else "no streams at all (no frames)"
            raise ValueError(f"{path.name!r} has no video stream: it holds {what}") from exc
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ValueError(f"cannot read {path.name!r} as a video ({type(exc).__name__}: {first_line})") from exc
    fps, duration = float(meta.get("fps") or 0.0), float(meta.get("duration") or 0.0)
    if fps <= 0 or not meta.get("size") or min(meta["size"]) <= 0:
        raise ValueError(f"{path.name!r} has no video stream (audio only or corrupt)")
    if duration > limits.max_video_seconds:
        raise ValueError(f"the driving video is {duration:.1f} s long; the limit is {limits.max_video_seconds:g} s")
    frames = max(1, round(duration * fps))
    if frames > limits.max_video_frames:
        raise ValueError(f"the driving video has about {frames} frames; the limit is {limits.max_video_frames}")
    return VideoInfo(fps=fps, frames=frames)


def _conditions(path: Path, conditioner: Conditioner, info: VideoInfo, limits: LiveConfig,
                latest: list[np.ndarray]) -> Iterator[np.ndarray | tuple[np.ndarray, np.ndarray]]:
    """Condition images of the driving video's frames, paired with their reference -> frame map when the
    conditioner has a face reference (`RainPipeline.render`); `latest[0]` tracks the newest image for previews."""
    reader = imageio.get_reader(path, format="FFMPEG")
    count = 0
    try:
        for count, frame in enumerate(reader, start=1):
            if count > limits.max_video_frames:
                raise ValueError(f"the driving video has more than {limits.max_video_frames} frames")
            result = conditioner(np.asarray(frame)[..., :3], t=(count - 1) / info.fps)
            latest[0] = result.image
            yield result.pile_input
    finally:
        reader.close()
    if count == 0:
        raise ValueError(f"{path.name!r} has no decodable video frames")


def animate_video(pipeline: RainPipeline, reference: np.ndarray, video: str | Path, condition: ConditionConfig,
                  out: Path, seed: int = LIVE.seed, limits: LiveConfig = LIVE) -> Iterator[Progress]:
    """Render `video` driven by `reference` into `out` (mp4), yielding progress after every frame."""
    # 1. check the inputs before any work
    info = probe_video(video, limits)
    conditioner = Conditioner(replace_resolution(condition, pipeline.config.resolution))
    align_conditioner(conditioner, pipeline, reference)
    size = pipeline.config.resolution
    writer = imageio_ffmpeg.write_frames(str(out), (size, size), fps=info.fps or limits.output_fps,
                                         codec="libx264", pix_fmt_out="yuv420p", macro_block_size=1)
    writer.send(None)  # start ffmpeg
    latest = [np.zeros((size, size, 3), np.uint8)]
    index = 0
    try:
        # 2. the driving video through the live path and the pile; 3. every frame written as it clears
        for frame in pipeline.render(reference, _conditions(Path(video), conditioner, info, limits, latest), seed):
            try:
                writer.send(np.ascontiguousarray(frame))
            except OSError as exc:  # ffmpeg died: typically a full disk
                _discard(out)
                raise OSError(f"writing the mp4 failed after {index} frames{_disk_note(out)}: "
                              f"{str(exc).splitlines()[0]}") from exc
            index += 1
            yield Progress(index, max(info.frames, index), frame, latest[0], None)
    finally:
        writer.close()  # waits for ffmpeg, but never reports its failure: checked below
        conditioner.close()
        release_memory()
    # 4. the finished file, checked: ffmpeg may fail only when it writes the index at the end (disk full)
    if index == 0:
        raise ValueError("the driving video produced no frames")
    written = _count_frames(out)
    if written != index:
        _discard(out)  # a broken mp4 is worse than none
        found = "is unreadable" if written is None else f"holds {written} of {index} frames"
        raise OSError(f"writing the mp4 failed: the file {found}{_disk_note(out)}")
    logger.info("wrote %s (%d frames at %.1f fps)", out, index, info.fps)
    yield Progress(index, index, frame, latest[0], out)


def _count_frames(path: Path) -> int | None:
    """Frames in a written video (read from its index, no decoding), None if it is not a readable video."""
    try:
        reader = imageio.get_reader(path, format="FFMPEG")
        try:
            return reader.count_frames()
        finally:
            reader.close()
    except Exception:  # missing file, no moov atom (an interrupted write), ffmpeg errors
        return None


def _discard(out: Path) -> None:
    """Remove a half-written mp4 (a regular file only: never a device such as /dev/full)."""
    if out.is_file() and not out.is_symlink():
        out.unlink(missing_ok=True)


def _disk_note(out: Path) -> str:
    try:
        free = shutil.disk_usage(out.parent).free
    except OSError:
        return ""
    return f" (disk full? {free / 1e6:.1f} MB free where it is written)"


def replace_resolution(condition: ConditionConfig, resolution: int) -> ConditionConfig:
    """The condition config at the model's resolution (the model decides the condition size)."""
    return replace(condition, resolution=resolution)
