"""Fine-tuning the starter model vs training from scratch, on one small photo folder, for the same CPU time.

Both runs use the real `Trainer` with the default settings on the same prepared dataset (crops of the
photos, split by photo) and stop after `--minutes` of training each (the clock starts at the first
step); then both are scored on the held-out photos against the gray photo. The scratch run has the
starter model's architecture (multipath, its width, no ResNet path), so only the starting weights differ.

    python benchmarks/bench_finetune.py [--photos DIR] [--minutes 3] [--batch-size 8]
        [--crops-per-photo 8] [--json OUT]

`--photos` defaults to the bundled sample photos. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorcore.models.checkpoint import load_model, read_metadata  # noqa: E402
from colorcore.data.prepare import prepare  # noqa: E402
from colorcore.data.prepared import load_prepared  # noqa: E402
from colorcore.evaluation.evaluate import evaluate_model  # noqa: E402
from colorcore.core.events import StopFlag  # noqa: E402
from colorcore.evaluation.metrics import psnr  # noqa: E402
from colorcore.models.base import ModelConfig  # noqa: E402
from colorcore.core.resources import samples_dir  # noqa: E402
from colorcore.models.settings import starter_model_path  # noqa: E402
from colorcore.core.tensors import gray_input, to_uint8_images  # noqa: E402
from colorcore.training.trainer import TrainConfig, Trainer  # noqa: E402


class Budget:
    """Stops a run `seconds` after its first step."""

    def __init__(self, stop: StopFlag, seconds: float) -> None:
        self.stop, self.seconds, self.started = stop, seconds, None

    def on_step(self, event: Any) -> None:
        self.started = self.started or time.perf_counter()
        if time.perf_counter() - self.started > self.seconds:
            self.stop.request_stop()


def train(data: Path, run: Path, init: str | None, width: int, args: argparse.Namespace) -> dict[str, Any]:
    """One time-boxed run; its held-out scores and steps."""
    stop = StopFlag()
    config = TrainConfig(data=str(data), run_dir=str(run), model=ModelConfig(width=width, resnet_weights="none"),
                         init=init, epochs=10**6, batch_size=args.batch_size, device="cpu", seed=args.seed,
                         eval_subset=0, sample_count=0, keep_checkpoints=0, log_interval_s=0.0)
    result = Trainer(config, callbacks=[Budget(stop, args.minutes * 60)], stop=stop).run()
    model = load_model(run)
    scores = evaluate_model(model, load_prepared(data), "test", grid_count=0).summary
    return {"steps": result.step, "seconds": round(result.elapsed_s, 1), **{k: round(v, 3) for k, v in scores.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=None)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crops-per-photo", type=int, default=8)
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    starter = starter_model_path()
    width = int(read_metadata(starter)["model_config"]["width"])
    with tempfile.TemporaryDirectory(prefix="bench_finetune_") as tmp:
        data = Path(tmp) / "data"
        prepare(args.photos or samples_dir(), data, size=64, test_fraction=args.test_fraction, seed=args.seed,
                crops_per_photo=args.crops_per_photo)
        real = torch.from_numpy(np.array(load_prepared(data).split("test").rgb, dtype=np.uint8))
        report: dict[str, Any] = {
            "photos": str(args.photos or samples_dir()), "minutes_each": args.minutes,
            "held_out": {"samples": len(real), "photos": list(load_prepared(data).manifest.photos["test"])},
            "gray_photo_psnr": round(float(psnr(to_uint8_images(gray_input(real)), real).mean()), 3),
            "starter_before_finetuning": {k: round(v, 3) for k, v in evaluate_model(
                load_model(starter), load_prepared(data), "test", grid_count=0).summary.items()},
            "from_starter": train(data, Path(tmp) / "finetune", "starter", width, args),
            "from_scratch": train(data, Path(tmp) / "scratch", None, width, args),
        }
    report["psnr_gain_db"] = round(report["from_starter"]["psnr"] - report["from_scratch"]["psnr"], 3)
    text = json.dumps(report, indent=1)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
