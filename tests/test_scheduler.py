import pytest
import torch
from diffusers import LCMScheduler
from diffusers.pipelines.latent_consistency_models.pipeline_latent_consistency_text2img import (
    LatentConsistencyModelPipeline,
)

from rain.config import SchedulerConfig
from rain.scheduler import PileSchedule, guidance_embedding, lcm_step, make_lcm_scheduler, trailing_timesteps

PUBLISHED = [999, 749, 499, 249]


def test_trailing_timesteps_match_the_published_schedule():
    assert trailing_timesteps(4, 1000).tolist() == PUBLISHED
    assert trailing_timesteps(1, 1000).tolist() == [999]
    with pytest.raises(ValueError, match="steps"):
        trailing_timesteps(0, 1000)


@pytest.mark.parametrize("prediction_type,zero_snr", [("v_prediction", True), ("epsilon", False), ("sample", True)])
def test_lcm_step_matches_diffusers_scalar_step(prediction_type, zero_snr):
    config = SchedulerConfig(prediction_type=prediction_type, rescale_betas_zero_snr=zero_snr)
    reference = make_lcm_scheduler(config)
    reference.set_timesteps(timesteps=PUBLISHED)
    schedule = PileSchedule.create(config, 4)
    sample = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    for i, t in enumerate(PUBLISHED):
        model_output = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(10 + i))
        expected = reference.step(model_output, t, sample, generator=torch.Generator().manual_seed(5))
        ours, denoised = lcm_step(sample, model_output, torch.full((2,), t), schedule.next_timesteps[[i, i]],
                                  schedule.alphas_cumprod, prediction_type, config.timestep_scaling,
                                  generator=torch.Generator().manual_seed(5))
        torch.testing.assert_close(ours, expected.prev_sample, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(denoised, expected.denoised, rtol=1e-5, atol=1e-5)
        sample = expected.prev_sample
    assert schedule.next_timesteps.tolist() == PUBLISHED[1:] + [-1]


def test_stepping_a_pile_equals_stepping_each_frame_alone():
    config = SchedulerConfig()
    schedule = PileSchedule.create(config, 4)
    gen = torch.Generator().manual_seed(0)
    sample, output, noise = (torch.randn(8, 4, 6, 6, generator=gen) for _ in range(3))
    levels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    args = (schedule.alphas_cumprod, config.prediction_type, config.timestep_scaling)
    together, _ = lcm_step(sample, output, schedule.timesteps[levels], schedule.next_timesteps[levels], *args,
                           noise=noise)
    for i, level in enumerate(levels):
        alone, _ = lcm_step(sample[i:i + 1], output[i:i + 1], schedule.timesteps[level:level + 1],
                            schedule.next_timesteps[level:level + 1], *args, noise=noise[i:i + 1])
        torch.testing.assert_close(together[i:i + 1], alone)
    # the last level returns the clean estimate: no noise is added
    last, denoised = lcm_step(sample[:1], output[:1], torch.tensor([249]), torch.tensor([-1]), *args, noise=noise[:1])
    torch.testing.assert_close(last, denoised)


@pytest.mark.parametrize("prediction_type", ["sample", "v_prediction", "epsilon"])
@pytest.mark.parametrize("strength", [1.0, 0.6])
def test_fused_pile_step_equals_lcm_step(prediction_type, strength):
    """`PileSchedule.step` (three passes, noise only for frames that stay noisy, bf16 model output) gives
    `lcm_step`'s frames; a pile whose levels are out of order is refused."""
    config = SchedulerConfig(prediction_type=prediction_type, rescale_betas_zero_snr=prediction_type != "epsilon")
    schedule = PileSchedule.create(config, 4, strength)
    gen = torch.Generator().manual_seed(1)
    sample, output, noise = (torch.randn(8, 4, 6, 6, generator=gen) for _ in range(3))
    output = output.bfloat16()  # what the UNet hands over under autocast
    levels = torch.tensor([3, 3, 2, 2, 1, 1, 0, 0])  # the pile's order: oldest (cleanest) first
    expected, _ = lcm_step(sample, output.float(), schedule.timesteps[levels], schedule.next_timesteps[levels],
                           schedule.alphas_cumprod, prediction_type, config.timestep_scaling, noise=noise)
    fused = schedule.step(sample, output, levels, noise=noise[2:])
    assert fused.dtype == torch.float32
    torch.testing.assert_close(fused, expected, rtol=1e-5, atol=1e-5)
    filling = schedule.step(sample[:4], output[:4], levels[4:], noise=noise[:4])  # no clean group yet
    torch.testing.assert_close(filling, lcm_step(sample[:4], output[:4].float(), schedule.timesteps[levels[4:]],
                                                 schedule.next_timesteps[levels[4:]], schedule.alphas_cumprod,
                                                 prediction_type, config.timestep_scaling, noise=noise[:4])[0],
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="sorted oldest first"):
        schedule.step(sample, output, levels.flip(0))


def test_unknown_prediction_type_is_refused():
    with pytest.raises(ValueError, match="prediction_type"):
        lcm_step(torch.zeros(1, 1), torch.zeros(1, 1), torch.tensor([999]), torch.tensor([-1]),
                 torch.ones(1000), "flow", 10.0)


def test_guidance_embedding_matches_diffusers_lcm_pipeline():
    w = torch.tensor([2.5, 1.0])
    expected = LatentConsistencyModelPipeline.get_guidance_scale_embedding(None, w, embedding_dim=512)
    torch.testing.assert_close(guidance_embedding(w, 512), expected)
    expected_odd = LatentConsistencyModelPipeline.get_guidance_scale_embedding(None, w, embedding_dim=17)
    torch.testing.assert_close(guidance_embedding(w, 17), expected_odd)


def test_zero_terminal_snr_schedule():
    alphas = PileSchedule.create(SchedulerConfig(), 4).alphas_cumprod
    assert alphas[-1] == 0 and alphas[0] > 0.99
    assert torch.equal(alphas, LCMScheduler(rescale_betas_zero_snr=True).alphas_cumprod)


def test_reference_input_replaces_only_pure_noise_frames():
    from rain.config import tiny
    from rain.scheduler import PileSchedule, reference_input

    schedule = PileSchedule.create(tiny().scheduler, 4)  # zero terminal SNR: level 0 holds no signal
    levels = torch.tensor([3, 3, 2, 2, 1, 1, 0, 0])
    pure = schedule.pure_noise(levels)
    assert pure.tolist() == [False] * 6 + [True] * 2
    x_t, reference = torch.randn(2, 4, 8, 5, 5), torch.randn(2, 4, 5, 5)
    out = reference_input(x_t, pure.expand(2, -1), reference)
    torch.testing.assert_close(out[:, :, :6], x_t[:, :, :6])
    torch.testing.assert_close(out[:, :, 6:], reference[:, :, None].expand(-1, -1, 2, -1, -1))


def test_reference_input_needs_zero_terminal_snr():
    import dataclasses

    from rain.config import PileConfig, tiny

    config = tiny()
    config = dataclasses.replace(config, pile=PileConfig(reference_input=True),
                                 scheduler=dataclasses.replace(config.scheduler, rescale_betas_zero_snr=False,
                                                               prediction_type="v_prediction"))
    with pytest.raises(ValueError, match="zero terminal SNR"):
        config.validate()
