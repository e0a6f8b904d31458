"""Benchmark the Trainer against a plain fp32 eager loop of the same model and batch; prints JSON.

Reference: the straightforward loop on a batch already converted to float tensors, contiguous
(NCHW) memory, fp32, no autocast: for the GAN models (multipath, scgan) the textbook step (D on real
and on fake in two calls, D's weight gradients computed in the G step, default Adam); for zhang its
own `training_step` (one network, SGD: already the textbook loop).
Trainer: `colorcore.training.trainer.Trainer` on a prepared dataset of the same images (uint8 storage,
per-step batch conversion, logging every step, the detected mixed precision and channels_last), timed
from its own step events after the warm-up steps. The dataset holds enough images that the timed
steps stay inside the first epoch (no validation or checkpoint inside a timed step; checked). Both
run in this process, one after the other; each side counts its fastest step (img/s = batch / best
step time), so a briefly busy machine does not decide the comparison.

`peak_fraction` = achieved FLOP/s of the Trainer (FLOPs of one training step counted by
torch.utils.flop_counter) / a measured peak in the precision the Trainer uses (the faster of a
large matmul and a large 3x3 convolution, measured at the start and at the end);
`reference_peak_fraction` the same for the plain loop with its own FLOP count.

    python benchmarks/bench_train.py [--models multipath scgan zhang] [--device cpu|cuda|auto]
                                     [--batch-size 64] [--width 64] [--steps 5] [--warmup 2]
                                     [--rounds 2] [--no-amp] [--no-channels-last] [--compile]

`--compile` also times the Trainer with `TrainConfig(compile=True)` (torch.compile of the networks) in
the same rounds: `compiled_img_s`, `compile_speedup` over the eager Trainer, `compile_warmup_s` (the
warm-up steps, where compilation happens) and whether it compiled (`compiled`: False when torch.compile
could not run here and the Trainer fell back to eager).

`--models` defaults to every registered model.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorcore.models import losses  # noqa: E402
from colorcore.data.prepare import prepare  # noqa: E402
from colorcore.data.prepared import load_prepared  # noqa: E402
from colorcore.core.device import describe_device, resolve_device  # noqa: E402
from colorcore.models.base import MODEL_REGISTRY, ModelConfig, StepContext, build_model  # noqa: E402
from colorcore.core.tensors import batch_from_uint8  # noqa: E402
from colorcore.training.trainer import TrainConfig, Trainer, select_precision  # noqa: E402

CANDIDATE_SIZES = (64, 128)
PEAK_MATMUL_N = {"cpu": 2048, "cuda": 8192}
PEAK_REPEATS = 10
TEST_FRACTION = 0.1
SPLIT_MARGIN = 0.08  # the hashed split's test share varies around TEST_FRACTION


def image_size_for(name: str, width: int) -> int:
    """The smallest candidate size the model accepts."""
    for size in CANDIDATE_SIZES:
        try:
            build_model(ModelConfig(name=name, image_size=size, width=max(1, width // 8), resnet_weights="none"))
            return size
        except ValueError:
            continue
    raise ValueError(f"{name}: none of the sizes {CANDIDATE_SIZES} works")


def make_dataset(root: Path, count: int, size: int) -> Path:
    """`count` structured random photos prepared at `size`."""
    rng = np.random.default_rng(0)
    photos = root / f"photos_{size}"
    photos.mkdir(parents=True)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for i in range(count):
        base = rng.uniform(30, 220, 3)
        image = base + xs[..., None] * rng.uniform(-60, 60, 3) + ys[..., None] * rng.uniform(-60, 60, 3)
        image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
        cv2.circle(image, tuple(int(v) for v in rng.integers(8, size - 8, 2)), size // 6,
                   tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
        cv2.imwrite(str(photos / f"p{i:04d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    out = root / f"data_{size}"
    prepare(photos, out, size=size, test_fraction=TEST_FRACTION, seed=0, workers=2)
    return out


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_multipath_step(model: Any, batch: dict[str, torch.Tensor], opts: dict[str, Any]) -> None:
    """The textbook GAN step for the paper's model: D on real and on fake in two calls, then G with
    D's weight gradients computed (and discarded), default Adam."""
    cfg = model.config
    gray, rgb = batch["gray"], batch["rgb"]
    out = model.generator(gray)
    fake = out[:, :3]
    loss_d = losses.paper_d_loss(model.discriminator(rgb, gray), model.discriminator(fake.detach(), gray))
    opts["d"].zero_grad()
    loss_d.backward()
    opts["d"].step()
    terms = losses.paper_generator_terms(fake, losses.map_to_unit(out[:, 3:4]), losses.map_to_unit(out[:, 4:5]),
                                         rgb, batch["saliency"], batch["edge"])
    loss_g = (cfg.lambda_l1 * terms["l1"] + cfg.lambda_gan * losses.paper_g_adv(model.discriminator(fake, gray))
              + cfg.lambda_sal * terms["sal"] + cfg.lambda_edge * terms["edge"])
    opts["g"].zero_grad()
    loss_g.backward()
    opts["g"].step()


def plain_scgan_step(model: Any, batch: dict[str, torch.Tensor], opts: dict[str, Any]) -> None:
    """The textbook step of the SCGAN baseline (pix2pix style): as above with the GAN + L1 loss."""
    cfg = model.config
    gray1, rgb = batch["gray"][:, :1], batch["rgb"]
    fake = model.generator(gray1)
    loss_d = losses.paper_d_loss(model.discriminator(rgb, gray1), model.discriminator(fake.detach(), gray1))
    opts["d"].zero_grad()
    loss_d.backward()
    opts["d"].step()
    loss_g = (cfg.lambda_l1 * losses.l1_loss(fake, rgb)
              + cfg.lambda_gan * losses.paper_g_adv(model.discriminator(fake, gray1)))
    opts["g"].zero_grad()
    loss_g.backward()
    opts["g"].step()


TEXTBOOK_GAN_STEPS = {"multipath": plain_multipath_step, "scgan": plain_scgan_step}


def plain_step_for(model: Any) -> tuple[Callable[[dict[str, torch.Tensor]], None], dict[str, Any]]:
    """The reference step and its optimisers: textbook code for the GAN models, else the model's own step."""
    textbook = TEXTBOOK_GAN_STEPS.get(model.name)
    if textbook is not None and model.config.gan_loss == "paper":
        params = {"g": [p for p in model.generator.parameters() if p.requires_grad],
                  "d": list(model.discriminator.parameters())}
        lrs = {"g": model.hyperparameter("lr_g"), "d": model.hyperparameter("lr_d")}
        betas = (model.hyperparameter("beta1"), model.config.beta2)
        opts = {k: torch.optim.Adam(params[k], lr=lrs[k], betas=betas) for k in params}
        return (lambda batch: textbook(model, batch, opts)), opts
    opts = model.make_optimizers()
    ctx = StepContext()
    return (lambda batch: model.training_step(batch, opts, ctx)), opts


def step_flops(step: Callable[[dict[str, torch.Tensor]], Any], inputs: dict[str, torch.Tensor]) -> float:
    """FLOPs of one call of `step`, counted by torch.utils.flop_counter."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step(inputs)
    return float(counter.get_total_flops())


def first_batch(data: Path, batch: int, device: torch.device) -> dict[str, torch.Tensor]:
    """The first `batch` training images as a float model batch on `device`."""
    rgb, edge, sal = (t[:batch].to(device) for t in load_prepared(data).tensors("train"))
    return batch_from_uint8(rgb, edge, sal)


def count_flops(config: ModelConfig, data: Path, batch: int, device: torch.device) -> tuple[float, float]:
    """FLOPs of one plain (textbook) step and of one of the model's own (Trainer) steps."""
    model = build_model(config).to(device).train()
    inputs = first_batch(data, batch, device)
    own_opts, own_ctx = model.make_optimizers(), StepContext()
    own = step_flops(lambda b: model.training_step(b, own_opts, own_ctx), inputs)
    plain = step_flops(plain_step_for(model)[0], inputs)
    return plain, own


def reference_img_s(config: ModelConfig, data: Path, batch: int, steps: int, warmup: int,
                    device: torch.device) -> float:
    """Plain loop img/s of its fastest step."""
    torch.manual_seed(0)
    model = build_model(config).to(device).train()
    inputs = first_batch(data, batch, device)
    step, _ = plain_step_for(model)
    for _ in range(warmup):
        step(inputs)
    durations = []
    for _ in range(steps):
        sync(device)
        start = time.perf_counter()
        step(inputs)
        sync(device)
        durations.append(time.perf_counter() - start)
    return batch / min(durations)


class _StepTimes:
    def __init__(self) -> None:
        self.times: dict[int, tuple[float, int]] = {}

    def on_step(self, event: Any) -> None:
        self.times[event.step] = (event.time_s, event.epoch)


def trainer_img_s(config: ModelConfig, data: Path, run: Path, batch: int, steps: int, warmup: int,
                  device_name: str, amp: bool, channels_last: bool, compile: bool = False) -> dict[str, Any]:
    """Trainer img/s of its fastest step after the warm-up (from consecutive step events), the seconds
    of the warm-up steps and whether the networks were compiled.

    Raises when a timed step crossed an epoch end (validation and checkpoints would be timed too).
    """
    times = _StepTimes()
    cfg = TrainConfig(data=str(data), run_dir=str(run), model=config, epochs=10_000, batch_size=batch,
                      device=device_name, amp=amp, channels_last=channels_last, max_steps=warmup + steps,
                      log_interval_s=0.0, eval_subset=0, sample_count=0, keep_checkpoints=0, compile=compile)
    result = Trainer(cfg, [times]).run()
    if result.status != "finished":
        raise RuntimeError(f"trainer run {result.status}: {result.error}")
    t = times.times
    timed = range(warmup, warmup + steps)
    if any(t[k + 1][1] != t[k][1] for k in timed):
        raise RuntimeError("a timed step crossed an epoch end: the benchmark dataset is too small")
    compiled = json.loads((run / "config.json").read_text(encoding="utf-8"))["compiled"]
    return {"img_s": batch / min(t[k + 1][0] - t[k][0] for k in timed), "warmup_s": t[warmup][0],
            "compiled": compiled}


def dataset_size(batch: int, steps: int, warmup: int) -> int:
    """Images to prepare so that warm-up + timed steps fit in the first epoch of the train split."""
    train_needed = batch * (warmup + steps + 1)
    return max(int(train_needed / (1 - TEST_FRACTION - SPLIT_MARGIN)) + 1, 16)


def _best_time(fn: Callable[[], Any], device: torch.device) -> float:
    fn()
    best = float("inf")
    for _ in range(PEAK_REPEATS):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def matmul_peak(device: torch.device, dtype: torch.dtype) -> float:
    """Best FLOP/s in `dtype` on `device` of a square matmul and of a large 3x3 convolution.

    Both are measured because the BLAS behind matmul is not always the fastest kernel library on the
    machine (MKL's sgemm on AMD CPUs runs below oneDNN's convolutions).
    """
    n = PEAK_MATMUL_N.get(device.type, 1024)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    matmul = 2 * n**3 / _best_time(lambda: a @ b, device)
    x = torch.randn(32, 512, 16, 16, device=device, dtype=dtype)
    w = torch.randn(512, 512, 3, 3, device=device, dtype=dtype)
    conv = 2 * 32 * 16 * 16 * 512 * 512 * 9 / _best_time(lambda: torch.nn.functional.conv2d(x, w, padding=1), device)
    return max(matmul, conv)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=sorted(MODEL_REGISTRY), choices=sorted(MODEL_REGISTRY))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per side")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved reference/Trainer rounds; best of each side")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True, help="Trainer side")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True, help="Trainer side")
    parser.add_argument("--compile", action="store_true", help="also time the Trainer with torch.compile")
    args = parser.parse_args()

    device = resolve_device(args.device)
    precision = select_precision(device, amp=args.amp)
    peak = matmul_peak(device, precision.dtype or torch.float32)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        root = Path(tmp)
        datasets: dict[int, Path] = {}
        for name in args.models:
            size = image_size_for(name, args.width)
            if size not in datasets:
                datasets[size] = make_dataset(root, dataset_size(args.batch_size, args.steps, args.warmup), size)
            config = ModelConfig(name=name, image_size=size, width=args.width, resnet_weights="none")
            plain_flops, flops = count_flops(config, datasets[size], args.batch_size, device)
            ref = fast = 0.0
            compiled: dict[str, Any] = {}
            for round_index in range(args.rounds):  # interleaved, so a slow spell hits both sides alike
                ref = max(ref, reference_img_s(config, datasets[size], args.batch_size, args.steps,
                                               args.warmup, device))
                fast = max(fast, trainer_img_s(config, datasets[size], root / f"run_{name}_{round_index}",
                                               args.batch_size, args.steps, args.warmup, args.device,
                                               args.amp, args.channels_last)["img_s"])
                if args.compile:
                    side = trainer_img_s(config, datasets[size], root / f"compiled_{name}_{round_index}",
                                         args.batch_size, args.steps, args.warmup, args.device, args.amp,
                                         args.channels_last, compile=True)
                    if side["img_s"] > compiled.get("img_s", 0.0):
                        compiled = side
            extra = {} if not compiled else {
                "compiled": compiled["compiled"], "compiled_img_s": round(compiled["img_s"], 2),
                "compile_speedup": round(compiled["img_s"] / fast, 3),
                "compile_warmup_s": round(compiled["warmup_s"], 1)}
            results.append({**extra,
                "model": name, "image_size": size, "width": args.width, "batch_size": args.batch_size,
                "reference_img_s": round(ref, 2), "trainer_img_s": round(fast, 2), "speedup": round(fast / ref, 3),
                "gflop_per_step": round(flops / 1e9, 1), "reference_gflop_per_step": round(plain_flops / 1e9, 1),
                "_flop_s": (fast / args.batch_size * flops, ref / args.batch_size * plain_flops),
            })
    peak = max(peak, matmul_peak(device, precision.dtype or torch.float32))  # the better of start and end
    for row in results:
        trainer_flop_s, reference_flop_s = row.pop("_flop_s")
        row["peak_fraction"] = float(f"{trainer_flop_s / peak:.3g}")  # significant digits: a tiny model is far below 1e-4
        row["reference_peak_fraction"] = float(f"{reference_flop_s / peak:.3g}")
    first = results[0]
    print(json.dumps({
        **{k: first[k] for k in ("model", "reference_img_s", "trainer_img_s", "speedup", "peak_fraction")},
        "device": describe_device(device),
        "precision": precision.label,
        "channels_last": args.channels_last,
        "peak_gflop_s": round(peak / 1e9, 1),
        "models": results,
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
