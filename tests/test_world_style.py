"""The style world: deterministic styles, exemplar sharing the style, conditions, files."""
import json

import cv2
import imageio.v2 as imageio
import numpy as np
import pytest

from rain.conditioning.conditioner import render_condition
from rain.conditioning.config import ConditionConfig
from rain.worlds.body import Clip
from rain.worlds.cli import main as synth_main
from rain.worlds.config import StyleWorldConfig
from rain.worlds.style_filters import STYLES, apply_style, sample_style
from rain.worlds.style_sources import PhotoSource, load_photo
from rain.worlds.style_world import StyleWorld, make_clip, make_sequence

SIZE = 64


@pytest.fixture(scope="module")
def photo():
    return cv2.resize(load_photo("astronaut"), (128, 128), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("family", sorted(STYLES))
def test_each_style_runs_on_a_real_photo_and_is_deterministic(family, photo):
    style = sample_style(np.random.default_rng(0), (family,))
    out = apply_style(photo, style)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert np.array_equal(out, apply_style(photo.copy(), style))  # same params + content = same output
    assert not np.array_equal(out, photo)
    other = sample_style(np.random.default_rng(1), (family,))
    assert not np.array_equal(apply_style(photo, other), out)  # parameters matter


def test_deterministic_for_a_seed_and_seeds_differ():
    a, b, c = make_sequence(3, 4, SIZE), make_sequence(3, 4, SIZE), make_sequence(5, 4, SIZE)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.reference, b.reference)
    assert not np.array_equal(a.frames, c.frames)


def test_clip_shapes_and_conditions_are_the_content():
    clip = make_clip(np.random.default_rng(0), 4, SIZE)
    assert isinstance(clip, Clip)
    assert clip.frames.shape == clip.conditions.shape == (4, SIZE, SIZE, 3)
    assert clip.reference.shape == (SIZE, SIZE, 3) and clip.frames.dtype == np.uint8
    world = StyleWorld.from_seed(1, 3, SIZE)
    cfg = ConditionConfig(mode="style", resolution=SIZE)
    for t, (lm, cond, frame) in enumerate(world.frames()):
        content = world.content(t)
        assert np.array_equal(cond, render_condition(cfg, square=content))
        assert np.array_equal(frame, apply_style(content, world.style))
        assert not lm.has_face() and not lm.has_body()


def _palette_hist(img: np.ndarray) -> np.ndarray:
    h = cv2.calcHist([img], [0, 1, 2], None, [4, 4, 4], [0, 256] * 3).ravel()
    return h / h.sum()


def test_reference_differs_from_frames_but_shares_the_style():
    cfg = StyleWorldConfig(families=("palette",))
    world = StyleWorld.from_seed(2, 2, SIZE, cfg)
    frame, ref = world.frame(0), world.reference
    assert not np.array_equal(world.reference_content, world.content(0))
    assert not np.array_equal(ref, frame)
    # a palette style maps every pixel near its few palette colours: reference and frames share them
    pal = np.array(dict(world.style.params)["palette"], np.float32)
    for img in (ref, frame):
        d = np.linalg.norm(img.reshape(-1, 1, 3).astype(np.float32) - pal[None], axis=2).min(1)
        assert np.median(d) < 40
    other = StyleWorld.from_seed(3, 1, SIZE, cfg)
    same = np.abs(_palette_hist(ref) - _palette_hist(frame)).sum()
    diff = np.abs(_palette_hist(other.frame(0)) - _palette_hist(frame)).sum()
    assert same < diff


def test_photo_camera_moves_smoothly():
    src = PhotoSource(np.random.default_rng(0), 30, SIZE, StyleWorldConfig(), "coffee")
    frames = np.stack([src.frame(t) for t in range(30)]).astype(np.float32)
    step = np.abs(np.diff(frames, axis=0)).mean((1, 2, 3))
    assert step.max() < 12 and np.abs(frames[-1] - frames[0]).mean() > step.mean()


def test_cli_writes_style_files(tmp_path):
    out = tmp_path / "style"
    assert synth_main(["--world", "style", "--seed", "1", "--frames", "5", "--size", str(SIZE),
                       "--out", str(out)]) == 0
    assert (out / "reference.png").is_file() and (out / "reference_content.png").is_file()
    for name in ("conditions.mp4", "frames.mp4"):
        assert len(imageio.mimread(out / name, memtest=False)) == 5
    assert json.loads((out / "meta.json").read_text())["style"]["family"] in STYLES
