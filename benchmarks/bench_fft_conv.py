"""Could FFT convolution speed up the CPU training step? Prints JSON: forward+backward time of the
discriminator's and generator's largest stride-1 convolutions, oneDNN direct (torch.nn.functional.conv2d)
against an FFT convolution written with torch.fft (Gauss's three-multiplication complex product,
the kernel's DFT as one matmul), on the same tensors, with the relative error of the FFT result.

    python benchmarks/bench_fft_conv.py [--repeats 3]

A ratio (direct time / FFT time) below 1 means FFT convolution is slower. On the project's 2-core
AVX2 machine every layer measured below 1, which is why the Trainer does not use it.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any, Callable

import torch
import torch.nn.functional as F

# (batch, in, out, size, kernel): discriminator conv5 and conv4 on real+fake (batch 32) and fake
# (batch 16) at 64 px, width 64; generator decoder stages at 16, 8 and 32 px.
LAYERS = ((32, 512, 512, 16, 4), (16, 512, 512, 16, 4), (32, 256, 512, 16, 3), (16, 384, 128, 16, 3),
          (16, 768, 256, 8, 3), (16, 192, 64, 32, 3))
PADDING = 1


def dft_matrices(kernel: int, n: int, m: int) -> torch.Tensor:
    """(3, F, k*k): the kernel-to-spectrum maps for Gauss's product with conj(W) (F = n * (m//2+1))."""
    idx = torch.arange(kernel, dtype=torch.float64)
    u = torch.arange(n, dtype=torch.float64)[:, None, None, None]
    v = torch.arange(m // 2 + 1, dtype=torch.float64)[None, :, None, None]
    phase = 2 * math.pi * (u * idx[None, None, :, None] / n + v * idx[None, None, None, :] / m)
    cos = phase.cos().reshape(-1, kernel * kernel)
    sin = phase.sin().reshape(-1, kernel * kernel)
    return torch.stack([cos, sin - cos, cos + sin]).float()


def fft_conv2d(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, pad: int, mats: torch.Tensor) -> torch.Tensor:
    """Cross-correlation like F.conv2d(x, w, b, padding=pad), stride 1, through the 2-D real FFT."""
    batch, cin, h, wd = x.shape
    cout, _, k, _ = w.shape
    n, m = h + 2 * pad, wd + 2 * pad
    f = n * (m // 2 + 1)
    spec = torch.fft.rfft2(F.pad(x, (pad,) * 4)).reshape(batch, cin, f)
    re, im = spec.real.permute(2, 0, 1), spec.imag.permute(2, 0, 1)
    weights = (mats.reshape(3 * f, k * k) @ w.permute(2, 3, 1, 0).reshape(k * k, cin * cout)).reshape(3, f, cin, cout)
    k1 = torch.bmm((re + im).contiguous(), weights[0])
    k2 = torch.bmm(re.contiguous(), weights[1])
    k3 = torch.bmm(im.contiguous(), weights[2])
    out = torch.complex(k1 - k3, k1 + k2).permute(1, 2, 0).reshape(batch, cout, n, m // 2 + 1)
    return torch.fft.irfft2(out, s=(n, m))[:, :, :n - k + 1, :m - k + 1] + b.view(1, -1, 1, 1)


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = []
    for batch, cin, cout, size, k in LAYERS:
        mats = dft_matrices(k, size + 2 * PADDING, size + 2 * PADDING)
        x = torch.randn(batch, cin, size, size, requires_grad=True)
        w = (torch.randn(cout, cin, k, k) * 0.02).requires_grad_()
        b = torch.randn(cout, requires_grad=True)
        direct = F.conv2d(x, w, b, padding=PADDING)
        grad = torch.randn_like(direct)
        error = ((fft_conv2d(x, w, b, PADDING, mats) - direct).abs().max() / direct.abs().max()).item()
        t_direct = best_time(lambda: F.conv2d(x, w, b, padding=PADDING).backward(grad), args.repeats)
        t_fft = best_time(lambda: fft_conv2d(x, w, b, PADDING, mats).backward(grad), args.repeats)
        rows.append({"batch": batch, "in": cin, "out": cout, "size": size, "kernel": k,
                     "direct_s": round(t_direct, 4), "fft_s": round(t_fft, 4),
                     "ratio": round(t_direct / t_fft, 3), "relative_error": float(f"{error:.2e}")})
    print(json.dumps({"threads": torch.get_num_threads(), "layers": rows,
                      "fft_faster_anywhere": any(r["ratio"] > 1 for r in rows)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
