"""The driving video of the body world is readable by the live MediaPipe body detector."""
import numpy as np
import pytest

from rain.worlds import BodyWorld, WorldConfig

pytest.importorskip("mediapipe")


def test_mediapipe_reads_the_driving_frames():
    from rain.conditioning.config import ConditionConfig
    from rain.conditioning.detect import detect_frame, make_detector

    cfg = ConditionConfig(mode="body", backend="mediapipe")
    world = BodyWorld.from_seed(3, 40, 256, WorldConfig(closeup_prob=0.0))
    detector = make_detector(cfg)
    found, errors = 0, []
    try:
        for t in range(0, 40, 2):
            lm = detect_frame(detector, world.driving_frame(t), cfg)
            if lm is None:
                continue
            found += 1
            ok = (world.geometry.conf[t] > 0) & (lm.body_conf > cfg.min_confidence)
            errors.extend(np.linalg.norm(lm.body[ok] - world.geometry.points[t, :18][ok], axis=1))
    finally:
        detector.close()
    assert found >= 14, found  # >= 70 % of 20 frames
    assert np.mean(errors) < 0.05, np.mean(errors)  # mean keypoint error < 5 % of the frame side
