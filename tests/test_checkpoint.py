import numpy as np
import pytest
import torch

from conftest import random_images
from rain.checkpoint import load_models, save_models
from rain.config import tiny
from rain.pipeline import RainPipeline


def test_saved_models_reload_bit_for_bit(tmp_path, rng):
    original = RainPipeline.from_config(tiny(), seed=5, precision="fp32")
    for p in original.models.pose_guider.parameters():  # make the zero-initialised conv_out matter
        p.data.normal_(0, 0.1)
    save_models(original.models, original.config, tmp_path)
    models, config = load_models(tmp_path)
    reloaded = RainPipeline(models, config, precision="fp32")
    image, conditions = random_images(rng, 1, 64)[0], list(random_images(rng, 9, 64))
    a = list(original.render(image, conditions, seed=1))
    b = list(reloaded.render(image, conditions, seed=1))
    assert len(a) == 9 and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_incomplete_checkpoint_is_refused(tmp_path):
    pipeline = RainPipeline.from_config(tiny(), precision="fp32")
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_models(tmp_path)
    save_models(pipeline.models, pipeline.config, tmp_path)
    (tmp_path / "vae.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="vae.safetensors"):
        load_models(tmp_path)


def test_bf16_autocast_stays_close_to_fp32(rng):
    """bf16 is the fast path on AMX CPUs; autocast works (slowly) on any CPU, so this runs everywhere."""
    fp32 = RainPipeline.from_config(tiny(), seed=2, precision="fp32")
    bf16 = RainPipeline(fp32.models, fp32.config, precision="bf16")
    image = random_images(rng, 1, 64)[0]
    ref32, ref16 = fp32.encode_reference(image), bf16.encode_reference(image)
    torch.testing.assert_close(ref16.image_embeds.float(), ref32.image_embeds, rtol=0.05, atol=0.05)
    s32, s16 = fp32.new_stream(ref32, seed=0), bf16.new_stream(ref16, seed=0)
    for x in [random_images(rng, 4, 64) for _ in range(4)]:
        a, b = fp32.step(s32, x), bf16.step(s16, x)
    assert a.shape == b.shape == (4, 64, 64, 3)
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 8  # of 255
