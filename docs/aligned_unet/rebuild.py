"""Re-make the aligned-UNet candidate (sessions 27-28, 6,200 steps of the part; docs/ALIGNED_UNET.md) without its
~86 min of training: the shipped face model, grown with the aligned reference and its shift, given the trained
parts (`unet.aligned.*`, `unet.skip.*`, `unet.shift.*`, saved by `save` below; the runs trained nothing else).
`PYTHONPATH=. python docs/aligned_unet/rebuild.py OUT_DIR` (then `--init OUT_DIR` to train on);
`PYTHONPATH=. python docs/aligned_unet/rebuild.py --save RUN_MODEL_DIR` writes the parts file from a run."""

import sys
from pathlib import Path

from safetensors.torch import load_file, save_file

from rain.checkpoint import load_models, save_models
from rain.train.config import TrainConfig
from rain.train.stages import with_aligned_reference

PARTS = Path(__file__).with_name("parts_6200.safetensors")
TRAINED = ("aligned.", "skip.", "shift.")


def save(run_model: str) -> None:
    models, _ = load_models(run_model)
    save_file({k: v.contiguous() for k, v in models.unet.state_dict().items() if k.startswith(TRAINED)}, PARTS)


def rebuild(out: str) -> None:
    models, config = load_models("checkpoints/face")
    config = with_aligned_reference(models, config, TrainConfig(world="face", aligned_reference=1, aligned_shift=6))
    parts = load_file(PARTS)
    missing, unexpected = models.unet.load_state_dict(parts, strict=False)
    if unexpected or any(k.startswith(TRAINED) for k in missing):
        raise RuntimeError(f"the parts do not fit: unexpected {unexpected}")
    save_models(models, config, out)


if __name__ == "__main__":
    save(sys.argv[2]) if sys.argv[1] == "--save" else rebuild(sys.argv[1])
