"""`python -m rain ship`: copy a trained model into checkpoints/ (int8 or fp16 safetensors, config, model card)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Sequence

from rain.checkpoint import load_models, save_models
from rain.eval.cli import WORLD_OF_MODE
from rain.quantize import STORAGE
from rain.weights.runtime import write_conditioning
from rain.worlds.style_filters import parse_families

STORAGE_TEXT = {"float32": "fp32", "float16": "fp16",
                "int8": "int8 with one fp16 scale per output channel (biases and norms fp16)"}

CARD = """# RAIN Live `{name}` ({mode} mode, CPU tier)

A small RAIN model (reference net, temporal denoising UNet, pose guider, image encoder, autoencoder)
{origin} on CPU on the project's procedural `{world}` world. Weights stored as {storage}
(see rain/quantize.py; loaded as fp32, inference runs in bf16 autocast on CPUs with native bf16).

- Architecture: `config.json` ({params:.1f} M parameters in all; {resolution}x{resolution} frames,
  trained on a pile of {groups} groups x {per} frames; a stream runs {stream_groups} x {stream_per} by default,
  {stream_groups} LCM steps).
- Data: procedurally rendered clips (seeds below {held_out}); evaluation on held-out seeds from {held_out}.
- Reproduce: `{command}`
- Training time on 2 CPU cores: {train_time}

## Measured on held-out sequences (`python -m rain eval --mode {mode}{families} --model checkpoints/{name} --json ...`)
{metrics}

## Limits
{limits}
"""


def trained_retarget(mode: str) -> dict[str, float] | None:
    """Face: the slider values the face world is centred on (the live sliders start there)."""
    if mode != "face":
        return None
    from rain.worlds.config import FaceWorldConfig
    from rain.worlds.face.geometry import world_sliders

    return world_sliders(FaceWorldConfig())


def metrics_table(result: dict) -> str:
    pile, ablation = result["pile"], result["no_temporal"]
    lines = [] if "sequences" not in result else [  # evals from 2026-12-06 on record their sample
        f"{result['sequences']} held-out sequences x {result['frames']} frames.\n"]
    lines += ["| metric | pile (ours) | no temporal attention |", "|---|---|---|"]
    for key in ("psnr", "ssim", "flicker", "edge_ratio", "motion_corr", "motion_ratio"):
        if key in pile:  # edge_ratio, motion_*: evals from 2026-11-30 on
            lines.append(f"| {key} | {pile[key]:.3f} | {ablation[key]:.3f} |")
    lines.append(f"\nflicker ratio (pile / ablation): {result['flicker_ratio']:.3f}")
    if "psnr_first_quarter" in pile:  # quality lost within a sequence as the stream feeds on its own output
        lines.append(f"within a sequence: first quarter {pile['psnr_first_quarter']:.2f} dB, last quarter "
                     f"{pile['psnr_last_quarter']:.2f} dB (ablation {ablation['psnr_first_quarter']:.2f} -> "
                     f"{ablation['psnr_last_quarter']:.2f} dB)")
    if result.get("entry") == "latent":
        frame = "the camera frame restyled by the preset" if "preset_as_output" in result else "the camera frame"
        lines.append(f"entry: img2img, the latent of {frame} noised to strength {result['strength']:g}")
    if "condition_as_output" in result:
        c = result["condition_as_output"]
        lines.append(f"the condition image itself as the output: PSNR {c['psnr']:.2f} dB, SSIM {c['ssim']:.3f}")
    if "preset_as_output" in result:  # a style preset's restyled camera frame, before the pile
        c = result["preset_as_output"]
        lines.append(f"the preset's restyled camera frame as the output (what enters the pile): PSNR {c['psnr']:.2f} dB, "
                     f"SSIM {c['ssim']:.3f}, flicker {c['flicker']:.2f}")
    if "drift" in result:
        d = result["drift"]
        lines.append(f"drift over {d['frames']} frames: first {d['window']} {d['psnr_first']:.2f} dB, "
                     f"last {d['window']} {d['psnr_last']:.2f} dB ({d['psnr_last'] - d['psnr_first']:+.2f} dB)")
        if "ablation_drift_db" in d:  # the stateless ablation on the same stream: what the content alone does
            lines.append(f"the no-temporal ablation on the same stream (no state, cannot drift): first "
                         f"{d['ablation_psnr_first']:.2f} dB, last {d['ablation_psnr_last']:.2f} dB "
                         f"({-d['ablation_drift_db']:+.2f} dB); the stream's own drift beyond the content: "
                         f"{-d['drift_vs_ablation_db']:+.2f} dB")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rain ship", description=__doc__)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--eval", type=Path, required=True, help="JSON written by `python -m rain eval`")
    p.add_argument("--out", type=Path, required=True, help="e.g. checkpoints/body")
    p.add_argument("--command", required=True, help="the command that reproduces the training")
    p.add_argument("--train-time", required=True)
    p.add_argument("--limits", default="See the closing notes of the tiny-tier issue.")
    p.add_argument("--storage", choices=STORAGE, default="int8", help="weight storage (int8: a quarter of fp32)")
    p.add_argument("--origin", default="trained from scratch", help="e.g. 'fine-tuned from checkpoints/body'")
    args = p.parse_args(argv)
    result = json.loads(args.eval.read_text())
    models, config = load_models(args.model)
    save_models(models, config, args.out, storage=args.storage)
    families = result.get("style_families", "all")  # what `eval --style-families` narrowed the world to
    styles = () if families == "all" else parse_families(families)
    write_conditioning(args.out, WORLD_OF_MODE[result["mode"]], trained_retarget(result["mode"]), styles,
                       result.get("face_condition"))
    (args.out / "eval.json").write_text(json.dumps(result, indent=2))
    params = sum(p.numel() for m in models.named_parts().values() for p in m.parameters()) / 1e6
    from rain.train.config import HELD_OUT_SEED_START

    (args.out / "MODEL_CARD.md").write_text(CARD.format(
        name=args.out.name, mode=result["mode"], world=WORLD_OF_MODE[result["mode"]], origin=args.origin,
        storage=STORAGE_TEXT[args.storage], params=params, resolution=config.resolution,
        groups=config.pile.num_groups, per=config.pile.frames_per_group, stream_groups=config.pile.default_groups,
        stream_per=config.pile.default_frames, held_out=HELD_OUT_SEED_START,
        command=args.command, train_time=args.train_time, metrics=metrics_table(result), limits=args.limits,
        families=(f" --style-families {','.join(styles)}" if styles else "")
        + (f" --face-condition {result['face_condition']}" if result.get("face_condition") else "")))
    print(f"shipped {args.out}")
    return 0
