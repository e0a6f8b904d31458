"""Does a model learn? Train candidate settings on the same real photos for the same steps; print JSON.

For each (model, setting) the script runs the real `Trainer` on one prepared dataset of real
photographs (split by photo), then scores the trained generator on its training photos and on the
held-out photos: PSNR, SSIM and colourfulness of the prediction, against the trivial answer, the gray
photo itself (its PSNR is the floor a colourisation must beat), plus the training L1 curve. A setting
"learns" when its PSNR on the training photos beats the gray photo's.

    python benchmarks/bench_learning.py --photos DIR [--steps 150] [--batch-size 8] [--width 32]
        [--models multipath] [--settings default paper ...] [--crops-per-photo 0]
        [--test-fraction 0.5] [--json OUT]

`--settings` names rows of `SETTINGS` below (default: all that apply to each model). The photos
are prepared once (64 px) into a temporary folder; nothing else is written unless --json is given.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torchvision.models import resnet18  # noqa: E402

from colorcore.data.prepare import prepare  # noqa: E402
from colorcore.data.prepared import load_prepared  # noqa: E402
from colorcore.core.device import describe_device, resolve_device  # noqa: E402
from colorcore.evaluation.evaluate import evaluate_model  # noqa: E402
from colorcore.evaluation.metrics import colourfulness, psnr  # noqa: E402
from colorcore.models.base import MODEL_REGISTRY, ModelConfig  # noqa: E402
from colorcore.core.tensors import gray_input, to_uint8_images  # noqa: E402
from colorcore.training.trainer import METRICS_FILE, TrainConfig, Trainer  # noqa: E402

RANDOM_RESNET = "<random resnet file>"  # replaced by a file of random ResNet-18 weights the script writes

# name -> (what it tests, ModelConfig changes, TrainConfig changes, models it applies to)
SETTINGS: dict[str, tuple[str, dict[str, Any], dict[str, Any], tuple[str, ...]]] = {
    "default": ("the current defaults", {}, {}, ("multipath", "scgan", "zhang")),
    "paper": ("the paper's values (preset paper)", {"preset": "paper"}, {}, ("multipath", "scgan", "zhang")),
    "paper-lr-g-2e-4": ("paper, generator lr 2e-4", {"preset": "paper", "lr_g": 2e-4}, {}, ("multipath",)),
    "paper-lr-g-1e-4": ("paper, generator lr 1e-4", {"preset": "paper", "lr_g": 1e-4}, {}, ("multipath",)),
    "paper-beta1-0.9": ("paper, Adam beta1 0.9", {"preset": "paper", "beta1": 0.9}, {}, ("multipath",)),
    "paper-no-gan": ("paper without the adversarial term (L1 + maps only)",
                     {"preset": "paper", "lambda_gan": 0.0}, {}, ("multipath",)),
    "paper-warmup": ("paper with a 100-step linear lr warm-up", {"preset": "paper", "lr_warmup_steps": 100},
                     {}, ("multipath",)),
    "lr-d-2e-4": ("discriminator lr 2e-4 (the generator's)", {"lr_d": 2e-4}, {}, ("scgan",)),
    "paper-frozen-random-resnet": ("paper with a frozen random ResNet-18 path (what 'none' used to do)",
                                   {"preset": "paper", "resnet_weights": RANDOM_RESNET}, {}, ("multipath",)),
    "paper-trained-resnet": ("paper with the random ResNet-18 path trained", {"preset": "paper",
                             "resnet_weights": "none", "finetune_resnet": True}, {}, ("multipath",)),
    "default-frozen-random-resnet": ("defaults with a frozen random ResNet-18 path",
                                     {"resnet_weights": RANDOM_RESNET}, {}, ("multipath",)),
    "default-trained-resnet": ("defaults with the random ResNet-18 path trained",
                               {"resnet_weights": "none", "finetune_resnet": True}, {}, ("multipath",)),
}


def gray_photo_scores(rgb_u8: np.ndarray) -> dict[str, float]:
    """PSNR and colourfulness of the gray photo itself (the trivial answer) against the real one."""
    gray = to_uint8_images(gray_input(torch.from_numpy(np.array(rgb_u8, dtype=np.uint8))))
    return {"psnr": float(psnr(gray, rgb_u8).mean()), "colourfulness": float(colourfulness(gray).mean())}


def l1_curve(run_dir: Path, points: int = 10) -> list[tuple[int, float]]:
    """(step, training L1) at about `points` evenly spaced logged steps (first and last included)."""
    with open(run_dir / METRICS_FILE, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    column = "loss_l1" if rows and "loss_l1" in rows[0] else next(
        (c for c in (rows[0] if rows else {}) if c.startswith("loss_")), None)
    if column is None:
        return []
    picks = sorted({round(i * (len(rows) - 1) / max(1, points - 1)) for i in range(points)})
    return [(int(rows[i]["step"]), round(float(rows[i][column]), 4)) for i in picks]


def run_setting(model: str, name: str, data: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Train one setting and score it on both splits."""
    what, model_changes, train_changes, _ = SETTINGS[name]
    changes = {k: (str(args.random_resnet) if v == RANDOM_RESNET else v) for k, v in model_changes.items()}
    model_config = ModelConfig(name=model, width=args.width, resnet_weights="none").with_(**changes)
    run_dir = work / f"{model}-{name}"
    config = TrainConfig(
        data=str(data), run_dir=str(run_dir), model=model_config, batch_size=args.batch_size,
        device=args.device, seed=args.seed, max_steps=args.steps, eval_subset=0, sample_count=0,
        log_interval_s=0.0, keep_checkpoints=0, min_epoch_interval_s=1e9, **train_changes,
    )
    trainer = Trainer(config)
    started = time.perf_counter()
    result = trainer.run()
    seconds = time.perf_counter() - started
    row: dict[str, Any] = {"model": model, "setting": name, "what": what, "status": result.status,
                           "seconds": round(seconds, 1), "config": trainer.model.config.to_dict()
                           if hasattr(trainer, "model") else model_config.to_dict()}
    if result.status != "finished":
        row["error"] = result.error
        return row
    dataset = load_prepared(data)
    net = trainer.model
    for split in ("train", "test"):
        if not len(dataset.split(split)):
            continue
        scores = evaluate_model(net, dataset, split, batch_size=64, limit=args.eval_limit, grid_count=0).summary
        row[split] = {k: round(v, 3) for k, v in scores.items()}
    row["l1_curve"] = l1_curve(run_dir)
    finite = all(math.isfinite(v) for _, v in row["l1_curve"])
    row["learns"] = bool(finite and row["train"]["psnr"] > args.gray["train"]["psnr"])
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", required=True, help="folder of real colour photographs")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--models", nargs="+", default=["multipath"], choices=sorted(MODEL_REGISTRY))
    parser.add_argument("--settings", nargs="+", default=None, choices=sorted(SETTINGS))
    parser.add_argument("--crops-per-photo", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.5)
    parser.add_argument("--eval-limit", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(torch.get_num_threads())
    report: dict[str, Any] = {
        "machine": {"device": describe_device(resolve_device(args.device)), "python": platform.python_version(),
                    "torch": torch.__version__},
        "args": {k: v for k, v in vars(args).items()},
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench_learning_") as tmp:
        work = Path(tmp)
        data = work / "data"
        args.random_resnet = work / "random_resnet18.pt"
        torch.manual_seed(args.seed)
        torch.save(resnet18(weights=None).state_dict(), args.random_resnet)
        prepare(args.photos, data, size=64, test_fraction=args.test_fraction, seed=args.seed,
                crops_per_photo=args.crops_per_photo)
        dataset = load_prepared(data)
        args.gray = {split: gray_photo_scores(dataset.split(split).rgb[:args.eval_limit])
                     for split in ("train", "test") if len(dataset.split(split))}
        report["gray_photo"] = args.gray
        report["real_colourfulness"] = {split: float(colourfulness(np.asarray(
            dataset.split(split).rgb[:args.eval_limit])).mean()) for split in args.gray}
        report["samples"] = {split: len(dataset.split(split)) for split in ("train", "test")}
        for model in args.models:
            names = [n for n in (args.settings or SETTINGS) if model in SETTINGS[n][3]]
            for name in names:
                row = run_setting(model, name, data, work, args)
                report["runs"].append(row)
                print(json.dumps({k: row.get(k) for k in ("model", "setting", "train", "test", "learns",
                                                          "seconds")}), file=sys.stderr, flush=True)
    text = json.dumps(report, indent=1, default=str)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
