"""The weights registry: named models, the files each needs and where they come from.

- `tiny` (the shipped default): `checkpoints/body`, already in our own format (`config.json` plus one
  safetensors file per part, read by `rain.checkpoint.load_models`).
- `rain-v0.1`: the authors' published face-morphing model (SD1.5 UNets + AnimateDiff-v2 temporal
  modules), with the VAE, the CLIP image encoder and the DWPose pair it was trained with. The files
  are fetched from the Hugging Face Hub into `checkpoints/rain-v0.1/` on first use (or placed there
  by hand, same tree), converted once to our format in `checkpoints/rain-v0.1/converted/`, and used
  offline from then on. See docs/FULL_TIER.md for the tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rain.conditioning.config import ConditionConfig
from rain.conditioning.retarget import default_params
from rain.config import ModelConfig, sd15

CONDITIONING_FILE = "conditioning.json"  # in a model folder: {"mode": ..., "retarget": {...}} it was trained with

CHECKPOINTS_ROOT = Path("checkpoints")  # every registry folder lives under this root (relative: the working dir)
DEFAULT_WEIGHTS = "tiny"  # what the app and the CLI run when no weights are named
CONVERTED_FOLDER = "converted"  # inside an entry's folder: our format, written once from the published files

GB = 10**9
MB = 10**6


@dataclass(frozen=True)
class RemoteFile:
    """One file of a Hugging Face repo and its place on disk: `<entry folder>/<folder>/<filename>`."""

    repo_id: str  # the Hub repository
    filenames: tuple[str, ...]  # its path in the repo; alternatives in order of preference (first found is used)
    folder: str = ""  # local sub-folder of the entry folder, "" for the folder itself
    size: int = 0  # approximate bytes (the largest alternative), for the free-disk check before downloading

    def local_paths(self, root: Path) -> tuple[Path, ...]:
        return tuple(root / self.folder / name for name in self.filenames)


@dataclass(frozen=True)
class SourcePart:
    """A published file (plus an optional config.json) that fills one part of our `RainModels`."""

    part: str  # our part: unet, reference_net, pose_guider, vae, image_encoder
    source: str  # its name in rain.convert (which key mapping applies)
    weights: RemoteFile  # the tensors: .pth/.bin (pickled, read with weights_only=True) or .safetensors
    config: RemoteFile | None = None  # a diffusers/transformers config.json checked against our preset


@dataclass(frozen=True)
class WeightsEntry:
    name: str  # the registry name (`--weights NAME`)
    description: str  # one line for `--help` and logs
    folder: str  # under CHECKPOINTS_ROOT
    model: ModelConfig | None = None  # the architecture; None: read the folder's own config.json
    parts: tuple[SourcePart, ...] = ()  # published files to convert; () means the folder is already our format
    extras: tuple[RemoteFile, ...] = ()  # files used as they are (the DWPose ONNX pair)
    condition_mode: str = "body"  # the condition the model was trained on (rain.conditioning MODES)
    dwpose_folder: str | None = None  # sub-folder with the DWPose ONNX pair, if the entry brings one
    license: str = ""  # of the weights, shown in the docs
    retarget: tuple[tuple[str, float], ...] = ()  # face: slider values it was trained around (others: published)
    styles: tuple[str, ...] = ()  # style models: the style families it learned (rain.worlds.style_filters); () = all
    face_style: str = ConditionConfig.face_style  # face models: the face condition drawn in training ("dots" | "contours")

    def retarget_defaults(self) -> dict[str, float]:
        """The face sliders' starting values for this model: the published ones with its own overrides."""
        return {**default_params(), **dict(self.retarget)}

    @property
    def published(self) -> bool:
        return bool(self.parts)

    def path(self, root: Path = CHECKPOINTS_ROOT) -> Path:
        return Path(root) / self.folder

    def remote_files(self) -> tuple[RemoteFile, ...]:
        files = [f for p in self.parts for f in (p.weights, p.config) if f is not None]
        return tuple(files) + self.extras


_RAIN = "Pscgylotti/RAIN-v0.1"
_VAE = "stabilityai/sd-vae-ft-mse"
_CLIP = "lambdalabs/sd-image-variations-diffusers"
_DWPOSE = "yzd-v/DWPose"

RAIN_V01 = WeightsEntry(
    name="rain-v0.1",
    description="the authors' published anime face-morphing model (512x512, needs a CUDA GPU to be live)",
    folder="rain-v0.1",
    model=sd15(),
    parts=(
        SourcePart("unet", "motion_unet", RemoteFile(_RAIN, ("motion_unet.pth",), size=5_260 * MB)),
        SourcePart("reference_net", "reference_unet", RemoteFile(_RAIN, ("reference_unet.pth",), size=3_440 * MB)),
        SourcePart("pose_guider", "pose_guider", RemoteFile(_RAIN, ("pose_guider.pth",), size=5 * MB)),
        SourcePart("vae", "vae",
                   RemoteFile(_VAE, ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"),
                              folder="sd-vae-ft-mse", size=335 * MB),
                   RemoteFile(_VAE, ("config.json",), folder="sd-vae-ft-mse", size=1 * MB)),
        SourcePart("image_encoder", "image_encoder",
                   RemoteFile(_CLIP, ("image_encoder/model.safetensors", "image_encoder/pytorch_model.bin"),
                              size=1_220 * MB),
                   RemoteFile(_CLIP, ("image_encoder/config.json",), size=1 * MB)),
    ),
    extras=(
        RemoteFile(_DWPOSE, ("dw-ll_ucoco_384.onnx",), folder="dwpose", size=135 * MB),
        RemoteFile(_DWPOSE, ("yolox_l.onnx",), folder="dwpose", size=218 * MB),
    ),
    condition_mode="face",
    dwpose_folder="dwpose",
    license=("RAIN-v0.1: Apache-2.0; sd-vae-ft-mse: MIT; sd-image-variations: CreativeML OpenRAIL-M; "
             "DWPose: see its card"),
)

TINY = WeightsEntry(
    name="tiny",
    description="the shipped CPU-tier body model (256x256, runs live on 2 cores; undertrained, see its model card)",
    folder="body",
    condition_mode="body",
    license="this project's",
)

REGISTRY: dict[str, WeightsEntry] = {entry.name: entry for entry in (TINY, RAIN_V01)}


def get_entry(name: str) -> WeightsEntry:
    if name not in REGISTRY:
        raise KeyError(f"unknown weights {name!r}; the registry has {sorted(REGISTRY)} "
                       "(or pass a model folder path)")
    return REGISTRY[name]
