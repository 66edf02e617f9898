"""Our own checkpoint format: `config.json` plus one safetensors file per model part."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from rain.config import ModelConfig
from rain.convert import RECOMPUTED_BUFFER
from rain.models import RainModels, build_models

logger = logging.getLogger(__name__)


def save_models(models: RainModels, config: ModelConfig, directory: str | Path) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config.save(directory / "config.json")
    for name, module in models.named_parts().items():
        tensors = {k: v.detach().contiguous().clone() for k, v in module.state_dict().items()
                   if not RECOMPUTED_BUFFER.search(k)}
        save_file(tensors, str(directory / f"{name}.safetensors"))


def load_models(directory: str | Path) -> tuple[RainModels, ModelConfig]:
    """Build from `config.json` and load every part strictly (a missing or extra tensor is an error)."""
    directory = Path(directory)
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(f"no config.json in {directory}: not a RAIN checkpoint folder")
    config = ModelConfig.load(directory / "config.json")
    models = build_models(config, seed=None)
    for name, module in models.named_parts().items():
        path = directory / f"{name}.safetensors"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing")
        state = load_file(str(path))
        expected = {k for k in module.state_dict() if not RECOMPUTED_BUFFER.search(k)}
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        if missing or unexpected:
            raise ValueError(f"{path}: missing {missing[:5]}..., unexpected {unexpected[:5]}...")
        module.load_state_dict(state, strict=False)
    logger.info("loaded RAIN models from %s", directory)
    return models, config
