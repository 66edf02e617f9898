import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test may reach a hub


@pytest.fixture(scope="session")
def tiny_pipeline():
    from rain.config import tiny
    from rain.pipeline import RainPipeline

    return RainPipeline.from_config(tiny(), seed=0, precision="fp32")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def random_images(rng, n, size):
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)


class RecordingSteps:
    """Stands in for a pipeline: every `step` call's maps are recorded in `calls`, then the real pipeline steps."""

    def __init__(self, pipeline, calls: list) -> None:
        self.pipeline, self.calls = pipeline, calls

    def __getattr__(self, name):
        return getattr(self.pipeline, name)

    def step(self, stream, conditions, maps=None):
        self.calls.append(maps)
        return self.pipeline.step(stream, conditions, maps)


def record_unet(models, estimate):
    """Make the UNet of `models` answer estimate(x_t, timesteps) (a forward hook: an oracle, or any stand-in for a
    trained model); returns the list its inputs x_t are recorded in, call by call."""
    inputs = []

    def hook(module, args, output):
        inputs.append(args[0].detach().clone())
        return estimate(args[0], args[1])

    models.unet.register_forward_hook(hook)
    return inputs


def fitted_losses(step, preset, reader, batch, steps: int, lr: float = 3e-3) -> tuple[float, float]:
    """A preset reader's training `step` loss on one `batch` before and after `steps` Adam steps on `reader` alone."""
    optimiser = torch.optim.Adam(reader.parameters(), lr=lr)
    first = float(step(preset, batch, None)["loss"])
    for _ in range(steps):
        optimiser.zero_grad()
        step(preset, batch, None)["loss"].backward()
        optimiser.step()
    return first, float(step(preset, batch, None)["loss"])


def reader_stage_run(tmp_path, config, train, stage: str, **widths):
    """A random model of `config` saved to tmp_path/init and a two-step reader `stage` (`train`) run on it into
    tmp_path/run: (the stage's TrainConfig, the models before, (models, config) exported)."""
    from rain.checkpoint import load_models, save_models
    from rain.models import build_models
    from rain.train.config import TrainConfig

    save_models(build_models(config, seed=0), config, tmp_path / "init")
    cfg = TrainConfig(stage=stage, world="style", steps=2, batch_size=2, save_every=2, log_every=1,
                      mixed_precision="no", **widths)
    return cfg, load_models(tmp_path / "init")[0], load_models(train(cfg, tmp_path / "init", tmp_path / "run"))
