#!/usr/bin/env python3
"""Train the bundled starter model from the photo corpus, with the project's own Trainer.

    python packaging/starter/train_starter.py --corpus /work/corpus --work /work/starter [--resume]
        [--hours 1.5] [--patience 3] [--out resources/models/starter.safetensors]

Steps (each is skipped when its result is already there, so a stopped job continues with --resume):
1. prepare the corpus photos (`build_corpus.py` output) into WORK/data: 64 px, the centre square plus
   CROPS_PER_PHOTO random multi-scale crops per photo, split by photo (TEST_FRACTION held out);
2. train the multipath model at width WIDTH, default settings (ResNet path left out: no ImageNet
   weights on our machines) into WORK/run, validating on every held-out sample after each epoch;
3. stop when the held-out PSNR has not improved for `--patience` epochs or after `--hours`;
4. export the best epoch's generator as fp16 `.safetensors` with metadata (architecture, data summary,
   weights licence, metrics) to `--out`, copy the corpus attribution beside it, and write
   WORK/record.json (command, seed, steps, time, machine);
5. calibrate the predicted chroma on the held-out photos (`colorcore.models.starter.calibrate_chroma`: averaged
   with the mirrored photo's prediction, the
   blur and shrink towards gray whose colourised photos score the best mean PSNR at 768 px while keeping
   at least 40 % of the real photos' colourfulness) and store it in the file's metadata. `--calibrate-only` redoes this step alone on an exported `--out`.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from colorcore.core.atomic import atomic_write_text  # noqa: E402
from colorcore.models.checkpoint import CHECKPOINT_DIR, load_model  # noqa: E402
from colorcore.data.prepare import prepare  # noqa: E402
from colorcore.data.prepared import is_prepared_dataset, load_prepared  # noqa: E402
from colorcore.core.events import StopFlag  # noqa: E402
from colorcore.models.base import ModelConfig  # noqa: E402
from colorcore.models.starter import calibrate_chroma, export_starter, write_calibration
from colorcore.models.settings import STARTER_FILE  # noqa: E402
from colorcore.training.trainer import TrainConfig, Trainer  # noqa: E402

SEED = 0
SIZE = 64
WIDTH = 32
BATCH = 32
CROPS_PER_PHOTO = 300
TEST_FRACTION = 0.2
MAX_EPOCHS = 200
BEST_CHECKPOINT = "best.pt"
WEIGHTS_LICENCE = "CC-BY-SA-4.0"


class EarlyStop:
    """Records the best epoch (by held-out PSNR; the Trainer keeps its checkpoint as best.pt) and stops
    after `patience` epochs without improvement or after `budget_s` seconds."""

    def __init__(self, run_dir: Path, stop: StopFlag, patience: int, budget_s: float, best: float) -> None:
        self.run_dir, self.stop, self.patience, self.budget_s = run_dir, stop, patience, budget_s
        self.best, self.best_epoch, self.since_best = best, -1, 0
        self.started = time.perf_counter()
        self._pending_best: int | None = None

    def on_step(self, event: Any) -> None:
        if time.perf_counter() - self.started > self.budget_s and not self.stop.stop_requested:
            print(f"time budget reached at step {event.step}", flush=True)
            self.stop.request_stop()

    def on_epoch_end(self, event: Any) -> None:
        psnr = event.metrics.get("psnr", float("nan"))
        print(f"epoch {event.epoch + 1} step {event.step}: held-out " +
              ", ".join(f"{k} {v:.3f}" for k, v in event.metrics.items()), flush=True)
        if psnr > self.best:
            self.best, self.best_epoch, self.since_best = psnr, event.epoch, 0
            self._pending_best = event.epoch
        else:
            self.since_best += 1
            if self.since_best >= self.patience:
                print(f"no improvement for {self.patience} epochs: stopping", flush=True)
                self.stop.request_stop()

    def on_checkpoint(self, event: Any) -> None:
        """The Trainer keeps the best validation as checkpoints/best.pt itself; best.json records it."""
        if self._pending_best is not None:
            atomic_write_text(self.run_dir / "best.json", json.dumps({"epoch": self._pending_best,
                                                                     "psnr": self.best}) + "\n")
            self._pending_best = None

    def on_notice(self, event: Any) -> None:
        print(f"notice: {event.message}", flush=True)

    def on_error(self, event: Any) -> None:
        print(f"error: {event.message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="build_corpus.py output folder")
    parser.add_argument("--work", type=Path, required=True, help="folder for the dataset, run and record")
    parser.add_argument("--out", type=Path, default=REPO / "resources" / "models" / STARTER_FILE)
    parser.add_argument("--hours", type=float, default=1.5, help="training time budget (default %(default)s)")
    parser.add_argument("--patience", type=int, default=3, help="epochs without held-out gain before stopping")
    parser.add_argument("--resume", action="store_true", help="continue WORK/run")
    parser.add_argument("--export-only", action="store_true", help="export WORK/run's best checkpoint and exit")
    parser.add_argument("--trunk", choices=("none", "efficientnet-lite0"), default="none",
                        help="pre-trained trunk of the multipath generator (default: none, the shipped starter's)")
    parser.add_argument("--widen", type=Path, default=None, metavar="MODEL",
                        help="with --trunk: start from this trunk-less model file (e.g. the shipped starter), its "
                             "weights kept and the trunk's new input weights zero, so training starts where it is")
    parser.add_argument("--lr-g", type=float, default=None,
                        help="generator learning rate (default: the preset's; x0.1 when starting from --widen)")
    parser.add_argument("--calibrate-only", action="store_true",
                        help="only (re)calibrate the chroma scale of the exported --out on the held-out photos")
    args = parser.parse_args(argv)
    if args.calibrate_only and not args.out.is_file():  # before preparing anything
        parser.error(f"--calibrate-only: no exported model at {args.out} (give its path with --out)")
    data, run = args.work / "data", args.work / "run"
    if not is_prepared_dataset(data):
        result = prepare(args.corpus / "photos", data, size=SIZE, test_fraction=TEST_FRACTION, seed=SEED,
                         crops_per_photo=CROPS_PER_PHOTO)
        print(f"prepared {result.n_train} train + {result.n_test} held-out samples in {result.seconds:.0f} s")
    dataset = load_prepared(data)
    if args.calibrate_only:
        return calibrate(args.out, args.corpus, dataset)
    n_test = len(dataset.split("test"))
    started = time.time()
    if not args.export_only:
        init = str(widened_init(args.widen, args.trunk, args.work)) if args.widen is not None else None
        config = TrainConfig(
            data=str(data), run_dir=str(run), init=init,
            model=ModelConfig(width=WIDTH, resnet_weights="none", trunk=args.trunk, lr_g=args.lr_g),
            epochs=MAX_EPOCHS, batch_size=BATCH, device="cpu", seed=SEED, eval_subset=n_test, sample_count=8,
            keep_checkpoints=2, log_interval_s=10.0, resume=args.resume and (run / CHECKPOINT_DIR / "last.pt").is_file(),
        )
        best_file = run / "best.json"
        best = json.loads(best_file.read_text())["psnr"] if args.resume and best_file.is_file() else float("-inf")
        stop = StopFlag()
        early = EarlyStop(run, stop, args.patience, args.hours * 3600, best)
        result = Trainer(config, callbacks=[early], stop=stop).run()
        print(f"training {result.status} at step {result.step} in {result.elapsed_s:.0f} s", flush=True)
        if result.status == "failed":
            return 1
    best_ck = run / CHECKPOINT_DIR / BEST_CHECKPOINT
    record = {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "seed": SEED, "size": SIZE, "width": WIDTH, "batch_size": BATCH, "crops_per_photo": CROPS_PER_PHOTO,
        "test_fraction": TEST_FRACTION, "best": json.loads((run / "best.json").read_text()),
        "photos": {s: list(v) for s, v in dataset.manifest.photos.items()}, "samples": {s: len(dataset.split(s)) for s in ("train", "test")},
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version()},
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "session_seconds": round(time.time() - started),
    }
    out = export_starter(best_ck, args.out, corpus=args.corpus, dataset=dataset, licence=WEIGHTS_LICENCE,
                         record=record)
    atomic_write_text(args.work / "record.json", json.dumps(record, indent=1) + "\n")
    print(f"starter model: {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return calibrate(out, args.corpus, dataset)


def widened_init(model_file: Path, trunk: str, work: Path) -> Path:
    """A checkpoint WORK/widened.pt: `model_file`'s generator with `trunk` added (`load_widened`)."""
    from colorcore.models.checkpoint import make_checkpoint, save_checkpoint
    from colorcore.models.base import build_model
    from colorcore.models.generator import load_widened

    old = load_model(model_file)
    model = build_model(old.config.with_(trunk=trunk))
    load_widened(model.generator, old.generator.state_dict())
    return save_checkpoint(work / "widened.pt", make_checkpoint(model, model.make_optimizers()))


def calibrate(model_file: Path, corpus: Path, dataset: Any) -> int:
    """Step 5: store the chroma calibration that scores best on the held-out photos in `model_file`."""
    held_out = [corpus / "photos" / name for name in dataset.manifest.photos["test"]]
    calibration, report = calibrate_chroma(load_model(model_file), held_out)
    write_calibration(model_file, calibration, report)
    for row in report["tried"]:
        if row["psnr"] is None:
            print(f"  blur {row['chroma_sigma']:g} px: no scale keeps the colourfulness floor")
            continue
        print(f"  blur {row['chroma_sigma']:g} px: best scale {row['best_chroma_scale']:g}, PSNR {row['psnr']:.3f} dB, "
              f"colourfulness {row['colourfulness_ratio']:.2f} (scale 1: {row['psnr_at_scale_1']:.3f} dB; "
              f"gray photo {report['gray_psnr']:.3f} dB)")
    mirrored = "flip-averaged, " if calibration.flip_average else ""
    print(f"chroma calibration: {mirrored}blur {calibration.sigma:g} px, scale {calibration.scale} "
          f"({len(held_out)} held-out photos at {report['max_side']} px)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
