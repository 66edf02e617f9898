"""One training loop for every stage, on Hugging Face `accelerate` (CPU here, many GPUs elsewhere).

`accelerate launch -m rain train ...` scales it out; mixed precision, gradient accumulation and resumable
state (`<out>/state`) come from accelerate itself. Each stage writes `<out>/log.csv`, `<out>/loss.png`
and exports its weights to `<out>/model` (safetensors + config.json) when it finishes.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Callable

import torch
from accelerate import Accelerator, DistributedDataParallelKwargs
from tqdm.auto import tqdm

from rain.precision import cpu_has_native_bf16
from rain.train import logbook
from rain.train.config import TrainConfig

logger = logging.getLogger(__name__)

StepFn = Callable[[torch.nn.Module, dict, torch.Generator], dict[str, torch.Tensor]]  # -> {"loss": ..., ...}


def make_accelerator(cfg: TrainConfig) -> Accelerator:
    precision = cfg.mixed_precision
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() or cpu_has_native_bf16() else "no"
    # batches trained without the reference (--cond-drop) leave the reference net and image encoder without
    # gradients, which multi-GPU DDP must be told about
    handlers = [DistributedDataParallelKwargs(find_unused_parameters=True)] if cfg.cond_drop > 0 else []
    return Accelerator(mixed_precision=precision, gradient_accumulation_steps=cfg.grad_accum,
                       cpu=not torch.cuda.is_available(), kwargs_handlers=handlers)


def lr_lambda(cfg: TrainConfig) -> Callable[[int], float]:
    """Linear warm-up, then cosine decay to 10 % of the peak."""
    import math

    def factor(step: int) -> float:
        if step < cfg.warmup:
            return (step + 1) / cfg.warmup
        progress = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def run(cfg: TrainConfig, module: torch.nn.Module, loader: torch.utils.data.DataLoader, step_fn: StepFn,
        out: Path, resume: bool = True, after_step: Callable[[torch.nn.Module], None] | None = None,
        ) -> torch.nn.Module:
    """Train `module` for `cfg.steps` optimiser steps; return the unwrapped module. `after_step(module)` runs
    after each real optimiser step (not after the micro-batches of gradient accumulation): an EMA update."""
    out.mkdir(parents=True, exist_ok=True)
    accelerator = make_accelerator(cfg)
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg))
    module, optimizer, scheduler = accelerator.prepare(module, optimizer, scheduler)
    start = _resume(accelerator, out) if resume else 0
    generator = torch.Generator(accelerator.device).manual_seed(cfg.seed * 100_003 + start)
    logger.info("training %s: %d trainable parameters, steps %d..%d, %s", cfg.stage, sum(p.numel() for p in params),
                start, cfg.steps, accelerator.mixed_precision)
    batches = iter(loader)
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc=cfg.stage)
    t0 = time.perf_counter()
    for step in bar:
        with accelerator.accumulate(module), accelerator.autocast():
            losses = step_fn(module, next(batches), generator)
            accelerator.backward(losses["loss"])
            if accelerator.sync_gradients:
                accelerator.clip_grad_norm_(params, cfg.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
        if after_step is not None and accelerator.sync_gradients:
            after_step(accelerator.unwrap_model(module))
        values = {k: float(v.detach()) for k, v in losses.items()}
        bar.set_postfix(loss=f"{values['loss']:.4f}")
        if (step + 1) % cfg.log_every == 0 and accelerator.is_main_process:
            logbook.append(out / "log.csv", step + 1, values | {"sec_per_step": (time.perf_counter() - t0) / cfg.log_every})
            t0 = time.perf_counter()
        if (step + 1) % cfg.save_every == 0 or step + 1 == cfg.steps:
            _save(accelerator, out, step + 1)
    if accelerator.is_main_process and (out / "log.csv").exists():
        logbook.plot(out / "log.csv", out / "loss.png", f"{cfg.stage} stage")
    return accelerator.unwrap_model(module)


def _save(accelerator: Accelerator, out: Path, step: int) -> None:
    accelerator.save_state(str(out / "state"))
    if accelerator.is_main_process:
        (out / "state" / "step.json").write_text(json.dumps({"step": step}))


def _resume(accelerator: Accelerator, out: Path) -> int:
    marker = out / "state" / "step.json"
    if not marker.exists():
        return 0
    accelerator.load_state(str(out / "state"))
    step = json.loads(marker.read_text())["step"]
    logger.info("resumed from %s at step %d", out / "state", step)
    return step
