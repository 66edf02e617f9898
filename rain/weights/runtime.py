"""A ready `RainPipeline` for a registry name: device and precision, the no-GPU warning, freeing memory.

- CUDA (when available): fp16 weights, every call under fp16 autocast (`HalfWeightsPipeline`).
- CPU: float32 weights; `RainPipeline` itself adds bf16 autocast where the CPU has native bf16.
- `free_reference_models(pipeline)`: after the references are encoded, drop the reference net, the image
  encoder and the VAE encoder (the published demo's "unload reference": ~12 -> ~8 GiB on the GPU).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rain.conditioning.config import FACE_STYLES, MODES, ConditionConfig
from rain.conditioning.retarget import resolve_params
from rain.config import ModelConfig
from rain.models import RainModels
from rain.pipeline import RainPipeline
from rain.precision import Precision
from rain.state import ReferenceState, StreamState
from rain.worlds.style_filters import parse_families
from rain.weights.errors import CorruptWeightsError, MissingWeightsError
from rain.weights.load import load_folder, load_published_entry
from rain.weights.registry import CHECKPOINTS_ROOT, CONDITIONING_FILE, DEFAULT_WEIGHTS, REGISTRY, WeightsEntry

logger = logging.getLogger(__name__)

# Measured on this project's build machine (2-core x86-64 with AMX, torch 2.13 CPU, 1 thread, bf16
# autocast, random weights): the median pile call of the sd15 architecture (UNet over 16 frames + LCM
# step + decoding 4 frames) at a small size, with `python -m rain.weights.cpu_speed --resolution 128`.
CPU_MEASURED_RESOLUTION = 128  # pixels (square)
CPU_MEASURED_SECONDS = 11.1  # per pile call at that resolution
CPU_SLOW_WARNING = (
    "no CUDA GPU: running {name} on the CPU will be very slow. Measured: one pile call (4 new frames) of the "
    "RAIN-v0.1 architecture (2.6 B parameters) took {seconds:.0f} s at {resolution}x{resolution} on a 2-core CPU "
    "(1 thread, bf16 autocast); this model runs at {size}x{size}, {factor:g}x those pixels. Use a CUDA GPU "
    "(fp16, ~8-12 GiB) for live use.")


class FreedModule(torch.nn.Module):
    """Stands where a model part was freed; calling it explains why it is gone."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def forward(self, *args, **kwargs):  # noqa: ANN002, ANN003
        raise RuntimeError(f"the {self.what} was freed (free_reference_models) to save memory, so no new reference "
                           "can be encoded; existing streams keep working. Load the weights again to encode another.")

    def capture(self, *args, **kwargs):  # noqa: ANN002, ANN003 - the reference net's entry point
        return self.forward()


class HalfWeightsPipeline(RainPipeline):
    """Half-precision weights (fp16 on CUDA): every call runs under autocast of that dtype, so the
    pipeline's float32 inputs (images, noise, guidance) meet the weights in one dtype."""

    def __init__(self, models: RainModels, config: ModelConfig, dtype: torch.dtype = torch.float16) -> None:
        super().__init__(models, config, precision="fp32")  # the pipeline's own (bf16-on-CPU) autocast stays off
        self.half_dtype = dtype

    def encode_reference(self, image: np.ndarray) -> ReferenceState:
        with torch.autocast(self.device.type, dtype=self.half_dtype):
            return super().encode_reference(image)

    def step(self, stream: StreamState, conditions: np.ndarray | None,
             maps: np.ndarray | None = None) -> np.ndarray:
        with torch.autocast(self.device.type, dtype=self.half_dtype):
            return super().step(stream, conditions, maps)


def free_reference_models(pipeline: RainPipeline) -> int:
    """Drop the reference net, the image encoder and the VAE encoder; return the parameters freed.

    Pipeline-wide and one-way (the models stay shared and stateless per stream): streams whose reference
    is already encoded keep running; `encode_reference` afterwards raises, naming the cause."""
    models = pipeline.models
    freed = sum(p.numel() for m in (models.reference_net, models.image_encoder) for p in m.parameters())
    if hasattr(models.vae, "encoder"):
        freed += sum(p.numel() for p in models.vae.encoder.parameters())
        models.vae.encoder = FreedModule("VAE encoder")
    pipeline.models = dataclasses.replace(models, reference_net=FreedModule("reference net"),
                                          image_encoder=FreedModule("image encoder"))
    if pipeline.device.type == "cuda":
        torch.cuda.empty_cache()
    logger.info("freed %.0f M parameters (reference net, image encoder, VAE encoder)", freed / 1e6)
    return freed


@dataclass(frozen=True)
class LoadedWeights:
    entry: WeightsEntry  # what was loaded
    folder: Path  # where its files are
    pipeline: RainPipeline  # ready to encode references and step streams
    condition: ConditionConfig  # the conditioning the model was trained with (mode, resolution, DWPose folder)


def pick_device(device: str | torch.device | None) -> torch.device:
    return torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))


def resolve_entry(weights: str | Path | WeightsEntry, root: Path) -> tuple[WeightsEntry, Path]:
    """A registry name, an entry, or a model folder in our format -> (entry, its folder)."""
    if isinstance(weights, WeightsEntry):
        return weights, weights.path(root)
    if str(weights) in REGISTRY:
        entry = REGISTRY[str(weights)]
        return entry, entry.path(root)
    folder = Path(weights)
    if not folder.is_dir():
        raise MissingWeightsError(f"{weights!r} is neither a registry name ({', '.join(sorted(REGISTRY))}) "
                                  "nor a model folder")
    return folder_entry(folder), folder


def folder_entry(folder: Path) -> WeightsEntry:
    """A model folder in our format as an entry; its conditioning.json (if any) says how it was trained."""
    conditioning, styles = {}, ()
    face_style = ConditionConfig.face_style
    if (folder / CONDITIONING_FILE).is_file():
        try:
            conditioning = json.loads((folder / CONDITIONING_FILE).read_text())
            mode, retarget = conditioning.get("mode", "body"), conditioning.get("retarget", {})
            resolve_params(retarget)  # unknown names or out-of-range values are an error here, not in the UI
            styles = parse_families(",".join(conditioning.get("styles", [])))
            face_style = conditioning.get("face_style", face_style)
        except (ValueError, AttributeError, TypeError) as exc:
            raise CorruptWeightsError(f"{folder / CONDITIONING_FILE}: {exc}") from exc
        if mode not in MODES:
            raise CorruptWeightsError(f"{folder / CONDITIONING_FILE}: mode must be one of {MODES}, got {mode!r}")
        if face_style not in FACE_STYLES:
            raise CorruptWeightsError(f"{folder / CONDITIONING_FILE}: face_style must be one of {FACE_STYLES}, "
                                      f"got {face_style!r}")
    return WeightsEntry(name=folder.name, description=f"model folder {folder}", folder=str(folder.resolve()),
                        condition_mode=conditioning.get("mode", "body"),
                        retarget=tuple(sorted(conditioning.get("retarget", {}).items())),
                        styles=styles, face_style=face_style)


def write_conditioning(folder: Path, mode: str, retarget: dict[str, float] | None = None,
                       styles: tuple[str, ...] = (), face_style: str | None = None) -> None:
    """Record beside the weights the condition mode, face slider values, learned style families and face
    condition style a model was trained with."""
    record = {"mode": mode, "retarget": retarget or {}, **({"styles": list(styles)} if styles else {}),
              **({"face_style": face_style} if face_style else {})}
    (Path(folder) / CONDITIONING_FILE).write_text(json.dumps(record, indent=2))


def condition_config(entry: WeightsEntry, folder: Path, config: ModelConfig) -> ConditionConfig:
    condition = ConditionConfig(mode=entry.condition_mode, resolution=config.resolution, face_style=entry.face_style)
    if entry.dwpose_folder is None:
        return condition
    return dataclasses.replace(condition, backend="dwpose", dwpose_dir=str(folder / entry.dwpose_folder))


def make_pipeline(models: RainModels, config: ModelConfig, device: torch.device, precision: Precision = "auto",
                  ) -> RainPipeline:
    """fp16 + autocast on CUDA, float32 (bf16 autocast where native) on the CPU."""
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    for module in models.named_parts().values():
        module.to(device=device)
        if any(p.dtype != dtype for p in module.parameters()):
            module.to(dtype=dtype)
    if device.type == "cuda":
        return HalfWeightsPipeline(models, config, torch.float16)
    return RainPipeline(models, config, precision)


def warn_if_slow(entry: WeightsEntry, config: ModelConfig, device: torch.device) -> None:
    if device.type == "cuda" or not entry.published:
        return
    factor = round((config.resolution / CPU_MEASURED_RESOLUTION) ** 2, 2)
    logger.warning(CPU_SLOW_WARNING.format(name=entry.name, seconds=CPU_MEASURED_SECONDS,
                                           resolution=CPU_MEASURED_RESOLUTION, size=config.resolution, factor=factor))


def load_weights(weights: str | Path | WeightsEntry = DEFAULT_WEIGHTS, device: str | torch.device | None = None,
                 root: str | Path = CHECKPOINTS_ROOT, local_files_only: bool = False, precision: Precision = "auto",
                 ) -> LoadedWeights:
    """Everything `--weights NAME` needs: fetch/convert on first use, then a ready pipeline on `device`
    (default: CUDA if available, else CPU) and the matching conditioning settings."""
    entry, folder = resolve_entry(weights, Path(root))
    device = pick_device(device)
    warn_if_slow(entry, entry.model or ModelConfig(), device)
    if entry.published:
        models, config = load_published_entry(entry, folder, local_files_only)
    else:
        models, config = load_folder(folder)
    pipeline = make_pipeline(models, config, device, precision)
    return LoadedWeights(entry, folder, pipeline, condition_config(entry, folder, config))


def load_pipeline(weights: str | Path | WeightsEntry = DEFAULT_WEIGHTS, device: str | torch.device | None = None,
                  **kwargs) -> RainPipeline:  # noqa: ANN003 - load_weights' keyword arguments
    """`load_weights(...).pipeline`: the one call the app needs for `--weights NAME`."""
    return load_weights(weights, device, **kwargs).pipeline
