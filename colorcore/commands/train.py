"""`colorcore train DATA RUN`: train a model on a prepared dataset (defaults that learn; `--preset paper`
gives the paper's own values)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

from colorcore.cli import CLIError
from colorcore.presets import PRESETS, SHORT_EPOCH_STEPS

DEFAULT_MODEL = "multipath"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `train` command."""
    p = subparsers.add_parser(
        "train",
        help="train a colourisation model on a prepared dataset",
        description="Train a model on a prepared dataset folder into a run folder (config.json, metrics.csv, "
        "eval.csv, samples/, checkpoints/). The default settings are ours, measured to learn at small batches "
        "(benchmarks/bench_learning.py); --preset paper uses the paper's values where it states them (what it leaves "
        "open stays ours: Adam's betas, the multipath model's epochs; docs/hyperparameters.md lists every value "
        "and its source). Ctrl-C stops cleanly with a "
        "checkpoint; --resume continues exactly where it stopped. Under `torchrun --nproc_per_node=N "
        "-m colorcore train ...` it trains with DistributedDataParallel (--batch-size per process).",
    )
    p.add_argument("data", help="prepared dataset folder (from `colorcore prepare`)")
    p.add_argument("run", help="run folder to create (or to continue with --resume)")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="registered model: multipath (the paper's), scgan (U-Net GAN baseline: its depth follows "
                   "the prepared image size, one level per halving, at most 7: 7 down/7 up at 128 px as in the "
                   "paper, 6 at 64 px) or zhang (313 ab bins baseline). Every model trains at the prepared "
                   "dataset's image size (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs (default: the model's: scgan 100 and zhang 200 as in the paper, sections 6.1 "
                        "and 6.2; multipath 100, ours: the paper does not state it)")
    p.add_argument("--batch-size", type=int, default=64,
                   help="batch size (default: %(default)s, the paper's, section 5)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue from RUN/checkpoints/last.pt")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in RUN as a whole (it is set aside and deleted only once the "
                        "new run has started without error); without it an existing run is never touched")
    p.add_argument("--init", default=None, metavar="starter|MODEL",
                   help="start from trained weights: 'starter' (the bundled starter model) or a run folder, .pt "
                        "or .safetensors model; its architecture (model, width, ResNet path) is used")
    p.add_argument("--max-steps", type=int, default=None,
                   help="train exactly this many steps in total, through as many epochs as it takes "
                        "(when given, --epochs does not cap it)")
    p.add_argument("--preset", default="default", choices=PRESETS,
                   help="optimisation values for what you leave unset: default (ours, learns at small batches: "
                        "multipath lr G 2e-4 instead of the paper's 1e-3, scgan lr D 2e-4 instead of 1e-3) or "
                        "paper (the paper's learning rates and baseline epochs; Adam beta1 0.5 and the multipath "
                        "epochs stay ours, as the paper does not state them) (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--deterministic", action="store_true",
                   help="deterministic kernels: two CPU runs give bitwise identical weights (slower)")
    p.add_argument("--resnet-weights", default="auto",
                   help="ResNet-18 path weights: auto (ImageNet when cached or downloadable, else none) | "
                        "imagenet | none (the path is left out, unless --finetune-resnet trains it from "
                        "random weights) | PATH (default: %(default)s)")
    p.add_argument("--finetune-resnet", action="store_true", help="train the ResNet-18 path too (frozen by default)")
    p.add_argument("--gan-loss", default="paper", choices=("paper", "lsgan", "wgan-gp", "bce"),
                   help="adversarial loss (default: %(default)s)")
    p.add_argument("--lr-g", type=float, default=None, help="generator learning rate (default: the preset's)")
    p.add_argument("--lr-d", type=float, default=None, help="discriminator learning rate (default: the preset's)")
    p.add_argument("--beta1", type=float, default=None,
                   help="Adam beta1 (default: 0.5 in both presets, ours: the paper does not state it)")
    p.add_argument("--lr-warmup-steps", type=int, default=None, metavar="N",
                   help="raise the learning rates linearly over the first N steps (default: the preset's)")
    p.add_argument("--width", type=int, default=64, help="first encoder level's channels (default: %(default)s)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True,
                   help="mixed precision where the device supports it (bf16; fp16 + scaler on older GPUs)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                   help="channels_last memory format where it has fast kernels")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the networks (where it cannot run here, a notice says why and training "
                        "runs without it; measured on a 2-core AVX2 CPU: see benchmarks/bench_train.py --compile)")
    p.add_argument("--keep", type=int, default=3, help="epoch checkpoints to keep (default: %(default)s)")
    p.add_argument("--eval-subset", type=int, default=256,
                   help="test images scored after every epoch (default: %(default)s)")
    p.add_argument("--min-epoch-interval", type=float, default=0.0, metavar="SECONDS",
                   help="for datasets whose epochs take a few steps: validate and write checkpoints at an "
                        "epoch end only when SECONDS have passed since the last time (the last epoch and a "
                        "stop always get them; default: %(default)s, after every epoch)")
    p.set_defaults(func=run)


class ProgressBar:
    """Training callbacks drawing a tqdm bar (losses, img/s) and one line per epoch."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def _ensure(self, total: int, first_step: int) -> Any:
        if self.bar is None:
            from tqdm import tqdm

            # the bar starts at the first reported step (steps before it, or before a resume, are not
            # part of this bar's rate)
            self.bar = tqdm(total=total, initial=first_step, unit="step", dynamic_ncols=True,
                            disable=not self.enabled)
        return self.bar

    def on_step(self, event: Any) -> None:
        bar = self._ensure(event.total_steps, event.step)
        bar.n = event.step
        shown = {k.removeprefix("loss_"): f"{v:.3f}" for k, v in event.losses.items()}
        bar.set_postfix(shown | {"img/s": f"{event.img_per_s:.1f}"}, refresh=False)
        bar.refresh()

    def on_epoch_end(self, event: Any) -> None:
        text = ", ".join(f"{k} {v:.3f}" for k, v in event.metrics.items())
        self._write(f"epoch {event.epoch + 1}: {text}")

    def on_notice(self, event: Any) -> None:
        self._write(("warning: " if event.kind == "learning" else "") + event.message
                    + (f"; try: {event.suggestion}" if event.suggestion else ""))

    def on_error(self, event: Any) -> None:
        self._write(f"error: {event.message}" + (f" ({event.suggestion})" if event.suggestion else ""))

    def on_end(self, event: Any) -> None:
        if self.bar is not None:
            self.bar.close()

    def _write(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text)


def model_config_from_args(args: argparse.Namespace) -> Any:
    """The ModelConfig the arguments describe (unknown model names are a CLIError)."""
    from colorcore.models import MODEL_REGISTRY, ModelConfig

    from colorcore.models.generator import RESNET_SOURCES

    if args.resnet_weights not in RESNET_SOURCES and not Path(args.resnet_weights).is_file():
        raise CLIError(f"--resnet-weights {args.resnet_weights}: file not found (use auto, imagenet, none or a file)")
    if args.lr_warmup_steps is not None and args.lr_warmup_steps < 0:
        raise CLIError("--lr-warmup-steps must be 0 or more")
    if args.model not in MODEL_REGISTRY:
        raise CLIError(f"unknown model {args.model!r}; choose one of {', '.join(sorted(MODEL_REGISTRY))}")
    return ModelConfig(name=args.model, width=args.width, resnet_weights=args.resnet_weights,
                       finetune_resnet=args.finetune_resnet, gan_loss=args.gan_loss, preset=args.preset,
                       lr_g=args.lr_g, lr_d=args.lr_d, beta1=args.beta1, lr_warmup_steps=args.lr_warmup_steps)


def check_paths(data: Path, run: Path, resume: bool, overwrite: bool = False) -> None:
    """CLIError when DATA is not a prepared dataset or RUN cannot be used as asked."""
    from colorcore.checkpoint import CHECKPOINT_DIR, LAST_CHECKPOINT
    from colorcore.dataset import is_prepared_dataset

    if not is_prepared_dataset(data):
        raise CLIError(f"{data}: not a prepared dataset (no manifest.json); run `colorcore prepare` first")
    last = run / CHECKPOINT_DIR / LAST_CHECKPOINT
    if resume and not last.is_file():
        raise CLIError(f"{run}: nothing to resume (no {CHECKPOINT_DIR}/{LAST_CHECKPOINT}); drop --resume to start")
    if resume and overwrite:
        raise CLIError("--resume continues the run and --overwrite replaces it: choose one")
    if not resume and not overwrite and last.is_file():
        raise CLIError(f"{run}: already holds a run ({CHECKPOINT_DIR}/{LAST_CHECKPOINT}); "
                       "add --resume to continue it, --overwrite to replace it, or choose another folder")
    if not resume and not overwrite and run.is_dir() and any(run.iterdir()):
        raise CLIError(f"{run}: folder is not empty; choose a new or empty run folder (or --overwrite)")




def short_epoch_hint(n_train: int, batch_size: int, min_epoch_interval: float) -> str:
    """A one-line tip when epochs last only a few steps and every epoch end would validate and write
    a checkpoint; "" otherwise."""
    steps = max(1, n_train // max(1, batch_size))
    if min_epoch_interval > 0 or steps >= SHORT_EPOCH_STEPS:
        return ""
    return (f"note: an epoch is {steps} step{'s' if steps != 1 else ''} here ({n_train} training photos, batch "
            f"{batch_size}), and every epoch end validates and writes a checkpoint; "
            "--min-epoch-interval 30 does that at most every 30 s")


def run(args: argparse.Namespace) -> int:
    """Train; Ctrl-C once stops at the next step with a checkpoint, twice aborts."""
    from colorcore.events import StopFlag
    from colorcore.training import TrainConfig, train_replacing

    data, run_dir = Path(args.data), Path(args.run)
    check_paths(data, run_dir, args.resume, args.overwrite)
    if args.init and args.resume:
        raise CLIError("--init starts a new run; drop it with --resume (the run continues from its checkpoint)")
    if args.init and args.init != "starter" and not Path(args.init).exists():
        raise CLIError(f"--init {args.init}: not found (give 'starter', a run folder, .pt or .safetensors)")
    try:
        config = TrainConfig(
            data=str(data), run_dir=str(run_dir), model=model_config_from_args(args), epochs=args.epochs,
            batch_size=args.batch_size, device=args.device, amp=args.amp, channels_last=args.channels_last,
            seed=args.seed, deterministic=args.deterministic, max_steps=args.max_steps,
            keep_checkpoints=args.keep, eval_subset=args.eval_subset, resume=args.resume,
            min_epoch_interval_s=args.min_epoch_interval, init=args.init, compile=args.compile,
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    is_writer = int(os.environ.get("RANK", "0")) == 0
    if is_writer:
        from colorcore.dataset import DatasetError, load_prepared

        try:
            n_train = len(load_prepared(data).split("train"))
        except DatasetError:
            n_train = None  # the Trainer reports an unusable dataset itself
        hint = short_epoch_hint(n_train, args.batch_size, args.min_epoch_interval) if n_train else ""
        if hint:
            print(hint, file=sys.stderr)
    stop = StopFlag()
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: Any) -> None:
        print("\nstopping after this step (Ctrl-C again to abort)...", file=sys.stderr)
        stop.request_stop()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = train_replacing(config, callbacks=[ProgressBar(is_writer)], stop=stop, replace=args.overwrite)
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.overwrite and result.status == "failed" and result.step == 0:
        print(f"the old run in {run_dir} was kept", file=sys.stderr)
    if result.status == "failed":
        raise CLIError(result.error or "training failed", 1)
    if is_writer:
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items())
        print(f"{result.status} at step {result.step} (epoch {result.epoch}), {result.img_per_s:.1f} img/s"
              + (f"; {metrics}" if metrics else "") + f"\nrun folder: {run_dir}")
        if result.status == "stopped":
            print(f"resume with: colorcore train {data} {run_dir} --resume")
    return 0
