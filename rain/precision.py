"""Numeric precision on CPU: bf16 autocast where the processor has native bf16 (AVX512-BF16 / AMX)."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Iterator, Literal

import torch

logger = logging.getLogger(__name__)

Precision = Literal["auto", "bf16", "fp32"]


def cpu_has_native_bf16() -> bool:
    """True when /proc/cpuinfo lists amx_bf16 or avx512_bf16 (elsewhere: False, and we use fp32)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve(precision: Precision, device: torch.device) -> Literal["bf16", "fp32"]:
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be 'auto', 'bf16' or 'fp32', got {precision!r}")
    if precision == "auto":
        return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"
    return precision


@contextlib.contextmanager
def autocast(precision: Literal["bf16", "fp32"], device: torch.device) -> Iterator[None]:
    if precision == "bf16":
        with torch.autocast(device.type, dtype=torch.bfloat16):
            yield
    else:
        yield
