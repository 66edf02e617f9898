"""Deep rollout (`--rollout P --rollout-depth D`): older groups built by D UNet calls of the model itself, from
the pile's entry (the noised condition latent for an img2img model) or from noised truth D levels up."""

import dataclasses

import pytest
import torch

from conftest import record_unet
from rain.config import tiny
from rain.models import build_models
from rain.models.vae import encode
from rain.scheduler import lcm_step, strength_timesteps
from rain.train.config import TrainConfig
from rain.train.data import ClipStream
from rain.train.objective import RainObjective, add_noise, pile_levels, prediction_target
from rain.train.stages import with_pile_settings


def latent_entry(prediction_type: str):
    config = with_pile_settings(tiny(), TrainConfig(entry="latent", strength_min=0.4, strength=0.7))
    return dataclasses.replace(config, scheduler=dataclasses.replace(config.scheduler, prediction_type=prediction_type))


def latents_of(models, clip: torch.Tensor) -> torch.Tensor:  # (1, 3, f, S, S) -> (1, c, f, h, w)
    return encode(models.vae, clip.transpose(1, 2).flatten(0, 1)).unflatten(0, (1, -1)).transpose(1, 2).float()


@pytest.mark.parametrize("prediction_type", ["sample", "v_prediction"])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_rollout_steps_each_group_down_from_its_entry(prediction_type, depth):
    """With a UNet that predicts exactly the truth (a forward hook: the oracle stands in for a trained model),
    a latent-entry pile rolled out `depth` calls must (1) start every frame `depth` levels up, as noised truth
    there or, at or above the entry, as the condition latent noised to the clip's top level, (2) keep waiting
    frames at the entry, and (3) hand the trained call its older groups as the last LCM step made them."""
    config = latent_entry(prediction_type)
    batch = {k: v[None] for k, v in next(iter(ClipStream("style", config.pile.num_frames, config.resolution, 4))).items()}
    levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]  # (1, f)
    models = build_models(config, seed=0)
    answers = {}
    inputs = record_unet(models, lambda x_t, t: answers["target"](x_t, t))
    x0, content = latents_of(models, batch["frames"]), latents_of(models, batch["conditions"])
    objective = RainObjective(models, config, rollout=1.0, rollout_depth=depth)
    answers["target"] = lambda x_t, t: prediction_target(x_t, x0, objective.alphas[t.reshape(1, -1)], prediction_type)
    objective(batch, levels, torch.Generator().manual_seed(5))
    assert len(inputs) == depth + 1  # the rolled-out calls (no gradient), then the trained call

    g = torch.Generator().manual_seed(5)  # the objective's draws in order: the clip's strength, noise, the coin,
    u = torch.rand((1,), generator=g)  # then the rollout's start noise and one noise per call
    noise, _ = torch.randn(x0.shape, generator=g), torch.rand((), generator=g)
    start_noise = torch.randn(x0.shape, generator=g)
    call_noise = [torch.randn(x0.shape, generator=g) for _ in range(depth)]
    table = strength_timesteps(config.pile.num_groups, 1000, 0.4 + 0.6 * u)  # (1, levels)
    alphas = lambda lv: objective.alphas[table.gather(1, lv.clamp(0, 3))]  # noqa: E731
    start = (levels - depth)[0]
    truth_start, entry_start = start > 0, start <= 0
    first = inputs[0]
    assert torch.allclose(first[:, :, truth_start], add_noise(x0, start_noise, alphas(levels - depth))[0][:, :, truth_start])
    entry = add_noise(content, start_noise, alphas(levels * 0))[0]
    assert torch.allclose(first[:, :, entry_start], entry[:, :, entry_start])
    for call in range(1, depth):  # frames not yet in the pile wait as the entry
        waiting = (start + call) < 0
        assert torch.allclose(inputs[call][:, :, waiting], entry[:, :, waiting])
    older, newest = levels[0] > 0, levels[0] == 0
    assert torch.allclose(inputs[-1][:, :, older], add_noise(x0, call_noise[-1], alphas(levels))[0][:, :, older], atol=1e-4)
    assert torch.equal(inputs[-1][:, :, newest], add_noise(content, noise, alphas(levels))[0][:, :, newest])


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_every_rolled_out_call_is_one_lcm_step_of_the_models_own_estimate(depth):
    """With a UNet whose estimate depends on its input (not an oracle, which would erase every earlier call),
    each call's frames in the pile must be the previous call's input stepped by `lcm_step` from the previous
    call's estimate, from their level then to the next, with that call's noise; waiting frames stay put."""
    config = latent_entry("sample")
    batch = {k: v[None] for k, v in next(iter(ClipStream("style", config.pile.num_frames, config.resolution, 4))).items()}
    levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]
    models = build_models(config, seed=0)
    outputs, x0 = [], latents_of(models, batch["frames"])

    def halfway(x_t, t):  # an estimate halfway between the input and the truth
        outputs.append(0.5 * x_t.detach() + 0.5 * x0)
        return outputs[-1]

    inputs = record_unet(models, halfway)
    objective = RainObjective(models, config, rollout=1.0, rollout_depth=depth)
    objective(batch, levels, torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)
    u = torch.rand((1,), generator=g)
    _, _, _ = torch.randn(x0.shape, generator=g), torch.rand((), generator=g), torch.randn(x0.shape, generator=g)
    call_noise = [torch.randn(x0.shape, generator=g) for _ in range(depth)]
    table = strength_timesteps(config.pile.num_groups, 1000, 0.4 + 0.6 * u)[0]  # (levels,)
    flat = lambda x: x[0].transpose(0, 1)  # noqa: E731 (1, c, f, h, w) -> (f, c, h, w)
    for call in range(depth):
        now = levels[0] - depth + call
        stepped, _ = lcm_step(flat(inputs[call]), flat(outputs[call]), table[now.clamp(0, 3)],
                              table[(now + 1).clamp(0, 3)], objective.alphas, "sample",
                              config.scheduler.timestep_scaling, noise=flat(call_noise[call]))
        moved = (now >= 0) & (levels[0] > 0)  # the trained call's newest group is fresh, not rolled out
        assert torch.allclose(flat(inputs[call + 1])[moved], stepped[moved], atol=1e-5)
        if call + 1 < depth:
            assert torch.equal(flat(inputs[call + 1])[now < 0], flat(inputs[call])[now < 0])
    assert moved.sum() > 0


def test_a_depth_without_rollout_is_refused():
    with pytest.raises(ValueError, match="does nothing without rollout"):
        RainObjective(build_models(tiny(), seed=0), tiny(), rollout_depth=2)


@pytest.mark.parametrize("depth", [0, -1, 1.5, True, "2"])
def test_bad_rollout_depth_is_refused(depth):
    with pytest.raises(ValueError, match="rollout_depth"):
        RainObjective(build_models(tiny(), seed=0), tiny(), rollout=0.5, rollout_depth=depth)
