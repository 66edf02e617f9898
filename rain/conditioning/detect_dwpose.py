"""Full-tier detection backend: DWPose whole-body ONNX models run with onnxruntime.

Two files are read from a local folder (default ``ConditionConfig.dwpose_dir``), as published with
DWPose (Hugging Face ``yzd-v/DWPose``): ``yolox_l.onnx`` (YOLOX person detector, raw head output
(1, A, 5 + classes)) and ``dw-ll_ucoco_384.onnx`` (RTMPose-style whole-body model, input
(1, 3, 384, 288), outputs SimCC x (1, 133, 576) and y (1, 133, 768)). Nothing is downloaded.
When a file is missing, `DWPoseDetector` raises FileNotFoundError naming it; `detect.make_detector`
catches that and falls back to MediaPipe with a warning.

Pipeline: letterbox the square frame to the detector input (pad 114) -> decode the YOLOX grid
(cx, cy from grid + offset times stride, w, h from exp) -> person score = objectness x class 0
-> NMS -> the largest confident person -> box enlarged 1.25x and fixed to the pose input's aspect
-> affine crop -> normalise (ImageNet mean/std, RGB) -> SimCC argmax / split ratio, confidence =
min of the x and y maxima -> back to frame pixels -> COCO-WholeBody 133 to `Landmarks`
(body 0-16 to OpenPose-18, face 23-90 already iBUG-68, hands 91-111 left, 112-132 right).
"""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from rain.conditioning.config import ConditionConfig
from rain.conditioning.landmarks import Landmarks

log = logging.getLogger(__name__)

DETECTOR_FILE = "yolox_l.onnx"
POSE_FILE = "dw-ll_ucoco_384.onnx"
DETECTOR_INPUT = (640, 640)  # (h, w) used when the model does not state it
POSE_INPUT = (384, 288)  # (h, w)
YOLOX_STRIDES = (8, 16, 32)
POSE_MEAN = np.array([123.675, 116.28, 103.53], np.float32)  # RGB
POSE_STD = np.array([58.395, 57.12, 57.375], np.float32)
# COCO-17 index for each OpenPose-18 point; -1 = neck (mid-shoulders).
COCO_TO_OPENPOSE: tuple[int, ...] = (0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)


def dwpose_paths(folder: str | Path) -> tuple[Path, Path]:
    """(detector, pose) model paths in ``folder``; FileNotFoundError naming what is missing."""
    folder = Path(folder)
    paths = folder / DETECTOR_FILE, folder / POSE_FILE
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"DWPose model file(s) {missing} not found in {folder.resolve()}; put {DETECTOR_FILE} "
            f"and {POSE_FILE} (from the DWPose release, e.g. Hugging Face yzd-v/DWPose) there")
    return paths


def letterbox(image: np.ndarray, size: tuple[int, int], pad: int = 114) -> tuple[np.ndarray, float]:
    """Resize keeping the aspect into the top-left of a (h, w) canvas filled with ``pad``."""
    h, w = image.shape[:2]
    ratio = min(size[0] / h, size[1] / w)
    nh, nw = max(1, int(round(h * ratio))), max(1, int(round(w * ratio)))
    out = np.full((size[0], size[1], 3), pad, np.uint8)
    out[:nh, :nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out, ratio


def yolox_decode(raw: np.ndarray, size: tuple[int, int],
                 strides: tuple[int, ...] = YOLOX_STRIDES) -> tuple[np.ndarray, np.ndarray]:
    """Raw YOLOX head (A, 5 + C) -> person boxes (A, 4) x1y1x2y2 in input pixels, scores (A,)."""
    grids, steps = [], []
    for s in strides:
        xv, yv = np.meshgrid(np.arange(size[1] // s), np.arange(size[0] // s))
        grids.append(np.stack([xv, yv], -1).reshape(-1, 2))
        steps.append(np.full((grids[-1].shape[0], 1), s))
    grid, stride = np.concatenate(grids), np.concatenate(steps)  # (A, 2), (A, 1)
    if grid.shape[0] != raw.shape[0]:
        raise ValueError(f"YOLOX output has {raw.shape[0]} anchors, expected {grid.shape[0]} for {size}")
    centre = (raw[:, :2] + grid) * stride
    wh = np.exp(np.clip(raw[:, 2:4], -20, 20)) * stride
    boxes = np.concatenate([centre - wh / 2, centre + wh / 2], 1)
    return boxes, raw[:, 4] * raw[:, 5]


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.45) -> list[int]:
    """Greedy non-maximum suppression; indices kept, best first."""
    order, keep = list(np.argsort(-scores)), []
    area = np.prod(np.maximum(boxes[:, 2:] - boxes[:, :2], 0), 1)
    while order:
        i, order = order[0], np.array(order[1:], int)
        keep.append(int(i))
        if not len(order):
            break
        lt, rb = np.maximum(boxes[i, :2], boxes[order, :2]), np.minimum(boxes[i, 2:], boxes[order, 2:])
        inter = np.prod(np.maximum(rb - lt, 0), 1)
        iou = inter / np.maximum(area[i] + area[order] - inter, 1e-9)
        order = list(order[iou <= iou_threshold])
    return keep


def box_to_center_scale(box: np.ndarray, aspect: float, padding: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """Box x1y1x2y2 -> centre (2,) and (w, h) (2,) enlarged by ``padding`` with w / h = aspect."""
    centre = (box[:2] + box[2:]) / 2
    w, h = (box[2:] - box[:2]) * padding
    if w > h * aspect:
        h = w / aspect
    else:
        w = h * aspect
    return centre.astype(np.float64), np.array([w, h], np.float64)


def crop_matrix(centre: np.ndarray, scale: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """2x3 affine mapping the box (centre, scale) onto a (h, w) = size input."""
    sx, sy = size[1] / scale[0], size[0] / scale[1]
    return np.array([[sx, 0, -(centre[0] - scale[0] / 2) * sx],
                     [0, sy, -(centre[1] - scale[1] / 2) * sy]], np.float64)


def decode_simcc(simcc_x: np.ndarray, simcc_y: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """SimCC (K, Wx), (K, Wy) -> keypoints (K, 2) in input pixels and confidences (K,).
    The split ratio is the SimCC length over the input side (2.0 for DWPose)."""
    split_x, split_y = simcc_x.shape[-1] / size[1], simcc_y.shape[-1] / size[0]
    locs = np.stack([np.argmax(simcc_x, -1) / split_x, np.argmax(simcc_y, -1) / split_y], -1)
    conf = np.minimum(simcc_x.max(-1), simcc_y.max(-1))
    return locs.astype(np.float64), np.clip(conf, 0.0, None).astype(np.float32)


def wholebody_to_landmarks(kpts: np.ndarray, conf: np.ndarray, frame_size: int) -> Landmarks:
    """COCO-WholeBody (133, 2) pixels + (133,) confidences -> `Landmarks` (normalised)."""
    xy = kpts / float(frame_size)
    idx = np.maximum(np.array(COCO_TO_OPENPOSE), 0)
    body, body_conf = xy[idx].copy(), conf[idx].copy()
    body[1], body_conf[1] = (xy[5] + xy[6]) / 2, min(conf[5], conf[6])
    hands = np.stack([xy[112:133], xy[91:112]])  # [right, left]
    hands_conf = np.stack([conf[112:133], conf[91:112]])
    return Landmarks(body, body_conf, xy[23:91], conf[23:91], hands, hands_conf)


def _input_hw(session, default: tuple[int, int]) -> tuple[int, int]:
    shape = session.get_inputs()[0].shape  # e.g. [1, 3, 640, 640] or ["batch", 3, 640, 640]
    h, w = shape[2], shape[3]
    return (h, w) if isinstance(h, int) and isinstance(w, int) else default


class DWPoseDetector:
    """DWPose whole-body landmarks from local ONNX files (see module docstring)."""

    name = "dwpose"

    def __init__(self, folder: str | Path = ConditionConfig.dwpose_dir, person_threshold: float = 0.3,
                 threads: int = 0) -> None:
        det_path, pose_path = dwpose_paths(folder)
        import onnxruntime as ort  # imported lazily: only the full tier needs it

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        kw = dict(sess_options=opts, providers=["CPUExecutionProvider"])
        self._det = ort.InferenceSession(str(det_path), **kw)
        self._pose = ort.InferenceSession(str(pose_path), **kw)
        self.det_size = _input_hw(self._det, DETECTOR_INPUT)
        self.pose_size = _input_hw(self._pose, POSE_INPUT)
        self.person_threshold = person_threshold
        log.info("DWPose loaded from %s (detector %s, pose %s)", folder, self.det_size, self.pose_size)

    def person_box(self, image: np.ndarray) -> np.ndarray | None:
        """The main person's box x1y1x2y2 in frame pixels, or None."""
        inp, ratio = letterbox(image, self.det_size)
        blob = inp.transpose(2, 0, 1)[None].astype(np.float32)  # (1, 3, h, w), 0-255, no mean
        raw = self._det.run(None, {self._det.get_inputs()[0].name: blob})[0][0]  # (A, 5 + C)
        boxes, scores = yolox_decode(raw, self.det_size)
        ok = scores > self.person_threshold
        if not ok.any():
            return None
        boxes, scores = boxes[ok] / ratio, scores[ok]
        keep = nms(boxes, scores)
        area = np.prod(boxes[keep, 2:] - boxes[keep, :2], 1)
        return boxes[keep[int(np.argmax(area * scores[keep]))]]

    def detect(self, image: np.ndarray) -> Landmarks | None:
        """Square uint8 RGB (S, S, 3) -> Landmarks of the main person, or None."""
        box = self.person_box(image)
        if box is None:
            return None
        h, w = self.pose_size
        centre, scale = box_to_center_scale(box, aspect=w / h)
        crop = cv2.warpAffine(image, crop_matrix(centre, scale, self.pose_size), (w, h),
                              flags=cv2.INTER_LINEAR)
        blob = ((crop.astype(np.float32) - POSE_MEAN) / POSE_STD).transpose(2, 0, 1)[None]
        simcc_x, simcc_y = self._pose.run(None, {self._pose.get_inputs()[0].name: blob})[:2]
        locs, conf = decode_simcc(simcc_x[0], simcc_y[0], self.pose_size)  # (133, 2), (133,)
        kpts = locs / np.array([w, h]) * scale + centre - scale / 2  # back to frame pixels
        return wholebody_to_landmarks(kpts, conf, image.shape[0])

    def close(self) -> None:
        self._det = self._pose = None
