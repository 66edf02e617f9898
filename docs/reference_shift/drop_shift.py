"""A model folder without its reference shift (fp32), to grow another kind of shift on the same trunk:
    PYTHONPATH=. python docs/reference_shift/drop_shift.py MODEL_DIR OUT_DIR
Used to start the separable face shift from the shipped joint one (docs/REFERENCE_SHIFT.md)."""
import dataclasses
import sys

from rain.checkpoint import load_models, save_models

models, config = load_models(sys.argv[1])
models.unet.shift = None
config = dataclasses.replace(config, unet=dataclasses.replace(config.unet, reference_shift=0,
                                                                reference_shift_axes="joint"))
save_models(models, config, sys.argv[2])
print(f"{sys.argv[2]}: {sys.argv[1]} without its reference shift")
