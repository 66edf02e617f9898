"""Run a pipeline on held-out world sequences and measure it (and its no-temporal ablation)."""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from rain.conditioning.landmarks import Landmarks
from rain.conditioning.warp import face_map
from rain.eval.metrics import block_changes, motion_of_changes, psnr, summarize
from rain.images import to_tensor, to_uint8
from rain.models import RainModels, zero_temporal_outputs
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START

logger = logging.getLogger(__name__)


def without_temporal(pipeline: RainPipeline) -> RainPipeline:
    """The same weights with every temporal module turned into an identity (the ablation)."""
    unet = copy.deepcopy(pipeline.models.unet)
    zero_temporal_outputs(unet)
    models = dataclasses.replace(pipeline.models, unet=unet)
    return RainPipeline(models, pipeline.config, precision=pipeline.precision)


def eval_reference_face(pipeline: RainPipeline, world) -> Landmarks:
    """The reference's face an aligning refiner is evaluated with: what the model's own landmarker finds, as live
    (rain/live/session.py `face_reference`), or the world's true one for a model without a landmarker."""
    found = pipeline.reference_face(world.reference)
    if found is None and pipeline.models.landmarker is not None:
        logger.warning("the landmarker does not trust its points on a held-out reference: this sequence aligns with "
                       "the world's true face (live, MediaPipe's would align it)")
    return world.reference_landmarks if found is None else found


def stream_sequence(pipeline: RainPipeline, world, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (output, truth) frame pairs for a held-out world, streaming (any length, flat memory)."""
    stream = pipeline.new_stream(pipeline.encode_reference(world.reference), seed=seed)
    f, size, aligns = pipeline.frames_per_group, pipeline.config.resolution, pipeline.aligns_reference
    conditions: list = []
    pending: list[np.ndarray] = []
    reference = eval_reference_face(pipeline, world) if aligns else None
    for landmarks, condition, frame in world.frames():  # a refiner that aligns the reference: the frames' true faces
        conditions.append((condition, face_map(pipeline.face_map, reference, landmarks, size)) if aligns else condition)
        pending.append(frame)
        if len(conditions) == f:
            out = list(pipeline.step_group(stream, conditions))
            conditions = []
            for o in out:
                yield o, pending.pop(0)
    if conditions:
        for o in pipeline.step_group(stream, conditions):
            yield o, pending.pop(0)
    for out in pipeline.drain(stream):
        for o in out:
            yield o, pending.pop(0)


def evaluate_sequences(pipeline: RainPipeline, make_world, count: int, frames: int) -> tuple[dict, list]:
    """Mean metrics over `count` held-out sequences; also returns the first sequence's frames."""
    rows, changes, first = [], ([], []), None
    t0 = time.perf_counter()
    for i in range(count):
        world = make_world(HELD_OUT_SEED_START + i, frames)
        pairs = list(stream_sequence(pipeline, world, seed=i))
        out, truth = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        rows.append(summarize(out, truth))
        changes[0].append(block_changes(out))
        changes[1].append(block_changes(truth))
        first = first if first is not None else (out, truth, world)
    metrics = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    # motion over all sequences' changes together (a sequence whose truth hardly moves has no ratio of its own)
    metrics.update(zip(("motion_corr", "motion_ratio"), motion_of_changes(*map(np.concatenate, changes))))
    metrics["seconds"] = time.perf_counter() - t0
    return metrics, first


def condition_baseline(make_world, count: int, frames: int, pipeline: RainPipeline | None = None) -> dict[str, float]:
    """The same metrics with the condition images themselves as the output (style: the unstyled camera frame,
    what an img2img route passes through), over the same held-out sequences. With `pipeline` (a model with a
    style preset): the condition images as that model's preset restyles them, i.e. what enters its pile."""
    rows = []
    for i in range(count):
        world = make_world(HELD_OUT_SEED_START + i, frames)
        pairs = [(condition, frame) for _, condition, frame in world.frames()]
        shown = np.stack([p[0] for p in pairs])
        if pipeline is not None:
            with torch.no_grad():
                shown = to_uint8(pipeline.restyled(pipeline.encode_reference(world.reference), to_tensor(shown)))
        rows.append(summarize(shown, np.stack([p[1] for p in pairs])))
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def _window_psnr(pipeline: RainPipeline, world, frames: int, window: int) -> tuple[float, float]:
    """Mean PSNR of the first and of the last `window` frames of one stream of `world`."""
    head, tail = [], []
    for i, (o, t) in enumerate(stream_sequence(pipeline, world, seed=999)):
        if i < window:
            head.append(psnr(o, t))
        elif i >= frames - window:
            tail.append(psnr(o, t))
    return float(np.mean(head)), float(np.mean(tail))


def drift(pipeline: RainPipeline, make_world, frames: int, window: int,
          ablation: RainPipeline | None = None) -> dict[str, float]:
    """PSNR of the last `window` frames of one long stream against its first `window` frames.

    Content alone can make the two windows differ (harder poses late in the stream). `ablation`, the
    same weights without temporal attention, keeps no state between frames and so cannot drift: its own
    head-tail difference on the same stream measures the content, and `drift_vs_ablation_db` is what
    the stream's state adds on top."""
    first, last = _window_psnr(pipeline, make_world(HELD_OUT_SEED_START + 999, frames), frames, window)
    result = {"frames": frames, "window": window, "psnr_first": first, "psnr_last": last, "drift_db": first - last}
    if ablation is not None:
        a_first, a_last = _window_psnr(ablation, make_world(HELD_OUT_SEED_START + 999, frames), frames, window)
        result.update(ablation_psnr_first=a_first, ablation_psnr_last=a_last, ablation_drift_db=a_first - a_last,
                      drift_vs_ablation_db=(first - last) - (a_first - a_last))
    return result
