"""The training recipe on the tiny config: losses fall, stages chain, runs resume, exports load."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from conftest import record_unet
from rain.checkpoint import load_models
from rain.config import tiny
from rain.models import build_models
from rain.pipeline import RainPipeline
from rain.train.config import TrainConfig
from rain.train.data import ClipStream
from rain.worlds.options import style_world_config
from rain.worlds.style_world import StyleWorld
from rain.models.vae import encode
from rain.train.objective import (RainObjective, add_noise, jitter_groups, pile_levels, prediction_target,
                                  sample_levels)
from rain.train.stages import train_autoencoder, train_rain


def test_pile_levels_match_the_stream_order():
    assert pile_levels(4, 2, 4).tolist() == [3, 3, 2, 2, 1, 1, 0, 0]  # full pile: oldest is cleanest
    assert pile_levels(4, 2, 2).tolist() == [1, 1, 0, 0]  # filling: the groups present are the noisiest
    g = torch.Generator().manual_seed(0)
    levels, keep = sample_levels(tiny(), 3, 16, fill_prob=0.0, single_frames=False, generator=g)
    assert keep == 16 and levels.shape == (3, 16)


def test_a_few_steps_lower_the_loss_on_a_fixed_batch():
    config = tiny()
    objective = RainObjective(build_models(config, seed=0), config).train()
    batch = next(iter(ClipStream("body", config.pile.num_frames, config.resolution, seed=3)))
    batch = {k: v[None] for k, v in batch.items()}
    levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]
    optimizer = torch.optim.AdamW([p for p in objective.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(25):
        loss = objective(batch, levels, torch.Generator().manual_seed(0))  # same noise: a pure fit
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses


def test_context_jitter_corrupts_older_groups_only_and_keeps_true_targets():
    g = torch.Generator().manual_seed(0)
    levels = pile_levels(4, 2, 4).expand(2, -1)  # [3, 3, 2, 2, 1, 1, 0, 0]
    out = jitter_groups(torch.full((2, 3, 8, 4, 4), 0.5), levels, 0.2, g)[..., 0, 0]  # (b, 3, f)
    assert torch.equal(out[:, :, 0::2], out[:, :, 1::2])  # one colour change per group
    assert not torch.allclose(out[0, :, 0], out[0, :, 2], atol=0.01)  # a different one for each group
    assert not torch.allclose(out[0], out[1], atol=0.01)  # and for each clip


def test_context_jitter_on_a_grid_varies_across_the_frame_and_grid_one_is_one_per_frame():
    levels = pile_levels(4, 2, 4).expand(2, -1)  # [3, 3, 2, 2, 1, 1, 0, 0]
    frames = torch.full((2, 3, 8, 64, 64), 0.5)
    flat = jitter_groups(frames, levels, 0.2, torch.Generator().manual_seed(0))
    assert torch.equal(flat, flat[..., :1, :1].expand_as(flat))  # grid 1: one colour change per frame
    local = jitter_groups(frames, levels, 0.2, torch.Generator().manual_seed(0), grid=4)
    assert torch.equal(local[:, :, 0::2], local[:, :, 1::2])  # still one field per group
    corners = local[..., 0, 0], local[..., -1, -1]
    assert (corners[0] - corners[1]).abs().max() > 0.05  # that changes across the frame
    assert (local[..., 1:, :] - local[..., :-1, :]).abs().max() < 0.1  # smoothly (bilinear over the grid)
    with pytest.raises(ValueError, match="jitter_grid"):
        RainObjective(build_models(tiny(), seed=0), tiny(), jitter_grid=4)  # a grid without any jitter


@pytest.mark.parametrize("prediction_type", ["sample", "v_prediction"])
def test_context_jitter_changes_older_inputs_and_never_the_targets(prediction_type):
    config = dataclasses.replace(tiny(), scheduler=dataclasses.replace(tiny().scheduler, prediction_type=prediction_type))
    batch = {k: v[None] for k, v in next(iter(ClipStream("body", config.pile.num_frames, config.resolution, 3))).items()}
    levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]
    models = build_models(config, seed=0)
    inputs, answers = [], {}

    def perfect(module, args, output):  # the UNet that predicts exactly the true target: x_0, or v of x_t and x_0
        inputs.append(args[0].detach().clone())
        return answers["target"](args[0])

    models.unet.register_forward_hook(perfect)
    x0 = encode(models.vae, batch["frames"].transpose(1, 2).flatten(0, 1)).unflatten(0, (1, -1)).transpose(1, 2)
    for jitter in (0.0, 0.3):
        objective = RainObjective(models, config, context_jitter=jitter)
        t = objective.timesteps[levels]
        answers["target"] = lambda x_t: prediction_target(x_t, x0, objective.alphas[t], prediction_type)
        assert objective(batch, levels, torch.Generator().manual_seed(5)).item() < 1e-8  # targets: the true frames
    older = levels[0] > 0
    assert torch.equal(inputs[0][:, :, ~older], inputs[1][:, :, ~older])  # the newest group is untouched
    assert not torch.allclose(inputs[0][:, :, older], inputs[1][:, :, older], atol=1e-4)  # older groups: wrong colours


@pytest.mark.parametrize("prediction_type", ["sample", "v_prediction"])
def test_rollout_steps_the_models_own_estimate_into_the_older_groups(prediction_type):
    """With a UNet that predicts exactly the truth (a forward hook: the oracle stands in for a trained model),
    the older groups must be what the pile's LCM step makes of it: x_0 noised to this call's level with the
    step's fresh noise; the newest group and the targets stay those of plain training."""
    config = dataclasses.replace(tiny(), scheduler=dataclasses.replace(tiny().scheduler, prediction_type=prediction_type))
    batch = {k: v[None] for k, v in next(iter(ClipStream("body", config.pile.num_frames, config.resolution, 3))).items()}
    levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]
    models = build_models(config, seed=0)
    answers = {}
    inputs = record_unet(models, lambda x_t, t: answers["target"](x_t, t))
    x0 = encode(models.vae, batch["frames"].transpose(1, 2).flatten(0, 1)).unflatten(0, (1, -1)).transpose(1, 2)
    objective = RainObjective(models, config, rollout=1.0)
    answers["target"] = lambda x_t, t: prediction_target(x_t, x0, objective.alphas[t.reshape(1, -1)], prediction_type)
    assert objective(batch, levels, torch.Generator().manual_seed(5)).item() < 1e-8
    assert len(inputs) == 2  # the estimate one call earlier (no gradient), then the trained call
    g = torch.Generator().manual_seed(5)  # the objective's draws in order: noise, the rollout coin, then own_context's
    noise, _, noise_before, noise_now = torch.randn(x0.shape, generator=g), torch.rand((), generator=g), \
        torch.randn(x0.shape, generator=g), torch.randn(x0.shape, generator=g)
    alphas = objective.alphas[objective.timesteps[levels]]
    older = levels[0] > 0
    assert torch.allclose(inputs[1][:, :, older], add_noise(x0, noise_now, alphas)[0][:, :, older], atol=1e-4)
    assert torch.equal(inputs[1][:, :, ~older], add_noise(x0, noise, alphas)[0][:, :, ~older])
    earlier = objective.timesteps[(levels - 1).clamp(min=0)]
    assert torch.equal(inputs[0][:, :, older], add_noise(x0, noise_before, objective.alphas[earlier])[0][:, :, older])


@pytest.mark.parametrize("bad", [dict(rollout=-0.1), dict(rollout=1.5), dict(rollout=0.5, timesteps="bands")])
def test_bad_rollout_settings_are_refused(bad):
    with pytest.raises(ValueError, match="rollout"):
        RainObjective(build_models(tiny(), seed=0), tiny(), **bad)


def test_every_trainable_part_gets_a_gradient():
    """The reference net learns only through the tokens it hands the denoiser's self-attention."""
    config = tiny()
    models = build_models(config, seed=0)
    for p in models.pose_guider.conv_out.parameters():  # zero-initialised: open it so gradients flow upstream
        torch.nn.init.normal_(p, std=0.1)
    objective = RainObjective(models, config).train()
    batch = {k: v[None] for k, v in next(iter(ClipStream("body", config.pile.num_frames, config.resolution, 0))).items()}
    levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]
    objective(batch, levels, torch.Generator().manual_seed(0)).backward()
    for name in ("unet", "reference_net", "pose_guider", "image_encoder"):
        module = getattr(models, name)
        with_grad = [p for p in module.parameters() if p.grad is not None and p.grad.abs().sum() > 0]
        assert len(with_grad) > 0.5 * len(list(module.parameters())), f"{name}: {len(with_grad)} parameters learn"


@pytest.mark.parametrize("world", ["body", "face", "style"])
def test_world_clips_are_training_batches(world):
    batch = next(iter(ClipStream(world, 4, 64, seed=1)))
    assert batch["frames"].shape == (3, 4, 64, 64) and batch["conditions"].shape == (3, 4, 64, 64)
    assert batch["reference"].shape == (3, 64, 64) and 0 <= batch["frames"].min() and batch["frames"].max() <= 1
    assert not torch.equal(batch["frames"][:, 0], batch["reference"])  # the reference is another image
    with pytest.raises(ValueError, match="unknown world"):
        next(iter(ClipStream("ocean", 4, 64, seed=1)))


def test_style_families_narrow_the_style_world():
    config = style_world_config("palette, grade")
    assert config.families == ("palette", "grade")
    assert {StyleWorld.from_seed(s, 1, 32, config).style.family for s in range(12)} == {"palette", "grade"}
    assert next(iter(ClipStream("style", 2, 32, seed=1, style_families="toon")))["frames"].shape == (3, 2, 32, 32)
    with pytest.raises(ValueError, match="unknown style families"):
        ClipStream("style", 2, 32, seed=1, style_families="palette,oil")
    with pytest.raises(ValueError, match="style world only"):
        ClipStream("body", 2, 32, seed=1, style_families="palette")


def test_face_condition_picks_the_face_worlds_condition_images():
    dots = next(iter(ClipStream("face", 2, 64, seed=1)))
    contours = next(iter(ClipStream("face", 2, 64, seed=1, face_condition="contours")))
    assert torch.equal(dots["frames"], contours["frames"])  # the same clip, drawn another way
    assert not torch.equal(dots["conditions"], contours["conditions"])
    assert torch.equal(next(iter(ClipStream("face", 2, 64, seed=1, face_condition="dots")))["conditions"],
                       dots["conditions"])
    with pytest.raises(ValueError, match="face condition must be one of"):
        ClipStream("face", 2, 64, seed=1, face_condition="mesh")
    with pytest.raises(ValueError, match="face world only"):
        ClipStream("body", 2, 64, seed=1, face_condition="contours")


def test_recipe_chains_resumes_and_exports(tmp_path):
    cfg = TrainConfig(stage="autoencoder", steps=4, batch_size=2, save_every=2, log_every=1, mixed_precision="no")
    ae = train_autoencoder(cfg, tiny(), tmp_path / "ae")
    scale = json.loads((ae / "config.json").read_text())["vae"]["scaling_factor"]
    assert scale is not None and scale > 0
    pile_cfg = dataclasses.replace(cfg, stage="pile", steps=3, save_every=2)
    model = train_rain(pile_cfg, ae, tmp_path / "pile")
    assert (tmp_path / "pile" / "state" / "step.json").exists() and (tmp_path / "pile" / "loss.png").exists()
    # resuming a finished run trains nothing more and exports the same weights
    again = train_rain(dataclasses.replace(pile_cfg, steps=3), ae, tmp_path / "pile")
    rows = (tmp_path / "pile" / "log.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]
    models, config = load_models(again)
    assert config.vae.scaling_factor == scale
    frames = list(RainPipeline(models, config, precision="fp32").render(
        np.zeros((64, 64, 3), np.uint8), [np.zeros((64, 64, 3), np.uint8)] * 5))
    assert len(frames) == 5


def unet_output(models, config, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    c, f, h = config.unet.in_channels, config.pile.num_frames, config.resolution // config.vae.downscale
    sample = torch.randn(1, c, f, h, h, generator=g)
    timesteps = torch.randint(0, 1000, (1, f), generator=g)
    tokens = torch.randn(1, 1, config.unet.cross_attention_dim, generator=g)
    with torch.no_grad():
        return models.unet(sample, timesteps, tokens)


def test_a_grown_patch_head_starts_as_a_no_op_then_trains_saves_and_loads(tmp_path):
    """`--output-head N` on a model without a head: the same outputs at first; after training the head has
    moved, the export records its width and loads strictly with it."""
    config = tiny()
    from rain.checkpoint import save_models
    save_models(build_models(config, seed=0), config, tmp_path / "init")
    before = load_models(tmp_path / "init")[0]
    grown, _ = load_models(tmp_path / "init")
    grown.unet.add_output_head(8)
    assert torch.equal(unet_output(before, config), unet_output(grown, config))  # zero-initialised: a no-op
    with pytest.raises(ValueError, match="already has a patch head"):
        grown.unet.add_output_head(8)

    cfg = TrainConfig(stage="pile", steps=3, batch_size=1, save_every=3, log_every=1, mixed_precision="no",
                      output_head=8, lr=1e-2)
    model = train_rain(cfg, tmp_path / "init", tmp_path / "run")
    trained, trained_config = load_models(model)  # strict: the head's tensors are in unet.safetensors
    assert trained_config.unet.output_head == 8 and trained.unet.head is not None
    assert trained.unet.head.out.weight.abs().sum() > 0  # it learned
    assert not torch.allclose(unet_output(trained, config), unet_output(before, config))
    with pytest.raises(ValueError, match="cannot change it"):  # a model with a head keeps its width
        train_rain(dataclasses.replace(cfg, output_head=16), model, tmp_path / "run2")


def test_a_negative_patch_head_width_is_refused():
    config = tiny()
    bad = dataclasses.replace(config, unet=dataclasses.replace(config.unet, output_head=-1))
    with pytest.raises(ValueError, match="output_head"):
        bad.validate()


def test_a_pile_trained_for_fewer_groups_exports_that_pile(tmp_path):
    """`--num-groups 1`: the model trains on clips of one group at the top level only (no filling piles) and
    exports a 1-group pile whose streams run it; a shape the UNet cannot hold is refused."""
    config = tiny().with_pile(stream_groups=2)
    from rain.checkpoint import save_models
    save_models(build_models(config, seed=0), config, tmp_path / "init")
    g = torch.Generator().manual_seed(0)
    one = config.with_pile(num_groups=1, stream_groups=0)
    for _ in range(5):  # fill_prob 1 would ask for a filling pile; one group has none
        levels, keep = sample_levels(one, 2, 16, fill_prob=1.0, single_frames=False, generator=g)
        assert keep == one.pile.frames_per_group and levels.unique().tolist() == [0]
    assert RainObjective(build_models(one, seed=0), one).timesteps.tolist() == [999]

    cfg = TrainConfig(stage="pile", steps=2, batch_size=1, save_every=2, log_every=1, mixed_precision="no",
                      num_groups=1)
    _, exported = load_models(train_rain(cfg, tmp_path / "init", tmp_path / "run"))
    assert (exported.pile.num_groups, exported.pile.default_groups) == (1, 1)
    assert RainPipeline(*load_models(tmp_path / "run" / "model")).schedule.timesteps.tolist() == [999]
    with pytest.raises(ValueError, match="temporal position table"):
        train_rain(dataclasses.replace(cfg, num_groups=64), tmp_path / "init", tmp_path / "run2")
