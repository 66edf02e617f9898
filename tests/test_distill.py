"""Stage 3, latent consistency distillation, on tiny random components: the solver step against diffusers'
DDIMScheduler, the boundary scalings against our LCM step, the teacher's guidance, the EMA target, and
the command from a band-trained teacher to an exported few-step student."""

import dataclasses

import pytest
import torch
from diffusers import DDIMScheduler

from rain.__main__ import main as rain_main
from rain.checkpoint import load_models, save_models
from rain.config import SchedulerConfig, tiny
from rain.models import build_models
from rain.models.vae import encode
from rain.scheduler import alphas_cumprod, guidance_embedding, lcm_step
from rain.train.data import ClipStream
from rain.train.distill import (DistillObjective, boundary_scalings, ddim_step, parse_guidance,
                                x0_and_epsilon)
from rain.train.objective import band_timesteps, denoise, pile_levels


@pytest.mark.parametrize("prediction_type", ["v_prediction", "epsilon", "sample"])
def test_solver_step_matches_diffusers_ddim(prediction_type):
    zero_snr = prediction_type != "epsilon"
    config = SchedulerConfig(prediction_type=prediction_type, rescale_betas_zero_snr=zero_snr)
    ddim = DDIMScheduler(num_train_timesteps=1000, beta_start=config.beta_start, beta_end=config.beta_end,
                         beta_schedule=config.beta_schedule, prediction_type=prediction_type,
                         rescale_betas_zero_snr=zero_snr, clip_sample=False, set_alpha_to_one=True)
    ddim.set_timesteps(50)  # prev timestep = t - 20, our solver_step
    alphas = alphas_cumprod(config)
    t = torch.tensor([[999 if zero_snr else 979, 640, 300, 21]])  # (b=1, f=4) one frame per band
    x_t, out = torch.randn(1, 3, 4, 5, 5, dtype=torch.float64), torch.randn(1, 3, 4, 5, 5, dtype=torch.float64)
    x0, eps = x0_and_epsilon(x_t, out, alphas.double()[t], prediction_type)
    ours = ddim_step(x0, eps, alphas.double()[t - 20])
    for i in range(4):
        ref = ddim.step(out[:, :, i], int(t[0, i]), x_t[:, :, i], eta=0.0).prev_sample
        torch.testing.assert_close(ours[:, :, i], ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("prediction_type", ["v_prediction", "epsilon", "sample"])
def test_consistency_output_is_the_lcm_steps_denoised(prediction_type):
    config = dataclasses.replace(tiny().scheduler, prediction_type=prediction_type,
                                 rescale_betas_zero_snr=prediction_type != "epsilon")
    alphas = alphas_cumprod(config)
    t = torch.tensor([[999 if config.rescale_betas_zero_snr else 980, 700, 333, 42]])
    x_t, out = torch.randn(1, 3, 4, 6, 6), torch.randn(1, 3, 4, 6, 6)
    c_skip, c_out = boundary_scalings(t, config.timestep_scaling, 5)
    ours = c_skip * x_t + c_out * x0_and_epsilon(x_t, out, alphas[t], config.prediction_type)[0]
    flat = lambda x: x.transpose(1, 2).flatten(0, 1)  # noqa: E731 (b*f, c, h, w)
    _, denoised = lcm_step(flat(x_t), flat(out), t.flatten(), t.flatten() - 100, alphas, config.prediction_type,
                           config.timestep_scaling, noise=torch.zeros(4, 3, 6, 6))
    torch.testing.assert_close(flat(ours), denoised, rtol=1e-5, atol=1e-6)


def test_band_timesteps_keep_the_pile_stepped():
    levels = pile_levels(4, 2, 4).expand(500, -1)  # [3, 3, 2, 2, 1, 1, 0, 0]
    t = band_timesteps(levels, 4, 1000, 20, torch.Generator().manual_seed(0))
    assert torch.equal(t[:, 0::2], t[:, 1::2])  # a group's frames share a timestep
    assert bool((t[:, :-2] < t[:, 2:]).all())  # oldest group cleanest
    lows, highs = t[:, 0::2].min(0).values.tolist(), t[:, 0::2].max(0).values.tolist()
    assert lows == [29, 259, 509, 759] and highs == [249, 499, 749, 999]  # a 20-grid hanging from the pile's timesteps
    assert bool(((t + 1) % 10 == 0).all())  # on the grid
    assert 0.04 < (t[:, -1] == 999).float().mean() < 0.12  # t = 999 (pure noise) drawn ~1 in 13


def test_guidance_text_is_checked():
    assert parse_guidance("") is None and parse_guidance("1") == (1.0, 1.0) and parse_guidance("1.5,3") == (1.5, 3.0)
    for bad in ("abc", "3,1.5", "0.5", "1,2,3"):
        with pytest.raises(ValueError, match="guidance must be"):
            parse_guidance(bad)


def _objective(guidance=None, ema=0.5):
    config = tiny()
    teacher, student = build_models(config, seed=1), build_models(config, seed=2)
    for p in teacher.pose_guider.conv_out.parameters():  # zero-initialised: give the teacher a pose signal
        torch.nn.init.normal_(p, std=0.1)
    objective = DistillObjective(teacher, student, config, solver_step=20, guidance=guidance, ema=ema)
    batch = {k: v[None] for k, v in next(iter(ClipStream("body", config.pile.num_frames, config.resolution, 3))).items()}
    levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]
    return objective, batch, levels


def test_the_teacher_is_guided_uncond_plus_w_times_the_difference():
    objective, batch, _ = _objective(guidance=(2.0, 3.0))
    ref = encode(objective.vae, batch["reference"])  # (1, c, h, w)
    f = batch["frames"].shape[2]
    x_t = torch.randn(1, ref.shape[1], f, *ref.shape[2:])
    t = torch.tensor([[900] * (f // 2) + [600] * (f - f // 2)])
    with torch.no_grad():
        x0, _ = objective._teacher(x_t, t, batch["reference"], ref, batch["conditions"], torch.tensor([2.5]))
        fixed = guidance_embedding(torch.tensor([objective.config.scheduler.guidance_scale]),
                                   objective.config.unet.time_cond_proj_dim)
        kind, alphas = objective.config.scheduler.prediction_type, objective.alphas[t]
        one = lambda u: x0_and_epsilon(x_t, denoise(objective.teacher, objective.config, x_t, t, alphas == 0,  # noqa: E731
                                                    batch["reference"], ref, batch["conditions"], fixed, u), alphas, kind)[0]
        cond, uncond = one(False), one(True)
    assert not torch.allclose(cond, uncond)  # the unconditional pass really hides the reference
    torch.testing.assert_close(x0, uncond + 2.5 * (cond - uncond))


def test_only_the_student_learns_and_the_target_follows_it():
    objective, batch, levels = _objective(ema=0.75)
    teacher_before = [p.clone() for p in objective.teacher.parameters()]
    objective.train()
    assert objective.unet.training and not any(m.training for m in (objective.teacher, objective.target, objective.vae))
    loss = objective(batch, levels, torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    assert all(p.grad is None for p in objective.teacher.parameters())
    assert all(p.grad is None for p in objective.target.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in objective.unet.parameters())
    assert all(torch.equal(a, b) for a, b in zip(teacher_before, objective.teacher.parameters()))
    target = dict(objective.target.named_parameters())["unet.conv_out.weight"].clone()
    with torch.no_grad():
        objective.unet.conv_out.weight.add_(1.0)
    objective.update_target()  # ema 0.75: a quarter of the way to the student
    torch.testing.assert_close(dict(objective.target.named_parameters())["unet.conv_out.weight"],
                               0.75 * target + 0.25 * objective.unet.conv_out.weight)


def test_a_few_steps_lower_the_distillation_loss_on_a_fixed_batch():
    objective, batch, levels = _objective(ema=0.0)  # the target is the student itself: a pure fit
    optimizer = torch.optim.AdamW([p for p in objective.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(20):
        loss = objective.train()(batch, levels, torch.Generator().manual_seed(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        objective.update_target()  # what the training loop's after_step does
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses


def test_band_teacher_then_distill_command(tmp_path):
    config = tiny()
    pipeline_models = build_models(config, seed=0)
    save_models(pipeline_models, config, tmp_path / "init")
    common = ["--batch-size", "1", "--save-every", "2", "--log-every", "1", "--mixed-precision", "no"]
    assert rain_main(["train", "--stage", "pile", "--init", str(tmp_path / "init"), "--out", str(tmp_path / "teacher"),
                      "--steps", "2", "--timesteps", "bands", "--cond-drop", "0.5", *common]) == 0
    teacher = tmp_path / "teacher" / "model"
    args = ["train", "--stage", "distill", "--teacher", str(teacher), "--out", str(tmp_path / "student"),
            "--guidance", "2", *common]
    assert rain_main([*args, "--steps", "2"]) == 0
    assert rain_main([*args, "--steps", "3"]) == 0  # resumes at step 2, the EMA target with it
    rows = (tmp_path / "student" / "log.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]
    models, student_config = load_models(tmp_path / "student" / "model")
    assert student_config.scheduler.guidance_scale == 2.0  # what the student embeds
    assert dataclasses.replace(student_config, scheduler=config.scheduler) == config
    from safetensors.torch import load_file
    state = load_file(str(tmp_path / "student" / "state" / "model.safetensors"))
    target_keys = [k for k in state if k.startswith("target.")]
    assert target_keys and any(not torch.equal(state[k], state[k.replace("target.", "teacher.", 1)]) for k in target_keys)
    with pytest.raises(ValueError, match="needs --teacher"):
        rain_main(["train", "--stage", "distill", "--out", str(tmp_path / "x"), "--steps", "1", *common])
    with pytest.raises(ValueError, match="--context-jitter do not apply"):
        rain_main([*args, "--steps", "4", "--context-jitter", "0.1"])


def test_after_step_runs_once_per_optimiser_step_under_accumulation(tmp_path):
    """The EMA target must move once per real step, not once per micro-batch of gradient accumulation."""
    from rain.train import loop
    from rain.train.config import TrainConfig

    module = torch.nn.Linear(2, 1)
    calls = []
    batches = iter(lambda: {"x": torch.randn(3, 2)}, None)
    cfg = TrainConfig(stage="pile", steps=6, grad_accum=3, save_every=100, log_every=100, mixed_precision="no")
    loop.run(cfg, module, batches, lambda m, b, g: {"loss": m(b["x"]).pow(2).mean()}, tmp_path,
             after_step=lambda m: calls.append(m))
    assert len(calls) == 2
