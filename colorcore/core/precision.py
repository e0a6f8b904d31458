"""The precision policy: which autocast dtype, GradScaler, memory format and compilation a device gets.

One place decides for every training loop (the Trainer and the downstream experiment): bf16 autocast
where the CPU or GPU runs it natively, fp16 with a GradScaler on CUDA GPUs without bf16 (only for loops
that use a scaler), fp32 everywhere else. Capabilities are detected, never assumed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, ContextManager

import torch

from colorcore.core.device import cpu_supports_bf16


@dataclass(frozen=True)
class Precision:
    """The mixed precision a device gets: autocast dtype (None = fp32) and whether a GradScaler is used."""

    dtype: torch.dtype | None
    scaler: bool

    @property
    def label(self) -> str:
        """"bf16", "fp16+scaler" or "fp32"."""
        if self.dtype is None:
            return "fp32"
        return "bf16" if self.dtype == torch.bfloat16 else "fp16+scaler"


FP32 = Precision(None, False)


def select_precision(device: torch.device, amp: bool, *, allow_fp16: bool = True) -> Precision:
    """bf16 autocast where the CPU/GPU runs it natively, fp16 + GradScaler on older CUDA GPUs, else fp32.

    `amp` False always gives fp32. `allow_fp16` False is for loops without a GradScaler (fp16 gradients
    underflow without one): a CUDA GPU without bf16 then gets fp32.
    """
    if not amp:
        return FP32
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return Precision(torch.bfloat16, False)
        return Precision(torch.float16, True) if allow_fp16 else FP32
    if device.type == "cpu" and cpu_supports_bf16():
        return Precision(torch.bfloat16, False)
    return FP32


def channels_last_pays_off(device: torch.device, precision: Precision) -> bool:
    """True where channels_last convolutions are faster: CUDA, and CPUs running bf16 through oneDNN.

    On an AVX2-only CPU in fp32 it was slower here (0.8x for the width-64 multipath step), so the
    CPU uses it only together with bf16 autocast.
    """
    if device.type == "cuda":
        return True
    return device.type == "cpu" and torch.backends.mkldnn.is_available() and precision.dtype == torch.bfloat16


def autocast_factory(device: torch.device, precision: Precision) -> Callable[[], ContextManager]:
    """A zero-argument function returning the autocast context for one forward pass."""
    if precision.dtype is None:
        return contextlib.nullcontext
    return lambda: torch.autocast(device.type, dtype=precision.dtype)


def compile_unavailable_reason(device: torch.device) -> str | None:
    """None when torch.compile works on `device` here (a tiny function is compiled and run), else why not
    (no C++ compiler for the CPU backend, no Triton for the GPU one, an unsupported device...)."""
    if device.type not in ("cpu", "cuda"):
        return f"torch.compile is not used on {device.type}"
    try:
        probe = torch.compile(lambda x: torch.sin(x) * 2 + 1, dynamic=False)
        probe(torch.ones(8, device=device))
    except Exception as exc:  # any backend failure means: train eagerly
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"torch.compile is not available here ({type(exc).__name__}: {first_line[:200]})"
    return None
