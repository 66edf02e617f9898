"""Our own checkpoint format: `config.json` plus one safetensors file per model part."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from rain.config import ModelConfig
from rain.convert import RECOMPUTED_BUFFER
from rain.models import RainModels, build_models
from rain.quantize import decode_state, encode_state

logger = logging.getLogger(__name__)


def save_models(models: RainModels, config: ModelConfig, directory: str | Path, parts: tuple[str, ...] | None = None,
                storage: str = "float32") -> None:
    """Write `config.json` and `<part>.safetensors` (default: every part) in `storage`, one of
    `rain.quantize.STORAGE` (float16 halves the size, int8 quarters it: see rain/quantize.py)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config.save(directory / "config.json")
    for name, module in models.named_parts().items():
        if parts is not None and name not in parts:
            continue
        state = {k: v for k, v in module.state_dict().items() if not RECOMPUTED_BUFFER.search(k)}
        save_file(encode_state(state, storage), str(directory / f"{name}.safetensors"))


def load_part(module: torch.nn.Module, path: Path) -> None:
    """Load one part strictly: a missing or unexpected tensor is an error naming it."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    state = decode_state(load_file(str(path)))
    expected = {k for k in module.state_dict() if not RECOMPUTED_BUFFER.search(k)}
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise ValueError(f"{path}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    module.load_state_dict(state, strict=False)


def read_config(directory: str | Path) -> ModelConfig:
    directory = Path(directory)
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(f"no config.json in {directory}: not a RAIN checkpoint folder")
    return ModelConfig.load(directory / "config.json")


def load_models(directory: str | Path, parts: tuple[str, ...] | None = None, seed: int | None = None,
                device: str | torch.device = "cpu") -> tuple[RainModels, ModelConfig]:
    """Build from `config.json` and load `parts` (default: all) strictly; other parts keep a fresh init.
    The models end on `device`."""
    directory = Path(directory)
    config = read_config(directory)
    models = build_models(config, seed=seed)
    for name, module in models.named_parts().items():
        if parts is None or name in parts:
            load_part(module, directory / f"{name}.safetensors")
        module.to(device)
    logger.info("loaded RAIN models (%s) from %s", "all parts" if parts is None else ", ".join(parts), directory)
    return models, config
