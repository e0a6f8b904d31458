"""The precision policy (colorcore.core.precision): the autocast dtype, GradScaler and memory format per device,
and the downstream experiment taking its autocast from the same policy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest
import torch

import colorcore.core.device as device_module
from colorcore.downstream import experiment as downstream
from colorcore.core.precision import (
    FP32,
    Precision,
    autocast_factory,
    channels_last_pays_off,
    compile_unavailable_reason,
    select_precision,
)

CPU, CUDA, MPS = torch.device("cpu"), torch.device("cuda"), torch.device("mps")
NEEDS_CPUINFO = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not torch.backends.mkldnn.is_available(),
    reason="the CPU's flags are read from /proc/cpuinfo on Linux, bf16 runs through oneDNN")


@pytest.fixture
def cpu_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Makes the CPU look like one with the given /proc/cpuinfo flags (a real file the detection reads)."""

    def use(flags: str) -> None:
        cpuinfo = tmp_path / "cpuinfo"
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
        monkeypatch.setattr(device_module, "CPUINFO_PATH", cpuinfo)
        device_module.cpu_supports_bf16.cache_clear()

    yield use
    device_module.cpu_supports_bf16.cache_clear()


def test_precision_and_memory_format_are_detected() -> None:
    cpu = torch.device("cpu")
    assert select_precision(cpu, amp=False) == Precision(None, False)
    assert not channels_last_pays_off(cpu, Precision(None, False))
    assert channels_last_pays_off(cpu, Precision(torch.bfloat16, False)) == torch.backends.mkldnn.is_available()


@NEEDS_CPUINFO
@pytest.mark.parametrize(("flags", "expected"), [
    ("fpu sse4_2 avx2 fma", None),  # an AVX2-only CPU like the development VM: fp32
    ("fpu avx2 avx512f avx512bw avx512vl", None),  # AVX-512 without its bf16 extension: fp32
    ("fpu avx2 avx512f avx512_bf16", torch.bfloat16),
    ("fpu avx2 amx_tile amx_bf16", torch.bfloat16),
])
def test_cpu_mixed_precision_follows_the_cpus_bf16_flags(cpu_flags: Callable[[str], None],
                                                          flags: str, expected: torch.dtype | None) -> None:
    cpu_flags(flags)
    assert select_precision(torch.device("cpu"), amp=True) == Precision(expected, False)


@pytest.mark.parametrize(("bf16", "allow_fp16", "expected", "label"), [
    (True, True, Precision(torch.bfloat16, False), "bf16"),
    (True, False, Precision(torch.bfloat16, False), "bf16"),
    (False, True, Precision(torch.float16, True), "fp16+scaler"),  # an older GPU: fp16 needs the scaler
    (False, False, FP32, "fp32"),  # a loop without a GradScaler gets no fp16
])
def test_cuda_gets_bf16_else_fp16_with_a_scaler_else_fp32(monkeypatch: pytest.MonkeyPatch, bf16: bool,
                                                          allow_fp16: bool, expected: Precision, label: str) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16)
    chosen = select_precision(CUDA, amp=True, allow_fp16=allow_fp16)
    assert chosen == expected and chosen.label == label
    assert select_precision(CUDA, amp=False, allow_fp16=allow_fp16) == FP32
    assert channels_last_pays_off(CUDA, chosen) and channels_last_pays_off(CUDA, FP32)


def test_mps_and_unknown_devices_train_in_fp32_without_channels_last() -> None:
    assert select_precision(MPS, amp=True) == FP32 and FP32.label == "fp32"
    assert not channels_last_pays_off(MPS, FP32)
    assert compile_unavailable_reason(MPS) == "torch.compile is not used on mps"


def test_autocast_factory_runs_the_chosen_dtype() -> None:
    a = torch.ones(4, 4)
    with autocast_factory(CPU, FP32)():
        assert not torch.is_autocast_enabled("cpu") and torch.mm(a, a).dtype == torch.float32
    with autocast_factory(CPU, Precision(torch.bfloat16, False))():  # CPU autocast runs bf16 on any CPU
        assert torch.mm(a, a).dtype == torch.bfloat16
    assert torch.mm(a, a).dtype == torch.float32  # only inside the context


@NEEDS_CPUINFO
@pytest.mark.parametrize(("flags", "dtype"), [("fpu avx2 fma", torch.float32),
                                              ("fpu avx2 avx512f avx512_bf16", torch.bfloat16)])
def test_the_downstream_experiment_follows_the_same_policy(cpu_flags: Callable[[str], None], flags: str,
                                                           dtype: torch.dtype) -> None:
    cpu_flags(flags)
    a = torch.ones(4, 4)
    with downstream.autocast_for(CPU)():
        assert torch.mm(a, a).dtype == dtype
