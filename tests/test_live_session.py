"""LiveSession: the per-browser-session stream behind the live tabs (tiny random model, style mode so
no detector is involved; the detection path is covered by the conditioning and browser tests)."""

import threading
import time

import numpy as np
import pytest

from rain.conditioning import ConditionConfig
from rain.config import tiny
from rain.live import LiveSession
from rain.live.session import StreamStopped
from rain.pipeline import RainPipeline

TICK = 0.1  # seconds between camera frames in these tests


@pytest.fixture(scope="module")
def pipeline() -> RainPipeline:
    return RainPipeline.from_config(tiny(), seed=0, precision="fp32")


def camera(i: int, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    rng = np.random.default_rng(i)
    return rng.integers(0, 255, (*size, 3), dtype=np.uint8)


def character(seed: int) -> np.ndarray:
    return np.random.default_rng(1000 + seed).integers(0, 255, (80, 80, 3), dtype=np.uint8)


def session_for(pipeline: RainPipeline, overlap: bool = False, **kwargs) -> LiveSession:
    """Tick-exact tests run the pile call inline; the overlap tests below pass overlap=True."""
    condition = ConditionConfig(mode="style", resolution=pipeline.config.resolution)
    return LiveSession(pipeline, condition, overlap=overlap, **kwargs)


def run(session: LiveSession, ticks: int, start: int = 0) -> list:
    return [session.push(camera(i), now=i * TICK) for i in range(start, start + ticks)]


def test_push_needs_a_reference(pipeline):
    with pytest.raises(ValueError, match="no reference"):
        session_for(pipeline).push(camera(0), now=0.0)


def test_resolution_mismatch_is_refused(pipeline):
    with pytest.raises(ValueError, match="resolution"):
        LiveSession(pipeline, ConditionConfig(mode="style", resolution=pipeline.config.resolution * 2))


def test_fills_then_shows_one_frame_per_tick_with_its_latency(pipeline):
    session = session_for(pipeline)
    session.set_reference(character(0))
    frames = run(session, 40)
    per_group, groups = pipeline.config.pile.frames_per_group, pipeline.config.pile.num_groups
    first = next(i for i, f in enumerate(frames) if f.image is not None)
    # the first group clears after it was stepped through every level: groups * frames_per_group ticks
    assert first == per_group * groups - 1
    assert all(f.image is not None for f in frames[first:])  # steady state: one frame every tick
    assert all(f.image.shape == (pipeline.config.resolution,) * 2 + (3,) for f in frames[first:])
    # the frame shown at tick i was taken at tick i - (pile depth - 1) or later: latency is the pile's depth
    latencies = [round(f.latency_ms) for f in frames[first:]]
    assert latencies[0] == round((per_group * groups - 1) * TICK * 1000)
    assert max(latencies) <= per_group * groups * TICK * 1000
    assert frames[-1].fps == pytest.approx(1 / TICK, rel=0.05)
    assert session.dropped == 0


def test_one_frame_per_group_cuts_latency_to_the_number_of_groups(pipeline):
    session = session_for(pipeline)
    with pytest.raises(ValueError, match="positive integer"):
        session.set_frames_per_group(0)
    with pytest.raises(ValueError, match="temporal position table"):
        session.set_frames_per_group(1000)
    session.set_frames_per_group(1)  # before the first reference: applied when the stream starts
    session.set_reference(character(0))
    frames = run(session, 12)
    groups = pipeline.config.pile.num_groups
    first = next(i for i, f in enumerate(frames) if f.image is not None)
    assert first == groups - 1 and session.stream.frames_per_group == 1  # 4 ticks instead of 16
    assert [round(f.latency_ms) for f in frames[first:]] == [round((groups - 1) * TICK * 1000)] * (12 - first)
    session.set_frames_per_group(2)  # mid-stream: the pile restarts in the new shape
    assert session.stream.groups == () and session.stream.frames_per_group == 2
    session.reset(seed=5)
    assert session.stream.frames_per_group == 2  # a restart keeps the shape
    frames = run(session, 12, start=12)
    assert next(i for i, f in enumerate(frames) if f.image is not None) == 2 * groups - 1


def test_fewer_groups_cut_latency_and_survive_a_restart(pipeline):
    session = session_for(pipeline)
    with pytest.raises(ValueError, match="from 1 to 4"):
        session.set_num_groups(0)
    session.set_num_groups(2)  # before the first reference: applied when the stream starts
    session.set_reference(character(0))
    per_group = pipeline.config.pile.frames_per_group
    frames = run(session, 16)
    first = next(i for i, f in enumerate(frames) if f.image is not None)
    assert first == per_group * 2 - 1 and session.stream.num_groups == 2  # 8 ticks instead of 16
    assert max(round(f.latency_ms) for f in frames[first:]) <= per_group * 2 * TICK * 1000
    session.set_num_groups(1)  # mid-stream: the pile restarts in the new shape
    assert session.stream.groups == () and session.stream.num_groups == 1
    session.set_frames_per_group(2)
    session.set_reference(character(1))  # a new character keeps both settings
    assert (session.stream.num_groups, session.stream.frames_per_group) == (1, 2)
    frames = run(session, 6, start=16)
    assert next(i for i, f in enumerate(frames) if f.image is not None) == 1


def test_buffer_drops_oldest_to_bound_latency(pipeline):
    session = session_for(pipeline, max_buffer=1)
    session.set_reference(character(0))
    frames = run(session, 32)
    per_group = pipeline.config.pile.frames_per_group
    # every clean group of 4 arrives at once; one is shown, one may wait, the rest are dropped
    assert session.dropped >= (per_group - 2) * 3
    shown = [f for f in frames if f.image is not None]
    assert max(f.latency_ms for f in shown) < per_group * pipeline.config.pile.num_groups * TICK * 1000


def test_reference_swap_mid_stream_changes_later_frames_only(pipeline):
    a, b = session_for(pipeline), session_for(pipeline)
    a.set_reference(character(0))
    b.set_reference(character(0))
    before_a, before_b = run(a, 20), run(b, 20)
    b.set_reference(character(1))  # swap without stopping: the pile keeps running
    after_a, after_b = run(a, 8, start=20), run(b, 8, start=20)
    for x, y in zip(before_a, before_b):
        if x.image is not None:
            np.testing.assert_array_equal(x.image, y.image)
    assert any(not np.array_equal(x.image, y.image) for x, y in zip(after_a, after_b))
    assert all(f.image is not None for f in after_b)  # no restart, no gap


def test_camera_size_may_change_mid_stream(pipeline):
    session = session_for(pipeline)
    session.set_reference(character(0))
    for i in range(8):
        size = (48, 64) if i % 2 else (120, 90)
        out = session.push(camera(i, size), now=i * TICK)
        assert out.condition.shape == (pipeline.config.resolution,) * 2 + (3,)


def test_reset_restarts_the_pile_with_the_new_seed(pipeline):
    session = session_for(pipeline, seed=3)
    session.set_reference(character(0))
    first = [f.image for f in run(session, 20) if f.image is not None]
    session.reset(seed=3)
    again = [f.image for f in run(session, 20) if f.image is not None]
    assert session.seed == 3 and len(first) == len(again)
    np.testing.assert_array_equal(first[0], again[0])  # same seed, same inputs: same frames
    session.reset(seed=4)
    other = [f.image for f in run(session, 20) if f.image is not None]
    assert not np.array_equal(first[0], other[0])


def test_face_calibration_on_a_real_photo(pipeline):
    """Real MediaPipe on scikit-image's astronaut: detect -> snapshot -> proposed sliders -> preview -> frames."""
    from skimage import data

    from rain.conditioning import RETARGET_PARAMS

    photo = data.astronaut()  # (512, 512, 3): a real face
    session = LiveSession(pipeline, ConditionConfig(mode="face", resolution=pipeline.config.resolution,
                                                    crop_ratio=0.6), overlap=False)
    session.set_reference(photo)
    assert session.reference_marks is not None and session.reference_marks.has_face()
    with pytest.raises(ValueError, match="no face in the camera"):
        session.take_snapshot()  # nothing seen yet
    frames = [session.push(photo, now=i * TICK) for i in range(16)]
    assert frames[-1].status == "tracking" and frames[-1].image is not None
    session.take_snapshot()
    params = session.propose()
    assert set(params) == {p.name for p in RETARGET_PARAMS}
    # the same face as user and character: the proposal is close to leaving the face unchanged
    assert params["face_length"] == pytest.approx(1.0, abs=0.1) and params["jaw_width"] == pytest.approx(1.0, abs=0.1)
    neutral = session.snapshot_preview({p.name: p.neutral for p in RETARGET_PARAMS})
    wide = session.snapshot_preview({**{p.name: p.neutral for p in RETARGET_PARAMS}, "eye_width": 3.0})
    assert neutral.shape == (pipeline.config.resolution,) * 2 + (3,) and neutral.max() > 0
    assert not np.array_equal(neutral, wide)  # the preview follows the sliders
    session.close()


class ThreadOfStep:
    """The shared pipeline seen through a wrapper that records which thread ran each pile call."""

    def __init__(self, inner: RainPipeline) -> None:
        self.inner, self.threads = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def step(self, stream, conditions, similarities=None):
        self.threads.append(threading.current_thread())
        time.sleep(0.01)  # a call that takes a while, so pushes really do overlap it
        return self.inner.step(stream, conditions, similarities)


def test_overlap_runs_calls_on_the_worker_and_shows_the_same_frames(pipeline):
    inline, overlapped = session_for(pipeline, max_buffer=100), session_for(pipeline, overlap=True, max_buffer=100)
    overlapped.pipeline = ThreadOfStep(pipeline)
    for session in (inline, overlapped):
        session.set_reference(character(0))
    shown = [[f.image for f in run(s, 60) if f.image is not None] for s in (inline, overlapped)]
    # the same frames in the same order; at most the calls still in flight are not shown yet
    per_group = pipeline.config.pile.frames_per_group
    assert len(shown[0]) - 2 * per_group <= len(shown[1]) <= len(shown[0]) and len(shown[1]) > 20
    assert all(np.array_equal(a, b) for a, b in zip(shown[0], shown[1]))
    overlapped.close()  # waits for the call in flight
    threads = overlapped.pipeline.threads
    assert len(threads) == 15 and len(set(threads)) == 1 and threads[0].name == "rain-pile_0"
    threads[0].join(timeout=5)
    assert not threads[0].is_alive()  # close() shut the session's worker down


def test_overlap_failure_stops_only_this_stream(pipeline):
    session = session_for(pipeline, overlap=True)
    session.set_reference(character(0))
    session.pipeline = ThreadOfStep(pipeline)
    session.pipeline.step = lambda stream, conditions, similarities=None: 1 / 0
    with pytest.raises(StreamStopped, match="ZeroDivisionError"):
        run(session, 12)
    with pytest.raises(StreamStopped):  # stays stopped until a new reference
        session.push(camera(0), now=10.0)
    session.pipeline = pipeline
    session.set_reference(character(1))
    assert any(f.image is not None for f in run(session, 40, start=200))
