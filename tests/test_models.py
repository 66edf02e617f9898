import json
from pathlib import Path

import pytest
import torch

from rain.config import ModelConfig, PileConfig, PoseGuiderConfig, sd15, tiny
from rain.convert import check_keys, convert_key, load_published
from rain.models import build_models
from rain.models.attention import ReferenceRead
from rain.pipeline import RainPipeline

# copied from ../shared/reference/rain-v0.1-checkpoints so a plain clone can run the tests
MANIFESTS = Path(__file__).resolve().parent / "data" / "rain-v0.1-manifests"


@pytest.fixture(scope="module")
def models():
    return build_models(tiny(), seed=0).freeze()


def unet_inputs(frames=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    cfg = tiny()
    h = cfg.latent_size
    return dict(
        sample=torch.randn(1, 4, frames, h, h, generator=g),
        timesteps=torch.randint(0, 1000, (1, frames), generator=g),
        encoder_hidden_states=torch.randn(1, 1, cfg.unet.cross_attention_dim, generator=g),
        pose_features=torch.randn(1, cfg.unet.block_out_channels[0], frames, h, h, generator=g),
        guidance_embedding=torch.randn(1, cfg.unet.time_cond_proj_dim, generator=g),
    )


def test_part_shapes_and_dtypes(models):
    cfg = tiny()
    images = torch.rand(2, 3, cfg.resolution, cfg.resolution)
    embeds = models.image_encoder(images)
    assert embeds.shape == (2, 1, cfg.unet.cross_attention_dim) and embeds.dtype == torch.float32
    pose = models.pose_guider(torch.rand(2, 3, 5, cfg.resolution, cfg.resolution))
    assert pose.shape == (2, cfg.unet.block_out_channels[0], 5, cfg.latent_size, cfg.latent_size)
    assert torch.count_nonzero(pose) == 0, "the pose guider's last conv is zero-initialised"
    tokens = models.reference_net.capture(torch.randn(2, 4, cfg.latent_size, cfg.latent_size), embeds)
    assert all(name.endswith("attn1") for name in tokens) and len(tokens) == 4
    with torch.no_grad():
        out = models.unet(**unet_inputs(), reference=ReferenceRead(tokens={k: v[:1] for k, v in tokens.items()},
                                                                   num_frames=6))
    assert out.shape == (1, 4, 6, cfg.latent_size, cfg.latent_size) and torch.isfinite(out).all()


def test_timesteps_must_be_per_frame(models):
    inputs = unet_inputs()
    inputs["timesteps"] = inputs["timesteps"][:, :1]
    with pytest.raises(ValueError, match="per|frames"):
        models.unet(**inputs)


def test_each_frame_gets_its_own_timestep():
    models = build_models(tiny(), seed=0).freeze()
    temporal_out = [p for n, p in models.unet.named_parameters() if ".motion_modules." in n and ".proj_out." in n]
    assert all(torch.count_nonzero(p) == 0 for p in temporal_out), "temporal modules start as identities"
    for p in temporal_out:
        p.data.normal_(0, 0.5)
    inputs = unet_inputs()
    changed = dict(inputs, timesteps=inputs["timesteps"].clone())
    changed["timesteps"][0, 2] = 999 - changed["timesteps"][0, 2]
    with torch.no_grad():
        base, moved = models.unet(**inputs), models.unet(**changed)
    # temporal attention on: every frame sees frame 2's new level
    assert (moved[:, :, 2] - base[:, :, 2]).abs().max() > 1e-3
    assert (moved[:, :, 0] - base[:, :, 0]).abs().max() > 1e-6
    # temporal attention off (zeroed output projections make the modules identities): only frame 2 changes
    for p in temporal_out:
        p.data.zero_()
    with torch.no_grad():
        base, moved = models.unet(**inputs), models.unet(**changed)
    diff = (moved - base).abs().amax(dim=(0, 1, 3, 4))  # per frame
    assert diff[2] > 1e-3
    assert torch.all(diff[[0, 1, 3, 4, 5]] == 0)


def test_reference_tokens_and_pose_features_steer_the_output(models):
    cfg = tiny()
    inputs = unet_inputs()
    h = cfg.latent_size
    embeds = inputs["encoder_hidden_states"]
    tok_a = models.reference_net.capture(torch.randn(1, 4, h, h, generator=torch.Generator().manual_seed(1)), embeds)
    tok_b = models.reference_net.capture(torch.randn(1, 4, h, h, generator=torch.Generator().manual_seed(2)), embeds)
    with torch.no_grad():
        a = models.unet(**inputs, reference=ReferenceRead(tok_a, 6))
        a_again = models.unet(**inputs, reference=ReferenceRead(tok_a, 6))
        b = models.unet(**inputs, reference=ReferenceRead(tok_b, 6))
        no_pose = models.unet(**dict(inputs, pose_features=None), reference=ReferenceRead(tok_a, 6))
    assert torch.equal(a, a_again)
    assert (a - b).abs().max() > 1e-4
    # tokens go to the layer of the same name: exchanging two same-shaped layers' tokens changes the output
    same = [k for k in tok_a if k.startswith("up_blocks.1.attentions.")]
    assert len(same) == 2 and tok_a[same[0]].shape == tok_a[same[1]].shape
    swapped = dict(tok_a, **{same[0]: tok_a[same[1]], same[1]: tok_a[same[0]]})
    with torch.no_grad():
        c = models.unet(**inputs, reference=ReferenceRead(swapped, 6))
    assert (a - c).abs().max() > 1e-5
    assert (a - no_pose).abs().max() > 1e-4


@pytest.mark.parametrize("preset", [tiny, sd15])
def test_temporal_layout_is_animatediff_v2(preset):
    """One temporal module per spatial layer: 2 per down block, 1 mid, 3 per up block for SD1.5."""
    cfg = preset().unet
    with torch.device("meta"):
        unet = build_models(preset(), seed=None).unet
    names = {n.split(".motion_modules.")[0] + ".motion_modules." + n.split(".motion_modules.")[1].split(".")[0]
             for n, _ in unet.named_modules() if ".motion_modules." in n}
    n, per = cfg.num_levels, cfg.layers_per_block
    expected = {f"down_blocks.{i}.motion_modules.{j}" for i in range(n) for j in range(per)}
    expected |= {f"up_blocks.{i}.motion_modules.{j}" for i in range(n) for j in range(per + 1)}
    expected |= {"mid_block.motion_modules.0"}
    assert names == expected
    if preset is sd15:
        assert len(names) == 21
    assert unet.down_blocks[0].motion_modules[0].transformer_blocks[0].pos_embed.pe.shape[1] == cfg.motion_max_seq_length


@pytest.mark.parametrize("file,part", [("motion_unet", "unet"), ("reference_unet", "reference_net"),
                                       ("pose_guider", "pose_guider")])
def test_sd15_preset_takes_every_published_tensor(file, part):
    manifest = json.loads((MANIFESTS / f"{file}.json").read_text())["params"]
    with torch.device("meta"):
        models = build_models(sd15(), seed=None)
    converted = {convert_key(file, k): tuple(v) for k, v in manifest.items()}
    dropped = converted.pop(None, None)
    report = check_keys(getattr(models, part), converted)
    assert report.ok, report.describe()
    assert len(converted) == len(manifest) - (42 if file == "motion_unet" else 0)
    assert dropped is not None or file != "motion_unet"


def test_published_loader_reports_every_bad_key():
    with torch.device("meta"):
        guider = build_models(sd15(), seed=None).pose_guider
    manifest = json.loads((MANIFESTS / "pose_guider.json").read_text())["params"]
    state = {k: torch.zeros(v) for k, v in manifest.items()}
    state["blocks.9.weight"] = torch.zeros(1)
    del state["conv_out.bias"]
    state["conv_in.weight"] = torch.zeros(16, 3, 5, 5)
    with pytest.raises(ValueError) as err:
        load_published(guider, "pose_guider", state)
    text = str(err.value)
    assert "blocks.9.weight" in text and "conv_out.bias" in text and "conv_in.weight" in text
    state = {k: torch.full(v, 0.5) for k, v in manifest.items()}
    load_published(guider, "pose_guider", state)
    assert torch.all(guider.conv_out.bias == 0.5)


def test_config_validation_and_round_trip(tmp_path):
    config = tiny()
    config.save(tmp_path / "config.json")
    assert ModelConfig.load(tmp_path / "config.json") == config
    with pytest.raises(ValueError, match="pose guider"):
        ModelConfig(pose_guider=PoseGuiderConfig(block_out_channels=(16, 32))).validate()
    with pytest.raises(ValueError, match="frames_per_group"):
        ModelConfig(pile=PileConfig(frames_per_group=0)).validate()
    with pytest.raises(ValueError, match="position table"):
        ModelConfig(pile=PileConfig(frames_per_group=8, num_groups=8)).validate()
    with pytest.raises(ValueError, match="unknown"):
        ModelConfig.from_dict({"resolution": 64, "colour": "red"})


@pytest.mark.parametrize("name, default, trained", [("stream_groups", "default_groups", "num_groups"),
                                                     ("stream_frames", "default_frames", "frames_per_group")])
def test_a_streams_default_shape_stays_within_the_trained_pile(tmp_path, name, default, trained):
    from rain.train.config import TrainConfig
    from rain.train.stages import with_pile_settings

    config = tiny()
    assert getattr(config.pile, name) == 0 and getattr(config.pile, default) == getattr(config.pile, trained) == 4
    shaped = config.with_pile(**{name: 3})  # what a shipped config.json records
    assert (getattr(shaped.pile, trained), getattr(shaped.pile, default)) == (4, 3)  # the trained pile is kept
    shaped.save(tmp_path / "config.json")
    assert getattr(ModelConfig.load(tmp_path / "config.json").pile, default) == 3
    old = config.to_dict()
    del old["pile"][name]  # a config.json written before the field existed
    assert getattr(ModelConfig.from_dict(old).pile, default) == 4
    for bad in (-1, 5, True, 1.5):
        with pytest.raises(ValueError, match=f"{name} must be 0"):
            config.with_pile(**{name: bad}).validate()
    assert getattr(with_pile_settings(shaped, TrainConfig()).pile, name) == 0  # a run from it trains the whole pile


def test_the_clis_pile_shape_sets_what_streams_run():
    shaped = tiny().with_pile(stream_frames=3, stream_groups=2)
    pipeline = RainPipeline.from_config(shaped)
    assert pipeline.frames_per_group == 3  # streams start from the default ...
    assert pipeline.check_frames_per_group(1) == 1 and pipeline.check_num_groups(4, 1) == 4  # ... and leave it
    groups = shaped.with_pile_shape(num_groups=1).pile  # --num-groups 1: only the groups' default changes
    assert (groups.num_groups, groups.default_groups, groups.default_frames) == (4, 1, 3)
    frames = shaped.with_pile_shape(frames_per_group=2).pile  # --frames-per-group 2: a pile of that shape
    assert (frames.frames_per_group, frames.default_frames) == (2, 2)


def test_pixel_space_autoencoder_is_exact_and_checked():
    from rain.config import VAEConfig, cpu
    from rain.models.vae import build_vae, decode, encode

    vae = build_vae(cpu().vae)
    images = torch.rand(2, 3, 256, 256)
    latents = encode(vae, images)
    assert latents.shape == (2, 768, 16, 16)
    torch.testing.assert_close(decode(vae, latents), images)
    with pytest.raises(ValueError, match="768"):
        build_vae(VAEConfig(kind="pixel", block_out_channels=(3, 12, 48, 192, 768), latent_channels=16))
    with pytest.raises(ValueError, match="unknown VAE kind"):
        build_vae(VAEConfig(kind="vq"))
