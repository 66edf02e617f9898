"""The style preset (rain/models/style_preset.py): its colour operations against the style world's own filters,
the pipeline's use of it, and its training stage (rain/train/preset.py)."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import random_images
from test_colour_skip import set_map, tiny_pixel
from rain.checkpoint import load_models, save_models
from rain.config import PresetConfig, RefinerConfig, tiny
from rain.images import to_tensor, to_uint8
from rain.models import build_models
from rain.models.style_preset import MemoryColours, StylePreset, blurred_by, equalised, interp, rotate_hue, sharpness
from rain.models.vae import encode
from rain.pipeline import RainPipeline
from rain.train.config import HELD_OUT_SEED_START, TrainConfig
from rain.train.data import ClipStream, world_clip
from rain.train.objective import RainObjective
from rain.train.preset import PresetSamples, control_loss, preset_step, style_controls, train_preset
from rain.train.refine import stream_pairs
from rain.worlds.options import world_config
from rain.worlds.style_filters import Style, grade, palette
from rain.worlds.style_world import StyleWorld


def preset_config(width: int = 4, entry: str = "latent"):
    cfg = tiny()
    pile = dataclasses.replace(cfg.pile, entry=entry, strength=0.6, strength_min=0.4)
    return dataclasses.replace(cfg, pile=pile, preset=PresetConfig(width=width, knots=8, size=32, hidden=16))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def photo(seed: int = 3) -> np.ndarray:
    return StyleWorld.from_seed(seed, 1, size=128).content(0)  # a real content frame of the style world


def test_interp_is_piecewise_linear_between_evenly_spaced_knots():
    knots = torch.tensor([[[0.0, 0.5, 0.6, 1.0]]])  # (1, 1, 4) at x = 0, 1/3, 2/3, 1
    x = torch.linspace(0, 1, 31).view(1, 1, 1, -1)
    expected = np.interp(x.flatten().numpy(), [0, 1 / 3, 2 / 3, 1], knots.flatten().numpy())
    np.testing.assert_allclose(interp(knots, x).flatten().numpy(), expected, atol=1e-6)


def test_hue_rotation_and_saturation_match_opencv_as_the_grade_style_applies_them():
    img = photo()
    for hue, sat in ((20, 1.3), (-35, 0.4), (0, 1.0)):
        style = Style("grade", (("hue", hue), ("sat", sat), ("contrast", 1.0), ("gamma", (1.0, 1.0, 1.0)),
                                ("vignette", 0.0)))
        ours = rotate_hue(to_tensor(img)[None], torch.tensor([hue / 180]), torch.tensor([sat]))
        assert psnr((ours[0].permute(1, 2, 0).numpy() * 255).round(), grade(img, style)) > 40, (hue, sat)


def test_a_preset_with_the_grade_controls_reproduces_the_grade_style():
    """Controls written by hand (hue, saturation, the tone curves on 256 knots, the vignette) give the
    style world's `grade` output: the preset can express every grade the world draws."""
    img = photo(5)
    hue, sat, contrast, gamma, vig = 12, 1.4, 1.2, (0.8, 1.0, 1.3), 0.4
    style = Style("grade", (("hue", hue), ("sat", sat), ("contrast", contrast), ("gamma", gamma), ("vignette", vig)))
    preset = StylePreset(PresetConfig(width=2, knots=256))
    x = np.arange(256) / 255.0
    curves = np.stack([np.clip(0.5 + (x ** g - 0.5) * contrast, 0, 1) for g in gamma])  # the world's own curve
    raw = torch.zeros(1, preset.num_controls)
    raw[0, 256 * 3: 256 * 6] = torch.tensor(curves - x, dtype=torch.float32).flatten()
    raw[0, -6:] = torch.tensor([0.0, hue / 180, np.log(sat), np.log(np.expm1(vig)) + 3, 0.0, -30.0])
    out = preset.apply(to_tensor(img)[None], raw)[0].permute(1, 2, 0).numpy() * 255
    assert psnr(out, grade(img, style)) > 35


def test_a_fresh_preset_changes_a_frame_only_slightly_and_every_control_gets_a_gradient(rng):
    preset = StylePreset(PresetConfig(width=4, knots=8, size=32, hidden=16))
    frames, exemplar = to_tensor(random_images(rng, 2, 64)), to_tensor(random_images(rng, 1, 64))
    out = preset(frames, exemplar.expand(2, -1, -1, -1))
    assert out.shape == frames.shape and (out - frames).abs().mean() < 0.05
    with pytest.raises(ValueError, match="controls"):
        preset.apply(frames, torch.zeros(3, preset.num_controls))
    with pytest.raises(ValueError, match="controls"):
        preset.apply(frames[:, :1], torch.zeros(1, preset.num_controls))
    raw = torch.zeros(2, preset.num_controls, requires_grad=True)
    preset.apply(frames, raw).square().mean().backward()
    assert (raw.grad.abs().sum(0) > 0).sum() >= preset.num_controls - 2  # ramp/curve knots a frame never reaches may stay 0


def test_the_pipeline_restyles_the_entering_frames_after_the_current_reference(rng):
    config = preset_config()
    models = build_models(config, seed=0)
    torch.nn.init.normal_(models.preset.mlp[-1].weight, std=0.5)  # a preset that visibly restyles
    pipeline = RainPipeline(models, config, precision="fp32")
    ref_a, ref_b = random_images(rng, 2, 64)
    stream = pipeline.new_stream(pipeline.encode_reference(ref_a), seed=5)
    assert stream.reference.preset.shape == (1, models.preset.num_controls)
    conditions = random_images(rng, 4, 64)
    noise = torch.randn((1, 4, 4, 8, 8), generator=torch.Generator().manual_seed(5))
    group = pipeline._new_group(stream, stream.schedule, conditions)
    a = pipeline.schedule.alphas_cumprod[599]
    restyled = models.preset(to_tensor(conditions), to_tensor(ref_a)[None])
    content = encode(models.vae, restyled).transpose(0, 1)[None]
    torch.testing.assert_close(group.latents, a.sqrt() * content + (1 - a).sqrt() * noise)
    assert not torch.allclose(restyled, to_tensor(conditions), atol=0.05)
    stream.reference = pipeline.encode_reference(ref_b)  # a swapped reference restyles the next frames its way
    assert not torch.equal(stream.reference.preset, pipeline.encode_reference(ref_a).preset)


def test_training_the_pile_sees_the_frozen_preset_in_the_entering_frames(rng):
    config = preset_config()
    models = build_models(config, seed=0)
    torch.nn.init.normal_(models.preset.mlp[-1].weight, std=0.5)
    objective = RainObjective(models, config)
    conditions, reference = to_tensor(random_images(rng, 3, 64)).transpose(0, 1)[None], to_tensor(random_images(rng, 1, 64))
    entering = objective.entering(conditions, reference)
    expected = models.preset(conditions[0].transpose(0, 1), reference)
    torch.testing.assert_close(entering[0].transpose(0, 1), expected)
    assert not any(p.requires_grad for p in objective.preset.parameters())


def test_a_colour_skip_behind_a_preset_copies_the_restyled_frames(rng):
    """The shipped style model's layout (session 18): a colour skip from the condition maps the *restyled* camera
    frame. Set to the identity, every frame the pile emits is the preset's restyling of its camera frame."""
    pixel = tiny_pixel("condition")
    pile = dataclasses.replace(pixel.pile, entry="latent", strength=0.6, strength_min=0.4)
    config = dataclasses.replace(pixel, pile=pile, preset=PresetConfig(width=4, knots=8, size=32, hidden=16))
    config.validate()
    models = build_models(config, seed=0)
    torch.nn.init.normal_(models.preset.mlp[-1].weight, std=0.5)  # a preset that visibly restyles
    set_map(models.unet.skip, np.eye(3))
    pipeline = RainPipeline(models, config, precision="fp32")
    reference, conditions = random_images(rng, 1, config.resolution)[0], random_images(rng, 6, config.resolution)
    frames = np.stack(list(pipeline.render(reference, conditions, seed=0)))
    with torch.no_grad():
        restyled = to_uint8(models.preset(to_tensor(conditions), to_tensor(reference)[None]))
    assert frames.shape == restyled.shape
    assert np.abs(frames.astype(int) - restyled).max() <= 1
    assert np.abs(restyled.astype(int) - conditions).mean() > 5  # the camera frames themselves would fail


def test_config_refuses_a_preset_without_an_img2img_pile():
    with pytest.raises(ValueError, match="img2img pile"):
        preset_config(entry="noise").validate()
    with pytest.raises(ValueError, match="PresetConfig.width"):
        dataclasses.replace(tiny(), preset=PresetConfig(width=-1)).validate()


def test_the_preset_stage_grows_trains_saves_and_loads_a_preset(tmp_path, rng):
    config = dataclasses.replace(preset_config(), preset=PresetConfig())
    models = build_models(config, seed=0)
    save_models(models, config, tmp_path / "init")
    cfg = TrainConfig(stage="preset", world="style", style_families="palette,grade", steps=3, batch_size=2,
                      lr=1e-2, save_every=3, log_every=1, mixed_precision="no", style_preset=4)
    model = train_preset(cfg, tmp_path / "init", tmp_path / "run")
    trained, trained_config = load_models(model)  # strict: preset.safetensors holds every tensor
    assert trained_config.preset.width == 4 and trained.preset.mlp[-1].weight.abs().sum() > 0
    assert all(torch.equal(a, b) for a, b in zip(trained.unet.state_dict().values(), models.unet.state_dict().values()))
    frames = np.stack(list(RainPipeline(trained, trained_config, precision="fp32").render(
        random_images(rng, 1, 64)[0], random_images(rng, 5, 64))))
    assert frames.shape == (5, 64, 64, 3)
    with pytest.raises(ValueError, match="cannot change it"):
        train_preset(dataclasses.replace(cfg, style_preset=8), model, tmp_path / "run2")
    with pytest.raises(ValueError, match="no preset"):
        train_preset(dataclasses.replace(cfg, style_preset=0), tmp_path / "init", tmp_path / "run3")
    with pytest.raises(ValueError, match="the style world"):
        train_preset(dataclasses.replace(cfg, world="body", style_families=""), tmp_path / "init", tmp_path / "run5")
    noise_model = tiny()
    save_models(build_models(noise_model, seed=0), noise_model, tmp_path / "noise")
    with pytest.raises(ValueError, match="not an img2img model"):
        train_preset(cfg, tmp_path / "noise", tmp_path / "run4")


def test_preset_samples_are_the_clip_streams_samples_with_the_controls_their_style_fixes():
    """The supervised stage draws the very samples of the unsupervised one, and labels palettes and grades."""
    ours = iter(PresetSamples(64, 5, "palette,grade", knots=8))
    theirs = iter(ClipStream("style", 1, 64, 5, "palette,grade"))
    families = set()
    for _ in range(6):
        a, b = next(ours), next(theirs)
        assert all(torch.equal(a[k], b[k]) for k in ("reference", "conditions", "frames"))
        assert float(a["palette"]) + float(a["grade"]) == 1 and a["curves"].shape == (3, 8)
        families.add(float(a["palette"]))
        if a["palette"]:
            assert 0.5 <= float(a["blur"]) <= 2.5 and float(a["equalise"]) in (0.0, 1.0)
            assert float(a["hue"]) == 0 and float(a["saturation"]) == 1
        else:
            assert float(a["blur"]) == 0 and float(a["equalise"]) == 0
            assert abs(float(a["hue"])) <= 40 / 180 and 0.2 <= float(a["saturation"]) <= 1.8
    assert families == {0.0, 1.0}
    style = Style("palette", (("palette", ((0, 0, 0), (255, 255, 255))), ("smooth", True), ("blur", 1.25),
                              ("equalize", True)))
    labels = style_controls(style, 8)
    assert {k: float(labels[k]) for k in ("palette", "equalise", "blur", "grade")} == \
        {"palette": 1.0, "equalise": 1.0, "blur": 1.25, "grade": 0.0}


def test_a_grades_labels_are_the_controls_that_reproduce_it():
    """`style_controls` of a grade, written into a preset (no vignette), give the style world's own grade."""
    img = photo(5)
    style = Style("grade", (("hue", -23), ("sat", 1.5), ("contrast", 1.3), ("gamma", (0.7, 1.1, 1.35)),
                            ("vignette", 0.0)))
    labels = style_controls(style, 256)
    assert float(labels["grade"]) == 1 and float(labels["palette"]) == 0
    preset = StylePreset(PresetConfig(width=2, knots=256))
    raw = torch.zeros(1, preset.num_controls)
    raw[0, 256 * 3: 256 * 6] = (labels["curves"] - torch.linspace(0, 1, 256)).flatten()
    raw[0, -6:] = torch.tensor([0.0, float(labels["hue"]), float(labels["saturation"].log()), -30.0, 0.0, -30.0])
    out = preset.apply(to_tensor(img)[None], raw)[0].permute(1, 2, 0).numpy() * 255
    assert psnr(out, grade(img, style)) > 35


def test_the_control_loss_pulls_a_palettes_controls_to_its_style_and_leaves_other_families_alone():
    batch = {"palette": torch.tensor([1.0, 0.0]), "equalise": torch.tensor([1.0, 0.0]), "blur": torch.tensor([1.5, 0.0])}
    right = {"mix": torch.tensor([1.0, 0.3]), "equalise": torch.tensor([1.0, 0.7]), "blur": torch.tensor([0.5, 0.9])}
    assert float(control_loss(right, batch, max_blur=3.0)) < 1e-4  # the grade's controls do not count
    hedge = {k: v.clone().requires_grad_(True) for k, v in
             {"mix": torch.tensor([0.8, 0.3]), "equalise": torch.tensor([0.3, 0.7]), "blur": torch.tensor([0.3, 0.9])}.items()}
    loss = control_loss(hedge, batch, max_blur=3.0)
    loss.backward()
    assert float(loss) > 1.0
    assert hedge["mix"].grad[0] < 0 and hedge["equalise"].grad[0] < 0 and hedge["blur"].grad[0] < 0  # towards the style
    assert all(float(v.grad[1]) == 0 for v in hedge.values())
    assert float(control_loss(hedge, {**batch, "palette": torch.zeros(2)}, max_blur=3.0)) == 0


def test_the_control_loss_pulls_a_grades_hue_saturation_and_curves_to_its_style():
    levels = torch.linspace(0, 1, 4)
    truth = {"palette": torch.zeros(2), "equalise": torch.zeros(2), "blur": torch.zeros(2), "grade": torch.tensor([1.0, 0.0]),
             "hue": torch.tensor([0.1, 0.0]), "saturation": torch.tensor([1.5, 1.0]),
             "curves": torch.stack([levels.sqrt().expand(3, 4), levels.expand(3, 4)])}
    free = {"mix": torch.tensor([0.3, 0.3]), "equalise": torch.tensor([0.7, 0.7]), "blur": torch.tensor([0.5, 0.5])}
    right = {**free, "hue": truth["hue"].clone(), "saturation": torch.tensor([1.5, 0.4]),
             "curves": torch.stack([levels.sqrt().expand(3, 4), levels.pow(2).expand(3, 4)])}
    assert float(control_loss(right, truth, max_blur=3.0)) < 1e-6  # a grade's mix and the other family: free
    wrong = {**free, "hue": torch.tensor([-0.1, 0.0]), "saturation": torch.tensor([0.8, 1.0]),
             "curves": levels.expand(2, 3, 4).clone()}
    wrong = {k: v.requires_grad_(True) for k, v in wrong.items()}
    loss = control_loss(wrong, truth, max_blur=3.0)
    loss.backward()
    assert float(loss) > 0.5
    assert wrong["hue"].grad[0] < 0 and wrong["saturation"].grad[0] < 0  # towards +0.1 turns and 1.5x
    assert (wrong["curves"].grad[0, :, 1:3] < 0).all()  # sqrt lies above the identity between the ends
    assert all(float(v.grad[1].abs().sum()) == 0 for v in wrong.values())


def test_a_supervised_preset_step_adds_the_control_loss_and_learns_from_it():
    preset = StylePreset(PresetConfig(width=4, knots=8, size=32, hidden=16, max_blur=3.0))
    batch = next(iter(torch.utils.data.DataLoader(PresetSamples(32, 1, "palette", knots=8), batch_size=4)))
    plain = preset_step(preset, batch, None)
    supervised = preset_step(preset, batch, None, supervision=0.5)
    assert "controls" not in plain and float(supervised["controls"]) > 0
    assert torch.allclose(supervised["loss"], plain["loss"] + 0.5 * supervised["controls"])
    optimiser = torch.optim.Adam(preset.parameters(), lr=1e-2)
    for _ in range(30):
        optimiser.zero_grad()
        preset_step(preset, batch, None, supervision=1.0)["loss"].backward()
        optimiser.step()
    assert float(preset_step(preset, batch, None, supervision=1.0)["controls"]) < 0.5 * float(supervised["controls"])


def test_a_refiner_behind_a_preset_sees_the_restyled_camera_frames(rng):
    """The refiner gets the condition images as they entered the pile, both live and in its training pairs."""
    config = dataclasses.replace(preset_config(), refiner=RefinerConfig(width=4))
    models = build_models(config, seed=0)
    torch.nn.init.normal_(models.preset.mlp[-1].weight, std=0.5)
    pipeline = RainPipeline(models, config, precision="fp32")
    reference, conditions = random_images(rng, 1, 64)[0], random_images(rng, 4, 64)
    stream = pipeline.new_stream(pipeline.encode_reference(reference), seed=1)
    group = pipeline._new_group(stream, stream.schedule, conditions)
    restyled = models.preset(to_tensor(conditions), to_tensor(reference)[None])
    torch.testing.assert_close(group.conditions[0].transpose(0, 1), restyled)
    cfg = TrainConfig(stage="refiner", world="style", refiner_clips=1, refiner_frames=4, seed=3)
    pairs = stream_pairs(RainPipeline(dataclasses.replace(models, refiner=None), config, precision="fp32"), cfg)
    seeds = np.random.default_rng([cfg.seed, 7])  # the world stream_pairs drew
    clip = world_clip("style", np.random.default_rng(int(seeds.integers(0, HELD_OUT_SEED_START))), 4, 64,
                      world_config("style", "", ""))
    expected = to_uint8(models.preset(to_tensor(clip.conditions), to_tensor(clip.reference)[None]))
    assert np.abs(pairs["conditions"].astype(int) - expected).max() <= 1
    assert np.abs(pairs["conditions"].astype(int) - clip.conditions).max() > 10


def test_equalisation_matches_opencv():
    import cv2

    grey_u8 = cv2.cvtColor(photo(7), cv2.COLOR_RGB2GRAY)
    ours = equalised(torch.from_numpy(grey_u8).float()[None, None] / 255)[0, 0].numpy() * 255
    assert np.abs(ours - cv2.equalizeHist(grey_u8)).max() <= 1


def test_a_read_blur_matches_opencv_for_each_frame_and_reaches_the_palette_style_s_range():
    import cv2

    grey_u8 = cv2.cvtColor(photo(7), cv2.COLOR_RGB2GRAY)
    x = torch.from_numpy(np.stack([grey_u8] * 3)).float()[:, None] / 255  # (3, 1, H, W)
    sigmas = torch.tensor([0.5, 1.3, 2.5])  # the palette style blurs by 0.5..2.5 px
    ours = blurred_by(x, sigmas, max_sigma=3.0)[:, 0].numpy() * 255
    for frame, sigma in zip(ours, sigmas.tolist()):
        ref = cv2.GaussianBlur(grey_u8.astype(np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
        assert np.abs(frame - ref).max() < 0.05
    assert torch.allclose(blurred_by(x, torch.zeros(3), 3.0), x, atol=1e-6)  # sigma 0: the image itself
    sigma = torch.tensor([1.0, 1.0, 1.0], requires_grad=True)
    blurred_by(x, sigma, 3.0).std().backward()
    assert sigma.grad.abs().min() > 0  # the read sigma learns


def test_sharpness_tells_a_blurred_exemplar_from_a_sharp_one():
    style = Style("palette", (("palette", ((0, 0, 0), (255, 255, 255))), ("smooth", True), ("blur", 0.5),
                              ("equalize", False)))
    sharp = to_tensor(palette(photo(7), style)[None])
    soft = to_tensor(palette(photo(7), dataclasses.replace(style, params=style.params[:2] + (("blur", 2.5),) +
                                                             style.params[3:]))[None])
    a, b = sharpness(sharp)[0], sharpness(soft)[0]
    assert b[0] < a[0] and (b[1:] > a[1:]).all()  # fewer edges, and more of them survive a further blur


def regrown_by_one_step(tmp_path, config, **option):
    """A fresh model of `config` saved, one preset step with `option` at a learning rate that moves nothing, and the
    result loaded: (the fresh models, the stage's config, the trained models, their config)."""
    models = build_models(config, seed=0)
    save_models(models, config, tmp_path / "init")
    cfg = TrainConfig(stage="preset", world="style", style_families="palette,grade", steps=1, batch_size=2,
                      lr=1e-9, save_every=1, log_every=1, mixed_precision="no", **option)
    return (models, cfg, *load_models(train_preset(cfg, tmp_path / "init", tmp_path / "run")))


def test_a_preset_regrown_with_a_read_blur_reads_what_it_read_and_blurs_by_a_sigma(tmp_path, rng):
    config = preset_config()
    models, _, trained, trained_config = regrown_by_one_step(tmp_path, config, preset_blur=3.0)
    assert trained_config.preset.max_blur == 3.0 and trained.preset.sharpness is not None
    exemplar = to_tensor(random_images(rng, 1, 64))
    with torch.no_grad():  # a zero-initialised sharpness input: the same controls (lr 1e-9 moves nothing visibly)
        assert torch.allclose(trained.preset.read(exemplar), models.preset.read(exemplar), atol=1e-4)
    with pytest.raises(ValueError, match="max_blur"):
        dataclasses.replace(config, preset=dataclasses.replace(config.preset, max_blur=-1.0)).validate()


def test_a_preset_regrown_with_a_detail_reader_reads_what_it_read_until_it_learns(tmp_path, rng):
    config = dataclasses.replace(preset_config(), preset=dataclasses.replace(preset_config().preset, max_blur=3.0))
    models, cfg, trained, trained_config = regrown_by_one_step(tmp_path, config, preset_detail=4)
    assert trained_config.preset.detail == 4 and trained.preset.detail is not None
    exemplar = to_tensor(random_images(rng, 1, 64))
    with torch.no_grad():  # the detail reader's output starts at zero: the same controls
        assert torch.allclose(trained.preset.read(exemplar), models.preset.read(exemplar), atol=1e-4)
    trained.preset.read(exemplar)[:, -2].sum().backward()  # the blur control: the detail reader's map gets a gradient
    assert trained.preset.detail.out.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="detail reader of 4"):
        train_preset(dataclasses.replace(cfg, preset_detail=8), tmp_path / "run" / "model", tmp_path / "run2")
    with pytest.raises(ValueError, match="PresetConfig.detail"):
        dataclasses.replace(config, preset=dataclasses.replace(config.preset, detail=-1)).validate()


def test_a_snapping_preset_equalises_fully_or_not_at_all_except_while_it_learns(rng):
    """PresetConfig.snap_equalise: a frozen preset (a stream, a pile stage) takes the side the reader leans to; the
    preset stage's reader keeps the soft mix it needs a gradient through."""
    k = 8
    soft, snap = (StylePreset(PresetConfig(width=4, knots=k, size=32, hidden=16, snap_equalise=s)) for s in (False, True))
    snap.load_state_dict(soft.state_dict())
    frames = to_tensor(random_images(rng, 2, 64))

    def leaning(logit: float) -> torch.Tensor:  # the gradient map only, equalised by sigmoid(logit)
        raw = torch.zeros(1, soft.num_controls)
        raw[0, -1], raw[0, 6 * k] = 30.0, logit
        return raw

    soft.eval(), snap.eval()
    with torch.no_grad():
        half = soft.apply(frames, leaning(0.8))
        assert not torch.allclose(half, soft.apply(frames, leaning(30.0)), atol=1e-3)  # a hedge is its own image
        assert torch.allclose(snap.apply(frames, leaning(0.8)), soft.apply(frames, leaning(30.0)), atol=1e-6)
        assert torch.allclose(snap.apply(frames, leaning(-0.8)), soft.apply(frames, leaning(-30.0)), atol=1e-6)
        snap.train()
        assert torch.allclose(snap.apply(frames, leaning(0.8)), half)
    config = dataclasses.replace(preset_config(), preset=PresetConfig(width=4, knots=k, size=32, hidden=16,
                                                                      snap_equalise=True))
    assert RainPipeline.from_config(config, precision="fp32").models.preset.training is False  # streams snap


def test_memory_colours_are_the_mean_colours_where_each_map_looks():
    """With the picking net swapped for fixed logits: a map that looks at the left half reads its colour, and focuses;
    a map that looks everywhere reads the mean colour, and does not."""
    memory = MemoryColours(maps=2, channels=2, hidden=8)
    x = torch.zeros(1, 3, 64, 64)
    x[:, 0, :, :32], x[:, 2, :, 32:] = 1.0, 1.0  # red left, blue right
    logits = torch.zeros(1, 2, 8, 8)
    logits[0, 0, :, :4] = 30.0  # map 0: the left half only

    class Fixed(torch.nn.Module):
        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return logits

    memory.convs = Fixed()
    captured = {}
    memory.out.register_forward_hook(lambda mod, args, out: captured.update(feats=args[0]))
    assert float(memory(x).abs().sum()) == 0  # the zero map: a grown reader adds nothing at first
    colours, focus = captured["feats"][0, :6].view(2, 3), captured["feats"][0, 6:]
    assert torch.allclose(colours[0], torch.tensor([1.0, 0.0, 0.0]), atol=1e-4)
    assert torch.allclose(colours[1], torch.tensor([0.5, 0.0, 0.5]), atol=1e-4)
    assert abs(float(focus[0]) - 1 / 6) < 1e-3 and abs(float(focus[1])) < 1e-4  # half of 64 cells: 1 - 5/6


def test_a_preset_regrown_with_memory_colours_reads_what_it_read_until_it_learns(tmp_path, rng):
    config = preset_config()
    models, cfg, trained, trained_config = regrown_by_one_step(tmp_path, config, preset_memory=3)
    assert trained_config.preset.memory == 3 and trained.preset.memory is not None
    exemplar = to_tensor(random_images(rng, 1, 64))
    with torch.no_grad():
        assert torch.allclose(trained.preset.read(exemplar), models.preset.read(exemplar), atol=1e-4)
    k = config.preset.knots
    trained.preset.read(exemplar)[:, 6 * k + 1].sum().backward()  # the hue control
    assert trained.preset.memory.out.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="3 memory colours"):
        train_preset(dataclasses.replace(cfg, preset_memory=5), tmp_path / "run" / "model", tmp_path / "run2")
    with pytest.raises(ValueError, match="PresetConfig.memory"):
        dataclasses.replace(config, preset=dataclasses.replace(config.preset, memory=-1)).validate()
