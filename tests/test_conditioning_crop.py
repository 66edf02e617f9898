"""Frame validation, centre crop and resize (rain/conditioning/crop.py)."""
import numpy as np
import pytest

from rain.conditioning.config import ConditionConfig
from rain.conditioning.crop import center_crop, crop_box, prepare_frame, to_rgb_uint8


def test_rgb_uint8_passes_through_unchanged():
    frame = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    out = to_rgb_uint8(frame)
    assert out.dtype == np.uint8 and out.shape == (7, 9, 3)
    np.testing.assert_array_equal(out, frame)


@pytest.mark.parametrize("shape", [(6, 8), (6, 8, 1)])
def test_grayscale_is_replicated(shape):
    gray = np.arange(48, dtype=np.uint8).reshape(shape)
    out = to_rgb_uint8(gray)
    assert out.shape == (6, 8, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], gray.reshape(6, 8))


def test_rgba_is_composited_over_black():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[0, 0, 3], rgba[0, 1, 3], rgba[1, :, 3] = 255, 0, 128
    out = to_rgb_uint8(rgba)
    assert out.shape == (2, 2, 3)
    assert list(out[0, 0]) == [200] * 3  # opaque: unchanged
    assert list(out[0, 1]) == [0] * 3  # transparent: black
    assert abs(int(out[1, 0, 0]) - 100) <= 1  # half: half


def test_uint16_is_scaled_to_8_bits():
    frame = np.array([[[0, 257, 65535]]], np.uint16)
    np.testing.assert_array_equal(to_rgb_uint8(frame), [[[0, 1, 255]]])


@pytest.mark.parametrize("bad, words", [
    (None, "None"),
    ([[1, 2]], "numpy array"),
    (np.zeros((0, 5, 3), np.uint8), "empty"),
    (np.zeros((4, 4, 2), np.uint8), "channels"),
    (np.zeros((4, 4, 3, 1), np.uint8), r"got \(4, 4, 3, 1\)"),
    (np.zeros((4, 4, 3), np.float32), "float32"),
    (np.zeros((4, 4, 3), bool), "bool"),
    (np.zeros((4, 4, 3), np.int32), "int32"),
])
def test_invalid_frames_raise_with_a_useful_message(bad, words):
    with pytest.raises(ValueError, match=words):
        to_rgb_uint8(bad)


def test_center_crop_is_the_centred_square_of_the_short_side():
    frame = np.zeros((480, 640, 3), np.uint8)
    top, left, side = crop_box(480, 640, 0.9)
    assert side == 432 and top == 24 and left == 104
    frame[top:top + side, left:left + side] = 1
    crop = center_crop(frame, 0.9)
    assert crop.shape == (432, 432, 3) and crop.min() == 1
    # portrait frames crop the same way along the other axis
    assert crop_box(640, 480, 1.0) == (80, 0, 480)


def test_prepare_frame_any_size_gives_the_model_resolution():
    for shape in [(1, 1, 3), (3, 500, 3), (2160, 3840, 3), (480, 640), (720, 1280, 4)]:
        frame = np.full(shape, 77, np.uint8)
        out = prepare_frame(frame, 0.9, 64)
        assert out.shape == (64, 64, 3) and out.dtype == np.uint8
        if len(shape) == 3 and shape[2] == 4:
            assert out.max() == 77 * 77 // 255 + (1 if 77 * 77 % 255 > 127 else 0)
        else:
            assert out.min() == out.max() == 77


def test_crop_keeps_content_position_normalised():
    """A dot at the frame centre stays at the crop centre for any crop ratio."""
    frame = np.zeros((300, 500, 3), np.uint8)
    frame[148:152, 248:252] = 255
    for ratio in (0.5, 0.9, 1.0):
        out = prepare_frame(frame, ratio, 100)
        ys, xs = np.nonzero(out[..., 0] > 60)
        assert abs(ys.mean() - 49.5) < 1.5 and abs(xs.mean() - 49.5) < 1.5


def test_config_validates_and_documents_the_demo_crop_ratio():
    assert ConditionConfig().crop_ratio == 0.9
    with pytest.raises(ValueError):
        ConditionConfig(crop_ratio=0.0)
    with pytest.raises(ValueError):
        ConditionConfig(mode="hands")
    with pytest.raises(ValueError):
        ConditionConfig(smoothing=1.5)
    with pytest.raises(ValueError, match="backend"):
        ConditionConfig(backend="openpose")
