"""From a registry entry to loaded models: convert the published files once, then load our format.

Published `.pth`/`.bin` files are read with `torch.load(..., weights_only=True)` (memory-mapped), renamed
and strictly checked by `rain.convert`, and written once as `converted/<part>.safetensors` (plus the
preset's `config.json`, so the converted folder is also a plain model folder for `--weights DIR`).
Later loads read only the safetensors. Models are built with empty (meta) parameters and the loaded
tensors are assigned, so no random init of 2.6 B parameters is ever computed or held in memory.
"""

from __future__ import annotations

import json
import logging
import pickle
import zipfile
from pathlib import Path

import torch
from accelerate import init_empty_weights
from safetensors import SafetensorError
from safetensors import safe_open
from safetensors.torch import save_file

from rain.checkpoint import load_models
from rain.config import ModelConfig
from rain.convert import check_keys, checked_state_dict
from rain.models import RainModels, build_models
from rain.weights.errors import CorruptWeightsError, MissingWeightsError, WeightsError
from rain.weights.fetch import converted_path, fetch, find_local
from rain.weights.registry import CONVERTED_FOLDER, SourcePart, WeightsEntry

logger = logging.getLogger(__name__)

# architecture fields of a diffusers/transformers config.json that must equal those of the module we build
CHECKED_CONFIG_FIELDS = {
    "vae": ("in_channels", "out_channels", "block_out_channels", "layers_per_block", "latent_channels",
            "norm_num_groups", "act_fn", "scaling_factor", "down_block_types", "up_block_types"),
    "image_encoder": ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                      "image_size", "patch_size", "projection_dim", "hidden_act", "num_channels"),
}
ALIGNMENT = 64  # bytes: what torch's allocator gives, and what the kernels' results were measured with
_CORRUPT = (SafetensorError, RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError)


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from `.safetensors`, or from a pickled `.pth`/`.bin` with weights_only=True."""
    if not path.is_file():
        raise MissingWeightsError(f"{path} is missing")
    try:
        if path.suffix == ".safetensors":
            state = read_safetensors(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except _CORRUPT as exc:
        raise CorruptWeightsError(
            f"{path} cannot be read ({type(exc).__name__}: {str(exc)[:300]}). The file is damaged or "
            f"incomplete (an interrupted download?): delete it and load again to fetch it anew.") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CorruptWeightsError(f"{path} is not a plain state dict of tensors (got {type(state).__name__})")
    return state


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Tensor by tensor; any not 64-byte aligned is copied (misaligned weights change the CPU kernels'
    summation order, so outputs would differ from the original model's in the last bit)."""
    with safe_open(str(path), framework="pt") as f:
        state = {k: f.get_tensor(k) for k in f.keys()}
    return {k: v if v.data_ptr() % ALIGNMENT == 0 else v.clone() for k, v in state.items()}


def module_config(part: str, module: torch.nn.Module) -> dict:
    if part == "image_encoder":
        return module.model.config.to_dict()
    return dict(module.config)


def check_source_config(part: SourcePart, module: torch.nn.Module, folder: Path) -> None:
    """Compare the architecture fields of the part's config.json with the module we build."""
    if part.config is None:
        return
    path = find_local(part.config, folder)
    if path is None:
        raise MissingWeightsError(f"{part.config.local_paths(folder)[0]} is missing")
    try:
        theirs = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptWeightsError(f"{path} is not valid JSON ({exc}): delete it and load again") from exc
    ours = module_config(part.part, module)
    wrong = [f"{k}: file {theirs[k]!r}, ours {ours[k]!r}" for k in CHECKED_CONFIG_FIELDS[part.part]
             if k in theirs and k in ours and _norm(theirs[k]) != _norm(ours[k])]
    if wrong:
        raise WeightsError(f"{path} describes a different {part.part} than our preset:\n  " + "\n  ".join(wrong))


def _norm(value: object) -> object:
    return tuple(value) if isinstance(value, (list, tuple)) else value


def convert_part(part: SourcePart, module: torch.nn.Module, folder: Path) -> Path:
    """Read the part's published file, map and check it, write `converted/<part>.safetensors` (atomically)."""
    source = find_local(part.weights, folder)
    if source is None:
        raise MissingWeightsError(f"{part.weights.local_paths(folder)[0]} is missing")
    check_source_config(part, module, folder)
    logger.info("converting %s -> our %s (once)", source, part.part)
    converted = checked_state_dict(module, part.source, read_tensors(source))
    out = converted_path(folder, part.part)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    save_file({k: v.contiguous() for k, v in converted.items()}, str(tmp),
              metadata={"format": "pt", "source": f"{part.weights.repo_id}/{source.name}"})
    tmp.replace(out)
    return out


def assign_strict(module: torch.nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    """Assign our-named tensors to `module` (no copy, no init), strictly: every key, every shape."""
    report = check_keys(module, {k: tuple(v.shape) for k, v in state.items()})
    if not report.ok:
        raise CorruptWeightsError(f"{where} does not fit our {type(module).__name__}:\n{report.describe()}")
    module.load_state_dict(state, strict=False, assign=True)


def load_converted(module: torch.nn.Module, path: Path) -> None:
    """Load a converted `<part>.safetensors` (our names) into `module`."""
    assign_strict(module, read_tensors(path), f"{path} (delete {path.parent} to convert again)")


def build_empty(config: ModelConfig) -> RainModels:
    """Our models with parameters on the meta device (no memory, no init); buffers are real."""
    with init_empty_weights(include_buffers=False):
        return build_models(config, seed=None)


def unfilled(models: RainModels) -> list[str]:
    """Names of parameters or buffers still on the meta device."""
    return [f"{name}.{key}" for name, module in models.named_parts().items()
            for key, t in [*module.named_parameters(), *module.named_buffers()] if t.is_meta]


def load_published_entry(entry: WeightsEntry, folder: Path, local_files_only: bool = False,
                         ) -> tuple[RainModels, ModelConfig]:
    """Fetch what is missing, convert what is not converted yet, load every part from the safetensors."""
    if entry.model is None:
        raise ValueError(f"{entry.name}: a published entry must name its architecture (WeightsEntry.model)")
    fetch(entry, folder, local_files_only)
    models = build_empty(entry.model)
    for part in entry.parts:
        module = getattr(models, part.part)
        path = converted_path(folder, part.part)
        if not path.is_file():
            convert_part(part, module, folder)
        load_converted(module, path)
    if not (folder / CONVERTED_FOLDER / "config.json").is_file():
        entry.model.save(folder / CONVERTED_FOLDER / "config.json")
    left = unfilled(models)
    if left:
        raise WeightsError(f"{entry.name}: {len(left)} tensors of ours were not filled: {left[:10]}")
    return models, entry.model


def load_folder(folder: Path) -> tuple[RainModels, ModelConfig]:
    """A folder in our own format (`config.json` + `<part>.safetensors`)."""
    try:
        return load_models(folder)
    except FileNotFoundError as exc:
        raise MissingWeightsError(f"{exc} (expected a model folder: config.json + <part>.safetensors)") from exc
    except SafetensorError as exc:
        raise CorruptWeightsError(f"a safetensors file in {folder} cannot be read ({exc}): copy it again") from exc
