"""Int8 checkpoint storage (rain/quantize.py): round trip error bound, sizes, strict loading."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import random_images
from rain.checkpoint import load_models, save_models
from rain.config import tiny
from rain.pipeline import RainPipeline
from rain.quantize import SCALE_SUFFIX, decode_state, encode_state, quantize_tensor


def test_int8_round_trip_error_is_at_most_half_a_step():
    w = torch.randn(32, 16, 3, 3) * torch.logspace(-3, 0, 32).reshape(32, 1, 1, 1)  # channels of very different scale
    q, scale = quantize_tensor(w)
    assert q.dtype == torch.int8 and scale.shape == (32,) and scale.dtype == torch.float16
    back = decode_state({"w": q, "w" + SCALE_SUFFIX: scale})["w"]
    step = scale.float().reshape(32, 1, 1, 1)
    assert (back - w).abs().le(step / 2 + 1e-3 * step).all()  # per-channel scales: small channels stay accurate
    assert (back - w).abs().max() > 0  # it is lossy (a test that cannot fail would be no test)


def test_encode_keeps_small_and_integer_tensors_exact_in_kind():
    state = {"big": torch.randn(128, 64), "bias": torch.randn(128), "ids": torch.arange(5)}
    stored = encode_state(state, "int8")
    assert stored["big"].dtype == torch.int8 and "big" + SCALE_SUFFIX in stored
    assert stored["bias"].dtype == torch.float16 and stored["ids"].dtype == torch.int64
    assert set(decode_state(stored)) == set(state)
    with pytest.raises(ValueError, match="unknown storage"):
        encode_state(state, "int4")


def test_int8_checkpoint_is_smaller_and_renders_close_to_fp32(tmp_path, rng):
    original = RainPipeline.from_config(tiny(), seed=5, precision="fp32")
    for p in original.models.pose_guider.parameters():
        p.data.normal_(0, 0.1)
    save_models(original.models, original.config, tmp_path / "fp16", storage="float16")
    save_models(original.models, original.config, tmp_path / "int8", storage="int8")
    size = {k: (tmp_path / k / "unet.safetensors").stat().st_size for k in ("fp16", "int8")}
    assert size["int8"] < 0.8 * size["fp16"]  # the tiny preset has many small (fp16) tensors; cpu: ~0.5
    models, config = load_models(tmp_path / "int8")
    reloaded = RainPipeline(models, config, precision="fp32")
    image, conditions = random_images(rng, 1, 64)[0], list(random_images(rng, 9, 64))
    a = np.stack(list(original.render(image, conditions, seed=1))).astype(int)
    b = np.stack(list(reloaded.render(image, conditions, seed=1))).astype(int)
    assert np.abs(a - b).mean() < 2.0  # of 255


def test_corrupt_int8_file_is_refused_with_the_key(tmp_path):
    pipeline = RainPipeline.from_config(tiny(), precision="fp32")
    save_models(pipeline.models, pipeline.config, tmp_path, storage="int8")
    stored = load_file(str(tmp_path / "unet.safetensors"))
    key = next(k for k in stored if k.endswith(SCALE_SUFFIX))
    stored[key] = stored[key][:-1]  # one scale short
    save_file(stored, str(tmp_path / "unet.safetensors"))
    with pytest.raises(ValueError, match="scales"):
        load_models(tmp_path)
