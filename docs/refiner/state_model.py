"""A pile run's saved state (runs/X/state, written every --save-every steps) as a model folder, to evaluate or
ship a run at a step before its last. The architecture comes from the run's --init folder (the run must not
have grown a part); the streams' default of frames per call is set as given (training resets it).
Run: PYTHONPATH=. python docs/refiner/state_model.py INIT_MODEL runs/X/state/model.safetensors OUT [STREAM_FRAMES]"""
import sys

from safetensors.torch import load_file

from rain.checkpoint import load_models, save_models

init, state, out = sys.argv[1:4]
models, config = load_models(init)
weights = load_file(state)
for name, module in models.named_parts().items():
    part = {k[len(name) + 1:]: v for k, v in weights.items() if k.startswith(name + ".")}
    if not part:
        continue  # not trained by the run (e.g. the VAE of pixel space, a refiner)
    missing, unexpected = module.load_state_dict(part, strict=False)
    if unexpected or [k for k in missing if not k.endswith("position_ids")]:
        raise SystemExit(f"{name}: the state does not match {init}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    print(f"{name}: {len(part)} tensors from {state}")
save_models(models, config.with_pile(stream_frames=int(sys.argv[4]) if len(sys.argv) > 4 else 0), out)
