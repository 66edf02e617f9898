"""The temporal loss (`--temporal-loss`): an MSE on frame-to-frame changes of the predicted frames, against flicker."""

import pytest
import torch
from rain.config import tiny
from rain.models import build_models
from rain.train.data import ClipStream
from rain.train.objective import RainObjective, change_loss, pile_levels
from test_colour_skip import tiny_pixel


def test_change_loss_counts_errors_that_change_between_frames_of_one_level():
    target = torch.randn(1, 4, 4, 3, 3)  # (b, c, f, h, w)
    levels = torch.tensor([[1, 1, 0, 0]])
    still = target + torch.randn(1, 4, 1, 3, 3)  # the same error in every frame: no flicker
    assert change_loss(still, target, levels).item() == pytest.approx(0.0, abs=1e-6)

    jump = target.clone()
    jump[:, :, 2:] += 1.0  # the error changes only between the two levels' frames: a pair the loss skips
    assert change_loss(jump, target, levels).item() == pytest.approx(0.0, abs=1e-6)

    flicker = target.clone()
    flicker[:, :, 1] += 1.0  # frame 1's error differs from frame 0's (level 1) by 1 everywhere
    assert change_loss(flicker, target, levels).item() == pytest.approx(0.5)  # 1 of the 2 same-level pairs
    assert change_loss(flicker, target, torch.tensor([[3, 2, 1, 0]])).item() == 0.0  # no pair shares a level


def test_the_objective_adds_the_temporal_loss_and_refuses_it_without_x0_prediction():
    config = tiny_pixel()
    models = build_models(config, seed=0)
    batch = {k: v[None] for k, v in next(iter(ClipStream("face", config.pile.num_frames, config.resolution,
                                                        seed=2))).items()}
    levels = pile_levels(config.pile.num_groups, config.pile.frames_per_group, config.pile.num_groups)[None]
    losses = [RainObjective(models, config, temporal_loss=w)(batch, levels, torch.Generator().manual_seed(0)).item()
              for w in (0.0, 1.0)]
    assert losses[1] > losses[0] > 0  # same draws, so the difference is the temporal term of an untrained UNet
    with pytest.raises(ValueError, match="predicts the sample"):
        RainObjective(build_models(tiny(), seed=0), tiny(), temporal_loss=0.5)  # tiny() predicts v
    with pytest.raises(ValueError, match=">= 0"):
        RainObjective(models, config, temporal_loss=-1.0)
