"""Fine-tuning defaults measured as the learning issue's bar states them: `colorcore train --init starter
--max-steps N` at every other default on a few photos, scored at 768 px on other photos.

For each learning-rate scale (x the preset's rates; `colorcore.training.presets.FINETUNE_LR_SCALE` is the
default) the training photos are prepared as `colorcore prepare` does at its defaults, one run trains
from the starter model with the CLI's defaults (batch size, short-epoch validation interval, best
checkpoint kept) and its exported model is scored on the evaluation photos, reduced to `--max-side`,
as `colorcore colorize` colourises them (benchmarks/bench_quality.py's scoring), beside the starter
model and the gray photo.

    python benchmarks/bench_finetune_defaults.py --train-photos DIR --eval-photos DIR [--count 10]
        [--scales 1 0.1 0.02] [--max-steps 200] [--json OUT]

Prints JSON: per scale, the steps, the starting and best held-out PSNR (64 px, the prepared test split)
and the mean PSNR at 768 px of the model, the starter and the gray photo.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_quality import colourise, scores  # noqa: E402
from colorcore.models.checkpoint import load_model  # noqa: E402
from colorcore.data.settings import DEFAULT_SIZE, DEFAULT_TEST_FRACTION  # noqa: E402
from colorcore.data.imageio import luma  # noqa: E402
from colorcore.data.prepare import prepare  # noqa: E402
from colorcore.data.prepared import load_prepared  # noqa: E402
from colorcore.data.imageio import list_images, read_image, shrink_to_long_side  # noqa: E402
from colorcore.models.base import MODEL_REGISTRY, ModelConfig  # noqa: E402
from colorcore.training.presets import FINETUNE_LR_SCALE, FINETUNE_RATES, epoch_schedule  # noqa: E402
from colorcore.models.settings import starter_model_path  # noqa: E402
from colorcore.training.trainer import TrainConfig, Trainer  # noqa: E402


def score_photos(model: Any, photos: list[Path], max_side: int) -> dict[str, float]:
    """Mean PSNR at `max_side` of `model` (None: the gray photo) on `photos`."""
    values = []
    for path in photos:
        real = shrink_to_long_side(read_image(path, min_size=max_side), max_side)
        gray = luma(real)
        output = np.repeat(gray[..., None], 3, axis=2) if model is None else colourise(gray, model, "squash")
        values.append(scores(output, real)["psnr"])
    return {"psnr": round(float(np.mean(values)), 3), "per_photo": values}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-photos", type=Path, required=True)
    parser.add_argument("--eval-photos", type=Path, required=True)
    parser.add_argument("--count", type=int, default=10, help="photos taken from each folder (sorted order)")
    parser.add_argument("--skip-eval", type=int, default=0, help="skip this many evaluation photos first")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, FINETUNE_LR_SCALE])
    parser.add_argument("--max-steps", type=int, default=200)
    parser.add_argument("--max-side", type=int, default=768)
    parser.add_argument("--no-keep-best", action="store_true", help="export the last checkpoint instead")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    train_photos = list_images(args.train_photos)[:args.count]
    eval_photos = list_images(args.eval_photos)[args.skip_eval:args.skip_eval + args.count]
    starter = load_model(starter_model_path())
    preset = MODEL_REGISTRY[starter.config.name].preset_values("default")
    report: dict[str, Any] = {
        "train_photos": [p.name for p in train_photos], "eval_photos": [p.name for p in eval_photos],
        "max_steps": args.max_steps, "max_side": args.max_side, "keep_best": not args.no_keep_best,
        "gray": score_photos(None, eval_photos, args.max_side),
        "starter": score_photos(starter, eval_photos, args.max_side), "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench_finetune_defaults_") as tmp:
        source = Path(tmp) / "photos"
        source.mkdir()
        for path in train_photos:
            (source / path.name).symlink_to(path.resolve())
        data = Path(tmp) / "data"
        prepare(source, data, size=DEFAULT_SIZE, test_fraction=DEFAULT_TEST_FRACTION, seed=0)
        batch = TrainConfig.__dataclass_fields__["batch_size"].default
        interval = epoch_schedule(len(load_prepared(data).split("train")), batch).min_epoch_interval_s
        for scale in args.scales:
            rates = {k: preset[k] * scale for k in FINETUNE_RATES if k in preset}
            run = Path(tmp) / f"run_{scale:g}"
            config = TrainConfig(data=str(data), run_dir=str(run), model=ModelConfig(**rates), init="starter",
                                 max_steps=args.max_steps, min_epoch_interval_s=interval, device="cpu",
                                 keep_best=not args.no_keep_best)
            result = Trainer(config).run()
            model = load_model(run / "model.safetensors")
            report["runs"].append({"lr_scale": scale, **rates, "steps": result.step, "seconds": round(result.elapsed_s),
                                   "start_psnr_64": round(result.start_metrics.get("psnr", float("nan")), 3),
                                   "best": result.best, "last_psnr_64": round(result.metrics.get("psnr", float("nan")), 3),
                                   "model": score_photos(model, eval_photos, args.max_side)})
            print(json.dumps(report["runs"][-1]), file=sys.stderr, flush=True)
    text = json.dumps(report, indent=1)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
