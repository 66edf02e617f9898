"""Truth entries (`--truth-entry`): a share of training clips enter the pile as the styled truth, a perfect read."""

import pytest
import torch

from rain.config import tiny
from rain.models import build_models
from rain.train.config import TrainConfig
from rain.train.data import ClipStream
from rain.train.objective import RainObjective, pile_levels
from rain.train.stages import with_pile_settings


def latent_model():
    config = with_pile_settings(tiny(), TrainConfig(entry="latent", strength_min=0.4, strength=0.7))
    return build_models(config, seed=0), config


def test_the_share_picks_whole_clips():
    models, config = latent_model()
    content, x0 = torch.zeros(64, 4, 3, 2, 2), torch.ones(64, 4, 3, 2, 2)  # (b, c, f, h, w)
    for share, low, high in ((0.0, 0, 0), (1.0, 64, 64), (0.5, 16, 48)):
        mixed = RainObjective(models, config, truth_entry=share).with_truth_entries(content, x0,
                                                                                     torch.Generator().manual_seed(0))
        per_clip = mixed.flatten(1)
        assert torch.all((per_clip == 0).all(1) | (per_clip == 1).all(1))  # each clip is all entry or all truth
        assert low <= int((per_clip == 1).all(1).sum()) <= high, share


def test_a_truth_entry_does_not_depend_on_the_camera_frames():
    """The pose guider's output conv is zero at init, so the camera frames reach the loss only through the entry:
    with every clip entering as the truth they do not reach it at all; with none they do."""
    models, config = latent_model()
    batch = {k: v[None] for k, v in next(iter(ClipStream("style", config.pile.num_frames, 64, seed=2))).items()}
    other = dict(batch, conditions=batch["conditions"].flip(-1))
    levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]
    for share, same in ((1.0, True), (0.0, False)):
        objective = RainObjective(models, config, truth_entry=share)
        losses = [objective(b, levels, torch.Generator().manual_seed(0)).item() for b in (batch, other)]
        assert (losses[0] == losses[1]) == same, share


def test_bad_truth_entries_are_refused():
    models, config = latent_model()
    for share in (-0.1, 1.5, True, float("nan")):
        with pytest.raises(ValueError, match="share of clips"):
            RainObjective(models, config, truth_entry=share)
    with pytest.raises(ValueError, match="camera frame's latent"):
        RainObjective(build_models(tiny(), seed=0), tiny(), truth_entry=0.5)  # tiny() enters from noise, no skip


def test_the_pile_stage_passes_the_share_on_and_distillation_refuses_it(tmp_path):
    """The stage hands `--truth-entry` to the objective (a noise-entry model refuses it there, a latent-entry model
    trains and exports with it); distillation keeps the teacher's pile and refuses it before loading anything."""
    from rain.checkpoint import load_models, save_models
    from rain.train.stages import train_distill, train_rain
    models, config = latent_model()
    save_models(models, config, tmp_path / "latent")
    save_models(build_models(tiny(), seed=0), tiny(), tmp_path / "noise")
    cfg = TrainConfig(stage="pile", world="style", steps=1, batch_size=1, save_every=1, log_every=1,
                      mixed_precision="no", truth_entry=0.5)
    with pytest.raises(ValueError, match="camera frame's latent.*entry 'noise'"):
        train_rain(cfg, tmp_path / "noise", tmp_path / "run_noise")
    _, exported = load_models(train_rain(cfg, tmp_path / "latent", tmp_path / "run_latent"))
    assert exported.pile.entry == "latent"
    with pytest.raises(ValueError, match="--truth-entry"):
        train_distill(TrainConfig(stage="distill", teacher=str(tmp_path / "latent"), truth_entry=0.5), None,
                      tmp_path / "run_distill")
