"""The pile and the stream: order, levels, latency, isolation, determinism, flat memory."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import random_images
from rain import pile
from rain.bench import rss_mib
from rain.config import PileConfig, tiny
from rain.pipeline import RainPipeline


def record_timesteps(pipeline):
    """Capture the per-frame timesteps of every UNet call through a forward pre-hook."""
    seen = []
    handle = pipeline.models.unet.register_forward_pre_hook(lambda m, args: seen.append(args[1][0].tolist()))
    return seen, handle


def test_pile_functions_keep_order_and_visit_every_level_once():
    levels, f = 4, 2
    groups, left, visits = (), [], {}
    for call in range(12):
        if call < 9:
            new = pile.Group(torch.zeros(1, 1, f, 1, 1), torch.zeros(1, 1, f, 1, 1), 0, first_frame=call * f, valid=f)
            groups = pile.push(groups, new, levels)
        for g in groups:
            visits.setdefault(g.first_frame, []).append(g.level)
        latents, _ = pile.stack(groups)
        groups, done = pile.advance(groups, latents + 1, levels)
        if done is not None:
            left.append(done.first_frame)
            assert torch.all(done.latents == levels)  # stepped exactly `levels` times
    assert left == [i * f for i in range(9)]
    assert all(v == [0, 1, 2, 3] for v in visits.values())
    with pytest.raises(RuntimeError, match="full"):
        full = tuple(pile.Group(torch.zeros(1, 1, 1, 1, 1), torch.zeros(1, 1, 1, 1, 1), 0, i, 1) for i in range(4))
        pile.push(full, full[0], levels)


def test_stream_follows_the_published_schedule(tiny_pipeline, rng):
    stream = tiny_pipeline.new_stream(tiny_pipeline.encode_reference(random_images(rng, 1, 80)[0]), seed=0)
    seen, handle = record_timesteps(tiny_pipeline)
    try:
        emitted = [len(tiny_pipeline.step(stream, random_images(rng, 4, 64))) for _ in range(6)]
    finally:
        handle.remove()
    f = tiny_pipeline.frames_per_group
    expected = [[999] * f, [749] * f + [999] * f, [499] * f + [749] * f + [999] * f]
    expected += [[249] * f + [499] * f + [749] * f + [999] * f] * 3
    assert seen == expected
    assert emitted == [0, 0, 0, 4, 4, 4]  # latency in calls = number of groups; then a group per call
    assert stream.calls == 6 and stream.frames_in == 24 and stream.frames_out == 12


def test_offline_render_returns_every_frame_in_order(tiny_pipeline, rng, monkeypatch):
    popped = []
    advance = pile.advance

    def recording_advance(*args):
        groups, done = advance(*args)
        if done is not None:
            popped.append((done.first_frame, done.valid, done.level))
        return groups, done

    monkeypatch.setattr(pile, "advance", recording_advance)
    image, conditions = random_images(rng, 1, 64)[0], list(random_images(rng, 10, 64))
    frames = list(tiny_pipeline.render(image, conditions, seed=3))
    assert len(frames) == 10 and all(f.shape == (64, 64, 3) and f.dtype == np.uint8 for f in frames)
    assert popped == [(0, 4, 4), (4, 4, 4), (8, 2, 4)]  # input order; the padded last group emits only 2
    # render is exactly step + drain on one stream
    stream = tiny_pipeline.new_stream(tiny_pipeline.encode_reference(image), seed=3)
    manual = [tiny_pipeline.step(stream, np.stack(conditions[i:i + 4])) for i in range(0, 10, 4)]
    manual += list(tiny_pipeline.drain(stream))
    np.testing.assert_array_equal(np.concatenate(manual), np.stack(frames))


def test_same_seed_same_frames_and_streams_are_isolated(tiny_pipeline, rng):
    ref_a, ref_b = (tiny_pipeline.encode_reference(random_images(rng, 1, 64)[0]) for _ in range(2))
    inputs = [random_images(rng, 4, 64) for _ in range(6)]
    alone = tiny_pipeline.new_stream(ref_a, seed=7)
    expected = [tiny_pipeline.step(alone, x) for x in inputs]
    a, b = tiny_pipeline.new_stream(ref_a, seed=7), tiny_pipeline.new_stream(ref_b, seed=8)
    for x, want in zip(inputs, expected):
        tiny_pipeline.step(b, x[::-1].copy())
        np.testing.assert_array_equal(tiny_pipeline.step(a, x), want)
        tiny_pipeline.step(b, x)
    other_seed = tiny_pipeline.new_stream(ref_a, seed=8)
    got = [tiny_pipeline.step(other_seed, x) for x in inputs]
    assert not np.array_equal(got[-1], expected[-1])


def test_reference_swap_mid_stream_changes_later_frames(tiny_pipeline, rng):
    ref_a, ref_b = (tiny_pipeline.encode_reference(random_images(rng, 1, 64)[0]) for _ in range(2))
    inputs = [random_images(rng, 4, 64) for _ in range(6)]
    keep, swap = tiny_pipeline.new_stream(ref_a, seed=1), tiny_pipeline.new_stream(ref_a, seed=1)
    outs = []
    for i, x in enumerate(inputs):
        if i == 4:
            swap.reference = ref_b
        outs.append((tiny_pipeline.step(keep, x), tiny_pipeline.step(swap, x)))
    np.testing.assert_array_equal(outs[3][0], outs[3][1])
    assert not np.array_equal(outs[4][0], outs[4][1])


def test_a_stream_may_run_a_shallower_pile(tiny_pipeline, rng):
    reference = tiny_pipeline.encode_reference(random_images(rng, 1, 64)[0])
    stream = tiny_pipeline.new_stream(reference, seed=2, frames_per_group=1)
    frames_seen: list[int] = []
    hook = tiny_pipeline.models.unet.register_forward_pre_hook(lambda m, a: frames_seen.append(a[0].shape[2]))
    try:
        outs = [tiny_pipeline.step(stream, random_images(rng, 1, 64)) for _ in range(6)]
    finally:
        hook.remove()
    groups = tiny_pipeline.config.pile.num_groups
    assert frames_seen == [1, 2, 3, 4, 4, 4] and groups == 4  # the UNet sees the whole (shallower) pile
    assert [len(o) for o in outs] == [0, 0, 0, 1, 1, 1]  # a frame leaves `groups` calls after it entered
    with pytest.raises(ValueError, match="1..1"):
        tiny_pipeline.step(stream, random_images(rng, 2, 64))
    with pytest.raises(ValueError, match="positive integer"):
        tiny_pipeline.new_stream(reference, frames_per_group=0)
    with pytest.raises(ValueError, match="temporal position table"):
        tiny_pipeline.new_stream(reference, frames_per_group=1000)
    assert tiny_pipeline.new_stream(reference).frames_per_group == tiny_pipeline.frames_per_group == 4


def test_a_stream_may_run_fewer_groups_on_the_trained_timesteps(tiny_pipeline, rng):
    reference = tiny_pipeline.encode_reference(random_images(rng, 1, 64)[0])
    conditions = [random_images(rng, 2, 64) for _ in range(5)]
    stream = tiny_pipeline.new_stream(reference, seed=3, frames_per_group=2, num_groups=2)
    seen, handle = record_timesteps(tiny_pipeline)
    try:
        outs = [tiny_pipeline.step(stream, c) for c in conditions]
    finally:
        handle.remove()
    assert stream.num_groups == 2 and tiny_pipeline.config.pile.num_groups == 4
    assert seen == [[999] * 2] + [[499] * 2 + [999] * 2] * 4  # levels 999 and 499 of the trained 999/749/499/249
    assert [len(o) for o in outs] == [0, 2, 2, 2, 2]  # a frame leaves 2 calls after it entered
    # the same frames as a pipeline built for that pile shape (the CLIs' --num-groups)
    shaped = RainPipeline(tiny_pipeline.models, tiny_pipeline.config.with_pile_shape(2, 2), tiny_pipeline.precision)
    other = shaped.new_stream(shaped.encode_reference(random_images(np.random.default_rng(0), 1, 64)[0]), seed=3)
    other.reference = stream.reference
    np.testing.assert_array_equal(np.concatenate(outs), np.concatenate([shaped.step(other, c) for c in conditions]))
    assert other.num_groups == 2 and shaped.new_stream(reference, num_groups=4).num_groups == 4  # trained: 4
    for bad in (0, 5, True, 2.0, "2"):
        with pytest.raises(ValueError, match="from 1 to 4"):
            tiny_pipeline.new_stream(reference, num_groups=bad)
    assert tiny_pipeline.new_stream(reference).num_groups == 4


def test_bad_inputs_get_clear_errors(tiny_pipeline, rng):
    stream = tiny_pipeline.new_stream(tiny_pipeline.encode_reference(random_images(rng, 1, 64)[0]))
    with pytest.raises(ValueError, match="64x64"):
        tiny_pipeline.step(stream, random_images(rng, 4, 32))
    with pytest.raises(ValueError, match="1..4"):
        tiny_pipeline.step(stream, random_images(rng, 5, 64))
    with pytest.raises(ValueError, match="1..4"):
        tiny_pipeline.step(stream, random_images(rng, 0, 64))
    with pytest.raises(ValueError, match="uint8"):
        tiny_pipeline.step(stream, random_images(rng, 4, 64).astype(np.float32))
    with pytest.raises(ValueError, match="frames, H, W, 3"):
        tiny_pipeline.step(stream, random_images(rng, 1, 64)[0])
    with pytest.raises(ValueError, match="numpy array"):
        tiny_pipeline.encode_reference("face.png")
    with pytest.raises(ValueError, match="RGB"):
        tiny_pipeline.encode_reference(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        tiny_pipeline.encode_reference(np.zeros((0, 10, 3), np.uint8))
    assert stream.groups == () and stream.frames_in == 0  # nothing half-pushed


def test_memory_and_work_per_call_stay_flat_over_1000_calls(rng):
    config = dataclasses.replace(tiny(), pile=PileConfig(frames_per_group=2, num_groups=4))
    pipeline = RainPipeline.from_config(config, precision="fp32")
    stream = pipeline.new_stream(pipeline.encode_reference(random_images(rng, 1, 64)[0]))
    conditions = random_images(rng, 2, 64)
    frames_per_call, rss = [], []
    seen, handle = record_timesteps(pipeline)
    try:
        for call in range(1000):
            frames_per_call.append(len(pipeline.step(stream, conditions)))
            if call in (100, 999):
                rss.append(rss_mib())  # current resident memory, not the process's earlier peak
    finally:
        handle.remove()
    assert frames_per_call[3:] == [2] * 997
    assert all(len(t) == 8 for t in seen[3:])  # every UNet call sees exactly K frames
    assert len(stream.groups) == 3  # the pile never grows
    assert rss[1] - rss[0] < 20, f"resident memory grew {rss[1] - rss[0]:.1f} MiB over 900 calls"
