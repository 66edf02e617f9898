"""bench_browser.py at toy scale: a real `python app.py` process (with flags), real chromium and a fake
webcam; the JSON holds the page's frame times and readouts (the recorded runs are in BENCHMARKS.md)."""

import json

import pytest

import bench_browser


def test_summary_counts_only_after_the_warm_up():
    frames = [1.0, 2.0, 5.0, 5.5, 6.0, 6.5]  # seconds since the webcam started
    readings = [(1.0, 2.0, 900, "tracking"), (6.0, 4.0, 1100, "holding"), (7.0, 6.0, 1000, "tracking")]
    result = bench_browser.summary(frames, readings, warmup=5.0, seconds=9.0)
    assert result["browser"]["frames_after_warmup"] == 4 and result["browser"]["fps"] == 1.0
    assert result["browser"]["interval_ms"]["p50"] == pytest.approx(500.0) and result["browser"]["first_frame_s"] == 1.0
    assert result["readout"]["fps_median"] == 5.0 and result["readout"]["latency_ms"]["p50"] == pytest.approx(1050.0)
    assert result["readout"]["tracking_share"] == 0.5


@pytest.mark.timeout(300)
def test_a_short_run_through_the_page_with_app_flags(tmp_path):
    out = tmp_path / "browser.json"
    argv = ["--json", str(out), "--seconds", "20", "--warmup", "5", "--camera-fps", "15", "--rtt-ms", "30",
            "--", "--stream-every", "0.1", "--overlap"]
    assert bench_browser.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["app_flags"] == ["--stream-every", "0.1", "--overlap"]
    assert result["rtt_ms"] == 30 and result["cores_used"]["server"] > 0 and result["cores_used"]["chromium"] > 0
    assert result["browser"]["frames_after_warmup"] > 0 and result["browser"]["fps"] > 0
    assert result["readout"]["count"] > 0 and result["readout"]["latency_ms"]["p50"] > 0
    assert result["frame_times_s"] == sorted(result["frame_times_s"]) and result["server_rss_mib"] > 0


@pytest.mark.parametrize("bad", [["--warmup", "10"], ["--rtt-ms", "-1"], ["--rtt-ms", "5000"]])
def test_bad_settings_are_refused(tmp_path, bad, capsys):
    with pytest.raises(SystemExit):
        bench_browser.main(["--json", str(tmp_path / "b.json"), "--seconds", "10", *bad])
    assert "must be within" in capsys.readouterr().err
