"""DWPose backend (rain/conditioning/detect_dwpose.py): pre/post-processing maths on synthetic
arrays, the fallback when the ONNX files are absent, and the onnxruntime plumbing.

The real DWPose weights cannot be downloaded here, so the plumbing test runs STAND-IN ONNX models:
constant-output graphs with the real models' input/output layout (a YOLOX-style raw head and two
SimCC outputs), written below as raw ONNX protobuf because the `onnx` package is not installed.
They check that files are found, sessions run, and outputs are decoded into the right points; they
say nothing about detection quality.
"""
import logging

import cv2
import numpy as np
import pytest

from rain.conditioning.config import ConditionConfig
from rain.conditioning.detect import dwpose_available, make_detector
from rain.conditioning.detect_dwpose import (
    COCO_TO_OPENPOSE, DETECTOR_FILE, POSE_FILE, DWPoseDetector, box_to_center_scale, crop_matrix,
    decode_simcc, dwpose_paths, letterbox, nms, yolox_decode,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


# --- maths on synthetic arrays -------------------------------------------------------------------

def test_letterbox_keeps_aspect_top_left_and_pads_114():
    img = np.full((100, 200, 3), 7, np.uint8)
    out, ratio = letterbox(img, (64, 64))
    assert ratio == pytest.approx(0.32) and out.shape == (64, 64, 3)
    assert np.all(out[:32] == 7) and np.all(out[32:] == 114)


def test_yolox_decode_uses_grid_offsets_strides_and_exp():
    size = (64, 64)  # anchors: 8x8 at stride 8, 4x4 at 16, 2x2 at 32 = 84
    raw = np.zeros((84, 6), np.float32)
    k = 64 + 1 * 4 + 2  # stride 16, row y=1, column x=2
    raw[k] = [0.5, 0.25, np.log(2.0), np.log(3.0), 0.8, 0.5]
    boxes, scores = yolox_decode(raw, size)
    cx, cy, w, h = (2 + 0.5) * 16, (1 + 0.25) * 16, 2.0 * 16, 3.0 * 16
    np.testing.assert_allclose(boxes[k], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], rtol=1e-5)
    assert scores[k] == pytest.approx(0.4) and np.count_nonzero(scores) == 1
    with pytest.raises(ValueError, match="anchors"):
        yolox_decode(raw[:80], size)


def test_nms_drops_overlaps_and_keeps_separate_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], np.float32)
    assert nms(boxes, np.array([0.9, 0.8, 0.7])) == [0, 2]
    assert nms(boxes, np.array([0.5, 0.8, 0.7])) == [1, 2]


def test_box_to_center_scale_pads_and_fixes_aspect():
    centre, scale = box_to_center_scale(np.array([10.0, 20.0, 50.0, 140.0]), aspect=0.75)
    np.testing.assert_allclose(centre, [30, 80])
    np.testing.assert_allclose(scale, [150 * 0.75, 150])  # height 120 * 1.25 decides
    _, wide = box_to_center_scale(np.array([0.0, 0.0, 200.0, 10.0]), aspect=0.75)
    np.testing.assert_allclose(wide, [250, 250 / 0.75])


def test_affine_crop_and_inverse_round_trip():
    img = np.zeros((200, 200, 3), np.uint8)
    img[118:121, 61:64] = 255  # a dot at (62, 119)
    centre, scale = box_to_center_scale(np.array([40.0, 60.0, 120.0, 180.0]), aspect=0.75)
    h, w = 64, 48
    crop = cv2.warpAffine(img, crop_matrix(centre, scale, (h, w)), (w, h), flags=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(crop[..., 0] > 20)
    loc = np.array([np.average(xs, weights=crop[ys, xs, 0]), np.average(ys, weights=crop[ys, xs, 0])])
    back = loc / [w, h] * scale + centre - scale / 2
    np.testing.assert_allclose(back, [62, 119], atol=1.0)


def test_simcc_decoding_finds_peaks_and_min_confidence(rng):
    k, size = 5, (32, 24)
    sx, sy = rng.uniform(0, 0.1, (k, 48)), rng.uniform(0, 0.1, (k, 64))
    ix, iy = rng.integers(0, 48, k), rng.integers(0, 64, k)
    sx[np.arange(k), ix], sy[np.arange(k), iy] = 0.9, np.linspace(0.3, 0.8, k)
    locs, conf = decode_simcc(sx, sy, size)
    np.testing.assert_allclose(locs, np.stack([ix / 2.0, iy / 2.0], 1))
    np.testing.assert_allclose(conf, np.linspace(0.3, 0.8, k), rtol=1e-6)


# --- absent files: clear message and fallback ----------------------------------------------------

def test_absent_files_raise_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=DETECTOR_FILE) as err:
        dwpose_paths(tmp_path)
    assert POSE_FILE in str(err.value) and str(tmp_path) in str(err.value)
    assert not dwpose_available(str(tmp_path))


def test_dwpose_backend_falls_back_to_mediapipe_with_a_warning(tmp_path, caplog):
    pytest.importorskip("mediapipe")
    cfg = ConditionConfig(mode="face", backend="dwpose", dwpose_dir=str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="rain.conditioning.detect"):
        det = make_detector(cfg)
    try:
        assert det.name == "mediapipe"
        assert "falling back to MediaPipe" in caplog.text and DETECTOR_FILE in caplog.text
    finally:
        det.close()


def test_corrupt_file_also_falls_back(tmp_path, caplog):
    pytest.importorskip("mediapipe")
    for name in (DETECTOR_FILE, POSE_FILE):
        (tmp_path / name).write_bytes(b"not an onnx model")
    with caplog.at_level(logging.WARNING, logger="rain.conditioning.detect"):
        det = make_detector(ConditionConfig(mode="face", backend="auto", dwpose_dir=str(tmp_path)))
    try:
        assert det.name == "mediapipe" and "failed to load" in caplog.text
    finally:
        det.close()


# --- stand-in ONNX models for the session plumbing -----------------------------------------------

def _varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def _field(num, payload):  # length-delimited field (bytes, strings, messages)
    payload = payload.encode() if isinstance(payload, str) else payload
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _int_field(num, value):
    return _varint(num << 3) + _varint(value)


def _value_info(name, shape):
    dims = b"".join(_field(1, _int_field(1, d)) for d in shape)
    tensor_type = _int_field(1, 1) + _field(2, dims)  # elem_type FLOAT, shape
    return _field(1, name) + _field(2, _field(1, tensor_type))


def _tensor(name, array):
    array = np.ascontiguousarray(array, np.float32)
    dims = b"".join(_int_field(1, d) for d in array.shape)
    return dims + _int_field(2, 1) + _field(8, name) + _field(9, array.tobytes())


def _node(op, inputs, outputs, keepdims=None):
    body = b"".join(_field(1, i) for i in inputs) + b"".join(_field(2, o) for o in outputs)
    body += _field(4, op)
    if keepdims is not None:  # AttributeProto: name, i, type=INT
        body += _field(5, _field(1, "keepdims") + _int_field(3, keepdims) + _int_field(20, 2))
    return body


def constant_onnx(input_shape, outputs):
    """ONNX bytes of a model whose outputs are constants (+ 0 x mean(input), so the input is used)."""
    nodes = [_node("ReduceMean", ["input"], ["m"], keepdims=0), _node("Mul", ["m", "zero"], ["z"])]
    inits = [_tensor("zero", np.zeros((), np.float32))]
    for name, value in outputs.items():
        nodes.append(_node("Add", [f"{name}_c", "z"], [name]))
        inits.append(_tensor(f"{name}_c", value))
    graph = b"".join(_field(1, n) for n in nodes) + _field(2, "standin")
    graph += b"".join(_field(5, t) for t in inits) + _field(11, _value_info("input", input_shape))
    graph += b"".join(_field(12, _value_info(n, v.shape)) for n, v in outputs.items())
    opset = _field(1, "") + _int_field(2, 13)
    return _int_field(1, 7) + _field(2, "rain-test") + _field(7, graph) + _field(8, opset)


def _write_standins(folder, person=True):
    raw = np.zeros((1, 84, 6), np.float32)  # detector input 64x64
    k = 64 + 1 * 4 + 1  # stride 16, cell (1, 1): centre (32, 32)
    raw[0, k] = [1.0, 1.0, np.log(2.5), np.log(3.5), 0.9 if person else 0.0, 0.9]
    raw[0, k + 1] = [0.2, 1.0, np.log(2.5), np.log(3.5), 0.6 if person else 0.0, 0.9]  # overlapping
    (folder / DETECTOR_FILE).write_bytes(constant_onnx((1, 3, 64, 64), {"output": raw}))
    sx, sy = np.zeros((1, 133, 48), np.float32), np.zeros((1, 133, 64), np.float32)
    ix, iy = np.arange(133) % 48, (np.arange(133) * 7) % 64  # a distinct peak per keypoint
    sx[0, np.arange(133), ix], sy[0, np.arange(133), iy] = 0.9, 0.8
    (folder / POSE_FILE).write_bytes(constant_onnx((1, 3, 32, 24), {"simcc_x": sx, "simcc_y": sy}))
    return ix, iy


def test_standin_models_run_through_onnxruntime_and_decode(tmp_path):
    ix, iy = _write_standins(tmp_path)
    det = make_detector(ConditionConfig(mode="body", backend="auto", dwpose_dir=str(tmp_path)))
    assert isinstance(det, DWPoseDetector) and det.det_size == (64, 64) and det.pose_size == (32, 24)
    frame = np.zeros((128, 128, 3), np.uint8)
    box = det.person_box(frame)  # letterbox ratio 0.5: centre (64, 64), 80 x 112 frame pixels
    np.testing.assert_allclose(box, [24, 8, 104, 120], atol=1e-3)
    lm = det.detect(frame)
    centre, scale = np.array([64.0, 64.0]), np.array([105.0, 140.0])  # 112 * 1.25 = 140, w = 0.75 h
    kpts = (np.stack([ix / 2, iy / 2], 1) / [24, 32] * scale + centre - scale / 2) / 128  # (133, 2)
    for j, coco in enumerate(COCO_TO_OPENPOSE):
        expected = (kpts[5] + kpts[6]) / 2 if coco < 0 else kpts[coco]
        np.testing.assert_allclose(lm.body[j], expected, atol=1e-5)
    np.testing.assert_allclose(lm.face, kpts[23:91], atol=1e-5)
    np.testing.assert_allclose(lm.hands[0], kpts[112:133], atol=1e-5)  # right hand first
    np.testing.assert_allclose(lm.hands[1], kpts[91:112], atol=1e-5)
    np.testing.assert_allclose(lm.body_conf, 0.8)
    det.close()


def test_standin_detector_without_person_gives_none(tmp_path):
    _write_standins(tmp_path, person=False)
    det = DWPoseDetector(tmp_path)
    assert det.detect(np.zeros((96, 96, 3), np.uint8)) is None
