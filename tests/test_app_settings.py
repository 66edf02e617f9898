"""The server's command line (`app.parse_settings`) and how its settings reach a user's stream."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import app
from rain.conditioning import ConditionConfig
from rain.live import LIVE

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = sorted((ROOT / "examples" / "body").glob("*.png"))[0]


def test_no_flags_serve_the_defaults():
    live, models, _ = app.parse_settings([])
    assert live == LIVE and models == LIVE.models


def test_speed_flags_land_in_the_config():
    live, models, args = app.parse_settings(["--compile", "--overlap", "--threads", "1", "--port", "7999",
                                             "--stream-every", "0.2"])
    assert (live.compile, live.overlap, live.torch_threads, live.stream_every) == (True, True, 1, 0.2)
    assert args.port == 7999 and models == LIVE.models
    moved_back = dataclasses.replace(live, compile=False, overlap=LIVE.overlap, torch_threads=None,
                                     stream_every=LIVE.stream_every)
    assert moved_back == LIVE  # nothing else moved
    assert app.parse_settings(["--no-overlap"])[0].overlap is False


@pytest.mark.parametrize("overlap, threads, cores, expected", [
    (True, None, 2, 1), (True, None, 8, 7), (True, None, 1, 1),  # one core is left to detection
    (False, None, 2, None),  # inline: torch's own default
    (True, 3, 2, 3), (False, 2, 8, 2),  # --threads N wins
])
def test_torch_threads_leave_a_core_to_detection_when_overlapping(overlap, threads, cores, expected):
    live = dataclasses.replace(LIVE, overlap=overlap, torch_threads=threads)
    assert live.threads_for(cores) == expected


@pytest.mark.parametrize("argv", [["--threads", "0"], ["--threads", "-2"], ["--threads", "two"],
                                  ["--max-video-frames", "0"], ["--max-video-seconds", "nan"],
                                  ["--stream-every", "0"], ["--stream-every", "nan"], ["--stream-every", "5"]])
def test_bad_flags_stop_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as excinfo:
        app.parse_settings(argv)
    assert excinfo.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("overlap", [False, True])
def test_a_new_stream_follows_the_overlap_setting(overlap):
    live = dataclasses.replace(LIVE, overlap=overlap)
    session, status = app.set_reference("body", LIVE.models["body"], str(EXAMPLE), None,
                                        ConditionConfig.crop_ratio, 0, live)
    try:
        assert "Ready" in status and session.overlap is overlap
        frames = [app.live_tick(np.full((240, 320, 3), 40 * (i % 5), np.uint8), session) for i in range(24)]
        assert any(f[0] is not None for f in frames)  # the stream animates either way
    finally:
        session.close()


def test_the_stream_rate_reaches_every_live_tab():
    live = dataclasses.replace(LIVE, stream_every=0.2)
    demo = app.build_demo(live=live)
    ticks = [d for d in demo.config["dependencies"] if str(d.get("api_name")).startswith("live_tick")]
    assert len(ticks) == len(LIVE.models)  # one webcam stream per live tab
    assert {d["stream_every"] for d in ticks} == {0.2}


def test_the_face_models_alignment_takes_its_landmarkers_face_on_a_cartoon_mediapipes_on_a_photo_none_on_a_grey(tmp_path):
    """The shipped face model finds the reference's face with its own cartoon landmarker: on a held-out cartoon the
    alignment takes its points. On a flat grey image neither MediaPipe nor the landmarker (its points on the mirror
    image disagree) finds a face, and the status says alignment is off rather than aligning to an invented face. On a
    real photo (scikit-image's astronaut) the landmarker refuses too, MediaPipe finds the face, and the status says
    whose face aligns it."""
    from PIL import Image
    from skimage import data

    from rain.train.config import HELD_OUT_SEED_START
    from rain.worlds.face.world import FaceWorld

    cartoon, grey = tmp_path / "cartoon.png", tmp_path / "grey.png"
    Image.fromarray(FaceWorld.from_seed(HELD_OUT_SEED_START, 1, 256).reference).save(cartoon)
    Image.fromarray(np.full((128, 128, 3), 128, np.uint8)).save(grey)
    session, status = app.set_reference("face", LIVE.models["face"], str(cartoon), None, ConditionConfig.crop_ratio, 0)
    try:
        found = session.pipeline.reference_face(session.reference_image)
        assert found is not None and np.allclose(session.conditioner.face_reference.face, found.face)
        assert status.startswith("**Ready**")
        session, status = app.set_reference("face", LIVE.models["face"], str(grey), session, ConditionConfig.crop_ratio,
                                            0)
        assert session.reference_marks is None and session.conditioner.face_reference is None
        assert "did not trust its points on it; MediaPipe found none: alignment/calibration off" in status
        astronaut = tmp_path / "astronaut.png"
        Image.fromarray(data.astronaut()).save(astronaut)
        session, status = app.set_reference("face", LIVE.models["face"], str(astronaut), session,
                                            ConditionConfig.crop_ratio, 0)
        assert session.reference_face.source == "mediapipe" and session.conditioner.face_reference is not None
        assert "did not trust its points on it; MediaPipe's face aligns it" in status
    finally:
        session.close()
