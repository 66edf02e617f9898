"""img2img entry (style transfer): the live frame's latent, noised to a strength, enters the pile."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import random_images
from rain.config import PileConfig, tiny
from rain.models.vae import encode
from rain.images import to_tensor
from rain.pipeline import RainPipeline
from rain.scheduler import alphas_cumprod, lcm_step, strength_timesteps, trailing_timesteps
from rain.train.config import TrainConfig
from rain.train.data import ClipStream
from rain.train.objective import RainObjective, pile_levels, prediction_target
from rain.train.stages import with_pile_settings
from rain.models import build_models


def latent_config(strength: float = 0.6, strength_min: float = 0.4):
    cfg = tiny()
    return dataclasses.replace(cfg, pile=dataclasses.replace(cfg.pile, entry="latent", strength=strength,
                                                             strength_min=strength_min))


def test_strength_lays_out_the_levels_below_it():
    assert torch.equal(strength_timesteps(4, 1000, torch.tensor(1.0)), trailing_timesteps(4, 1000))
    assert strength_timesteps(4, 1000, torch.tensor([0.6, 0.4])).tolist() == [[599, 449, 299, 149],
                                                                                [399, 299, 199, 99]]
    for bad in (0.0, 0.003, 1.2):
        with pytest.raises(ValueError, match="strength"):
            strength_timesteps(4, 1000, torch.tensor(bad))


@pytest.mark.parametrize("prediction_type", ["sample", "v_prediction", "epsilon"])
def test_entry_targets_lead_back_to_the_clean_frame(prediction_type):
    """The entering group's x_t is the condition latent noised; its v / epsilon target must still give x_0
    through the sampler's own x_0 formula (`lcm_step`)."""
    alphas = torch.tensor([[0.05, 0.3, 0.9]])  # (b, f) at three timesteps
    table = torch.cat([torch.ones(1), alphas[0]])  # alphas_cumprod indexed by timesteps 1..3
    x0, x_t = torch.randn(2, 1, 4, 3, 2, 2, generator=torch.Generator().manual_seed(0)).unbind(0)
    target = prediction_target(x_t, x0, alphas, prediction_type)
    frames = lambda x: x[0].transpose(0, 1)  # (f, c, h, w)
    _, denoised = lcm_step(frames(x_t), frames(target), torch.tensor([1, 2, 3]), torch.tensor([-1, -1, -1]),
                           table, prediction_type, timestep_scaling=1e6)  # c_skip ~ 0: denoised = x_0 estimate
    torch.testing.assert_close(denoised, frames(x0), rtol=1e-4, atol=1e-4)


def test_config_refuses_a_strength_the_entry_cannot_use():
    with pytest.raises(ValueError, match="entry"):
        PileConfig(entry="camera").validate(32)
    with pytest.raises(ValueError, match="strength_min < 1 needs entry='latent'"):
        PileConfig(strength_min=0.5).validate(32)
    with pytest.raises(ValueError, match="strength_min <= strength"):
        PileConfig(entry="latent", strength=0.3, strength_min=0.5).validate(32)
    with pytest.raises(ValueError, match="fewer than 4 of the 1000 timesteps"):
        latent_config(strength=0.5, strength_min=0.002).validate()


def test_the_entering_group_is_the_noised_latent_of_the_condition(rng):
    config = latent_config()
    pipeline = RainPipeline.from_config(config, seed=0, precision="fp32")
    stream = pipeline.new_stream(pipeline.encode_reference(random_images(rng, 1, 64)[0]), seed=5)
    conditions = random_images(rng, 4, 64)
    noise = torch.randn((1, 4, 4, 8, 8), generator=torch.Generator().manual_seed(5))  # the stream's first draw
    group = pipeline._new_group(stream, stream.schedule, conditions)
    a = alphas_cumprod(config.scheduler)[599]  # top level at strength 0.6
    content = encode(pipeline.models.vae, to_tensor(conditions)).transpose(0, 1)[None]
    torch.testing.assert_close(group.latents, a.sqrt() * content + (1 - a).sqrt() * noise)


def test_the_live_frame_reaches_the_output_through_the_latent_alone(rng):
    """The pose guider's output conv is zero at init, so conditions can only act through the latent entry:
    two different content clips give different frames with it, identical frames without it."""
    reference, clip_a, clip_b = random_images(rng, 1, 64)[0], random_images(rng, 8, 64), random_images(rng, 8, 64)
    for config, differ in ((latent_config(), True), (tiny(), False)):
        pipeline = RainPipeline.from_config(config, seed=0, precision="fp32")
        a = np.stack(list(pipeline.render(reference, clip_a, seed=1)))
        b = np.stack(list(pipeline.render(reference, clip_b, seed=1)))
        assert a.shape == b.shape == (8, 64, 64, 3)
        assert (not np.array_equal(a, b)) == differ, config.pile.entry


def test_strength_is_per_stream_and_checked(rng):
    pipeline = RainPipeline.from_config(latent_config(), seed=0, precision="fp32")
    reference = pipeline.encode_reference(random_images(rng, 1, 64)[0])
    default, strong = pipeline.new_stream(reference), pipeline.new_stream(reference, strength=0.9)
    assert default.strength == 0.6 and default.schedule.timesteps.tolist() == [599, 449, 299, 149]
    assert strong.schedule.timesteps.tolist() == [899, 674, 449, 224]
    for bad in (0.2, 1.5, float("nan"), True, "0.5"):
        with pytest.raises(ValueError, match=r"strength must be a number in \[0.4, 1\]"):
            pipeline.set_strength(default, bad)
    noise_model = RainPipeline.from_config(tiny(), seed=0, precision="fp32")
    with pytest.raises(ValueError, match="takes no strength"):
        noise_model.new_stream(noise_model.encode_reference(random_images(rng, 1, 64)[0]), strength=0.5)


def test_training_sees_the_content_latent_in_the_newest_group():
    """With the latent entry the loss depends on the condition images even while the pose guider is shut."""
    config = with_pile_settings(tiny(), TrainConfig(entry="latent", strength_min=0.4, strength=0.7))
    assert (config.pile.entry, config.pile.strength_min, config.pile.strength) == ("latent", 0.4, 0.7)
    objective = RainObjective(build_models(config, seed=0), config)
    batch = {k: v[None] for k, v in next(iter(ClipStream("style", config.pile.num_frames, 64, seed=2))).items()}
    levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]
    timesteps = objective.frame_timesteps(levels.expand(64, -1), torch.Generator().manual_seed(0))
    top = timesteps[:, -1]  # the newest frame: level 0, at the clip's strength * 1000 - 1
    assert top.min() >= 399 and top.max() <= 999 and len(set(top.tolist())) > 20
    loss = objective(batch, levels, torch.Generator().manual_seed(0))
    other = dict(batch, conditions=batch["conditions"].flip(-1))
    assert objective(other, levels, torch.Generator().manual_seed(0)) != loss
    assert with_pile_settings(config, TrainConfig(entry="noise")).pile.strength_min == 1.0


def test_live_session_keeps_its_strength_across_restarts(rng):
    from rain.conditioning import ConditionConfig
    from rain.live import LiveSession
    pipeline = RainPipeline.from_config(latent_config(), seed=0, precision="fp32")
    session = LiveSession(pipeline, ConditionConfig(mode="style", resolution=64), overlap=False)
    with pytest.raises(ValueError, match="strength must be"):
        session.set_strength(0.1)
    session.set_strength(0.8)  # before the first reference: applied when the stream starts
    session.set_reference(random_images(rng, 1, 64)[0])
    assert session.stream.strength == 0.8 and session.stream.schedule.timesteps[0] == 799
    run = [session.push(random_images(rng, 1, 64)[0], now=0.1 * i) for i in range(8)]
    assert session.stream.groups and run[-1].image is None
    with pytest.raises(ValueError, match="cannot change"):  # the library refuses a running pile ...
        pipeline.set_strength(session.stream, 0.5)
    session.set_strength(0.5)  # ... the session restarts it at the new strength
    assert session.stream.groups == () and session.stream.schedule.timesteps.tolist() == [499, 374, 249, 124]
    session.reset(seed=3)
    assert session.stream.strength == 0.5
    frames = [session.push(random_images(rng, 1, 64)[0], now=0.1 * i) for i in range(20)]
    assert sum(f.image is not None for f in frames) > 0


def test_style_tab_shows_a_strength_slider_only_for_latent_models(tmp_path):
    import app
    from rain.checkpoint import save_models
    from rain.weights.runtime import write_conditioning
    folders = {}
    for name, config in (("latent", latent_config(0.7, 0.45)), ("noise", tiny())):
        pipeline = RainPipeline.from_config(config, seed=0, precision="fp32")
        save_models(pipeline.models, pipeline.config, tmp_path / name)
        write_conditioning(tmp_path / name, "style")
        folders[name] = str(tmp_path / name)
    for name, expected in (("latent", [(0.45, 1.0, 0.7)]), ("noise", [])):
        demo = app.build_demo({"body": folders["noise"], "face": folders["noise"], "style": folders[name]})
        sliders = [(c["props"]["minimum"], c["props"]["maximum"], c["props"]["value"])
                   for c in demo.config["components"] if c.get("props", {}).get("label") == "Strength"]
        assert sliders == expected, name
