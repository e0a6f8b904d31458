"""`colorcore train DATA RUN`: train a model on a prepared dataset (defaults that learn; `--preset paper`
gives the paper's own values)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

from colorcore.cli import CLIError, advice_text, with_advice
from colorcore.core.options import field_default
from colorcore.training.presets import (
    FINETUNE_LR_SCALE,
    PRESETS,
    SHORT_EPOCH_INTERVAL_S,
    SHORT_EPOCH_KEEP,
    SHORT_EPOCH_STEPS,
    epoch_schedule,
)
from colorcore.training.runs import CHECKPOINT_DIR, LAST_CHECKPOINT, RunFolder, is_unused_folder
from colorcore.training.config import TrainConfig

EXIT_FAILED = 1  # training started and failed (disk full, out of memory...); user errors exit 2
EXIT_INTERRUPTED = 130  # stopped with Ctrl-C (a checkpoint is saved; --resume continues)
# the run settings a resumed run keeps from its config.json unless the flag is given: flag dest -> field
# (not the device: config.json records the machine's, and a run may move to another machine)
RESUMED_SETTINGS = {
    "epochs": "epochs", "batch_size": "batch_size", "max_steps": "max_steps", "seed": "seed",
    "amp": "amp", "channels_last": "channels_last", "deterministic": "deterministic",
    "keep": "keep_checkpoints", "eval_subset": "eval_subset", "min_epoch_interval": "min_epoch_interval_s",
    "compile": "compile", "keep_best": "keep_best", "init": "init",  # (--init itself is refused with --resume)
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `train` command (its arguments are added when it is parsed: `TrainParser`)."""
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
    p.__class__ = TrainParser  # the subparsers action builds plain parsers; this one adds its arguments late
    p.set_defaults(func=run)


class TrainParser(argparse.ArgumentParser):
    """The `train` parser. Its model options come from the model registry, which imports torch, so its
    arguments are added when `train` is parsed or its help shown, never when another command runs."""

    arguments_added = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> tuple[argparse.Namespace, list[str]]:
        self._add_arguments_once()
        parsed, extras = super().parse_known_args(args, namespace)
        # which flags were given (a resumed run keeps its own settings for the others): parse again into
        # a namespace whose every value is a marker that only a given flag replaces
        unset = object()
        probe = argparse.Namespace(**{a.dest: unset for a in self._actions if a.dest != argparse.SUPPRESS})
        super().parse_known_args(args, probe)
        parsed.given = {dest for dest, value in vars(probe).items() if value is not unset}
        return parsed, extras

    def format_help(self) -> str:
        self._add_arguments_once()
        return super().format_help()

    def format_usage(self) -> str:
        self._add_arguments_once()
        return super().format_usage()

    def _add_arguments_once(self) -> None:
        if not self.arguments_added:
            self.arguments_added = True
            add_arguments(self)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The `train` arguments: the run's settings, then every registered model's declared options."""
    from colorcore.models.base import MODEL_REGISTRY, ModelConfig

    def default(name: str) -> Any:
        return field_default(TrainConfig, name)

    p.add_argument("data", help="prepared dataset folder (from `colorcore prepare`)")
    p.add_argument("run", help="run folder to create (or to continue with --resume)")
    p.add_argument("--model", default=field_default(ModelConfig, "name"),
                   help="registered model: multipath (the paper's), scgan (U-Net GAN baseline: its depth follows "
                   "the prepared image size, one level per halving, at most 7: 7 down/7 up at 128 px as in the "
                   "paper, 6 at 64 px) or zhang (313 ab bins baseline). Every model trains at the prepared "
                   "dataset's image size (default: %(default)s)")
    epochs = ", ".join(f"{name} {cls.preset_epochs('default')}" for name, cls in sorted(MODEL_REGISTRY.items()))
    p.add_argument("--epochs", type=int, default=default("epochs"),
                   help=f"epochs (default: the model's preset's: {epochs}; docs/hyperparameters.md gives their sources)")
    p.add_argument("--batch-size", type=int, default=default("batch_size"),
                   help="batch size (default: %(default)s, the paper's, section 5)")
    p.add_argument("--device", default=default("device"), help="auto | cpu | cuda | cuda:N | mps (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue from RUN/checkpoints/last.pt")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in RUN as a whole (it is set aside and deleted only once the "
                        "new run has started without error); without it an existing run is never touched")
    p.add_argument("--init", default=default("init"), metavar="starter|MODEL",
                   help="fine-tune trained weights: 'starter' (the bundled starter model) or a run folder, .pt "
                        "or .safetensors model; its architecture (model, width, ResNet path) and chroma "
                        "calibration are used, the preset's learning rates are scaled by "
                        f"{FINETUNE_LR_SCALE:g} (unless --lr-g/--lr-d are given), and it is scored on the "
                        "held-out images first, so the end says whether the run beats it")
    p.add_argument("--max-steps", type=int, default=default("max_steps"),
                   help="train exactly this many steps in total, through as many epochs as it takes "
                        "(when given, --epochs does not cap it)")
    p.add_argument("--preset", default=field_default(ModelConfig, "preset"), choices=PRESETS,
                   help="optimisation values for what you leave unset: default (ours, learns at small batches: "
                        f"{preset_differences(MODEL_REGISTRY)}) or paper (the paper's values where it states them; "
                        "what it leaves open stays ours: Adam beta1, the multipath epochs) "
                        "(default: %(default)s)")
    p.add_argument("--seed", type=int, default=default("seed"), help="random seed (default: %(default)s)")
    p.add_argument("--deterministic", action="store_true",
                   help="deterministic kernels: two CPU runs give bitwise identical weights (slower)")
    add_model_options(p)
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=default("amp"),
                   help="mixed precision where the device supports it (bf16; fp16 + scaler on older GPUs)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=default("channels_last"),
                   help="channels_last memory format where it has fast kernels")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the networks (where it cannot run here, a notice says why and training "
                        "runs without it; measured on a 2-core AVX2 CPU: see benchmarks/bench_train.py --compile)")
    p.add_argument("--keep", type=int, default=None,
                   help=f"epoch checkpoints to keep (default: {default('keep_checkpoints')}, or "
                        f"{SHORT_EPOCH_KEEP} (only the last) when an epoch lasts fewer than {SHORT_EPOCH_STEPS} steps)")
    p.add_argument("--eval-subset", type=int, default=default("eval_subset"),
                   help="test images scored after every epoch (default: %(default)s)")
    p.add_argument("--keep-best", action=argparse.BooleanOptionalAction, default=default("keep_best"),
                   help="keep the validation with the best held-out PSNR as checkpoints/best.pt and export the "
                        "model from it (--no-keep-best: from the last checkpoint) (default: %(default)s)")
    p.add_argument("--min-epoch-interval", type=float, default=None, metavar="SECONDS",
                   help="validate and write checkpoints at an epoch end only when SECONDS have passed since "
                        "the last time (the last epoch and a stop always get them; 0: after every epoch; "
                        f"default: after every epoch, or at most every {SHORT_EPOCH_INTERVAL_S:g} s when an "
                        f"epoch lasts fewer than {SHORT_EPOCH_STEPS} steps)")


def preset_differences(registry: dict[str, Any]) -> str:
    """Where our default preset leaves the paper's values, e.g. "multipath --lr-g 0.0002 instead of 0.001"."""
    changes = [f"{name} --{key.replace('_', '-')} {value:g} instead of {cls.presets['paper'][key]:g}"
               for name, cls in sorted(registry.items())
               for key, value in cls.presets["default"].items() if cls.presets["paper"].get(key) != value]
    return ", ".join(changes) or "the paper's values"


def add_model_options(p: argparse.ArgumentParser) -> None:
    """One flag per option a registered model declares (`ColorModel.declared_options`). A flag is only
    in the namespace when given: the chosen model's own default applies otherwise."""
    from colorcore.models.base import MODEL_REGISTRY, registered_options

    group = p.add_argument_group("model options", "each applies to every model unless its help names them; "
                                 "one left out takes the chosen model's default")
    for name, by_model in registered_options().items():
        spec = next(iter(by_model.values()))
        defaults = {model: model_spec.default for model, model_spec in by_model.items()}
        if all(value is None for value in defaults.values()):
            shown = "the preset's"
        elif len({repr(value) for value in defaults.values()}) == 1:
            shown = str(spec.default)
        else:
            shown = ", ".join(f"{model} {value}" for model, value in defaults.items())
        models = "" if len(by_model) == len(MODEL_REGISTRY) else f"{', '.join(by_model)}; "
        help_text = spec.help_in(lambda option: "--" + option.replace("_", "-"))
        text = f"{help_text} ({models}default: {shown})".replace("%", "%%")
        if spec.kind is bool:
            group.add_argument(spec.flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=text)
        else:
            closed = bool(spec.choices) and not spec.other_values
            group.add_argument(spec.flag, type=spec.kind, default=argparse.SUPPRESS, help=text,
                               choices=spec.choices if closed else None, metavar=None if closed else name.upper())


class ProgressBar:
    """Training callbacks drawing a tqdm bar (losses, img/s) and one line per epoch."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.error: Any = None

    def failure(self) -> str | None:
        """The failure reported by `on_error`, with its suggestion (the command prints it once, at the end)."""
        if self.error is None:
            return None
        return with_advice(self.error.message, self.error.advice, self.error.suggestion)

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
        from colorcore.training.runs import START_EPOCH

        text = ", ".join(f"{k} {v:.3f}" for k, v in event.metrics.items())
        self._write(f"starting model: {text}" if event.epoch == START_EPOCH else f"epoch {event.epoch + 1}: {text}")

    def on_notice(self, event: Any) -> None:
        advice = advice_text(event.advice, event.suggestion)
        self._write(("warning: " if event.kind == "learning" else "") + event.message
                    + (f"; try: {advice}" if advice else ""))

    def on_error(self, event: Any) -> None:
        self.error = event

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
    """The ModelConfig the arguments describe: the chosen model with the options given. An unknown
    model, an option the model does not take or a value its option refuses is a CLIError."""
    from colorcore.models.base import MODEL_REGISTRY, ModelConfig, registered_options

    if args.model not in MODEL_REGISTRY:
        raise CLIError(f"unknown model {args.model!r}; choose one of {', '.join(sorted(MODEL_REGISTRY))}")
    takes = {spec.name: spec for spec in MODEL_REGISTRY[args.model].declared_options()}
    given = {name: getattr(args, name) for name in registered_options() if hasattr(args, name)}
    for name, value in given.items():
        if name not in takes:
            owners = registered_options()[name]
            flag = next(iter(owners.values())).flag
            raise CLIError(f"{flag} does not apply to the {args.model} model (only to {', '.join(owners)}); "
                           "drop it or choose one of those with --model")
        problem = takes[name].problem(value)
        if problem:
            raise CLIError(f"{takes[name].flag} {problem}")
    return ModelConfig(name=args.model, preset=args.preset, **given)


def check_paths(data: Path, run: Path, resume: bool, overwrite: bool = False) -> None:
    """CLIError when DATA is not a prepared dataset or RUN cannot be used as asked."""
    from colorcore.data.prepared import is_prepared_dataset

    if not is_prepared_dataset(data):
        raise CLIError(f"{data}: not a prepared dataset (no manifest.json); run `colorcore prepare` first")
    resumable = RunFolder(run).can_resume()
    if resume and not resumable:
        raise CLIError(f"{run}: nothing to resume (no {CHECKPOINT_DIR}/{LAST_CHECKPOINT}); drop --resume to start")
    if resume and overwrite:
        raise CLIError("--resume continues the run and --overwrite replaces it: choose one")
    if not resume and not overwrite and resumable:
        raise CLIError(f"{run}: already holds a run ({CHECKPOINT_DIR}/{LAST_CHECKPOINT}); "
                       "add --resume to continue it, --overwrite to replace it, or choose another folder")
    if not resume and not overwrite and run.is_dir() and not is_unused_folder(run):
        raise CLIError(f"{run}: folder is not empty; choose a new or empty run folder (or --overwrite)")


def epoch_schedule_and_note(n_train: int | None, args: argparse.Namespace, processes: int = 1) -> tuple[Any, str]:
    """The engine's end-of-epoch schedule (`presets.epoch_schedule`) for the flags given, and a one-line
    note ("" when none) saying that short epochs validate and save less often than every epoch.
    `--batch-size` is per process, `processes` the torchrun world size."""
    schedule = epoch_schedule(n_train, args.batch_size, args.min_epoch_interval, args.keep, processes)
    steps = schedule.short_steps
    if steps is None or args.min_epoch_interval is not None:
        return schedule, ""
    batch = f"batch {args.batch_size}" + (f" x {processes} processes" if processes > 1 else "")
    kept = " and keep only the last checkpoint" if args.keep is None else ""
    return schedule, (
        f"note: an epoch is {steps} step{'s' if steps != 1 else ''} here ({n_train} training photos, {batch}), "
        f"so validation and checkpoints run at most every {schedule.min_epoch_interval_s:g} s{kept} "
        "(--min-epoch-interval 0: after every epoch)")


def resumed_settings(args: argparse.Namespace, run_dir: Path) -> list[str]:
    """With --resume: the run's own settings (config.json) for every flag in RESUMED_SETTINGS not given,
    written into `args`; returns "--flag recorded -> given" for the given ones that change the run. A
    model option other than the run's is refused: the run continues with its own model (CLIError)."""
    from colorcore.models.base import registered_options

    recorded = RunFolder(run_dir).train_config()
    if recorded is None:
        raise CLIError(f"{run_dir}: its config.json is missing or unreadable, so the run's settings are unknown; "
                       "start a new run instead")
    given = getattr(args, "given", set())
    model = recorded.model.to_dict()
    differing = [next(iter(specs.values())).flag for name, specs in registered_options().items()
                 if name in given and getattr(args, name) != model.get(name)]
    differing += [f"--{name}" for name in ("model", "preset") if name in given and getattr(args, name) != model.get(name)]
    if differing:
        raise CLIError(f"{', '.join(differing)}: a resumed run continues with its own model and settings "
                       f"({recorded.model.name}, preset {recorded.model.preset}); start a new run to change them "
                       "(--init RUN starts from this one's weights)")
    changes = []
    for dest, name in RESUMED_SETTINGS.items():
        before = getattr(recorded, name)
        if dest not in given:
            setattr(args, dest, before)
        elif getattr(args, dest) != before:
            changes.append(f"--{dest.replace('_', '-')} {_shown(before)} -> {_shown(getattr(args, dest))}")
    return changes


def _shown(value: Any) -> str:
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def check_init(init: str) -> None:
    """CLIError (exit 2) when --init names no readable model."""
    from colorcore.models.checkpoint import ModelFileError, load_model

    try:
        load_model(init)
    except ModelFileError as exc:
        raise CLIError(f"--init: cannot start from {exc} (give 'starter', a run folder, .pt or .safetensors)") from None


def finishing_text(result: Any, init: str | None) -> str:
    """The end of a run in words: where it stopped and, for a fine-tuned run, whether its model beats
    the starting one (offering the starting model when it does not)."""
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items())
    lines = [f"{result.status} at step {result.step} (epoch {result.epoch}), {result.img_per_s:.1f} img/s"
             + (f"; {metrics}" if metrics else "")]
    best = result.best.get("psnr")
    if result.best and result.model_file:
        lines.append(f"model: {result.model_file}, from step {int(result.best['step'])} "
                     f"(the best held-out PSNR, {best:.2f} dB)")
    start = result.start_metrics.get("psnr")
    if start is not None:
        if best is None:
            lines.append(f"the starting model scored {start:.2f} dB; this run has no held-out score yet")
        elif best > start:
            lines.append(f"better than the starting model: {best:.2f} dB vs {start:.2f} dB held-out PSNR "
                         f"(+{best - start:.2f} dB)")
        else:
            lines.append(f"NOT better than the starting model: {best:.2f} dB vs {start:.2f} dB held-out PSNR; "
                         f"keep colourising with it{f' (--model {init})' if init else ''}, or train longer or "
                         "on more photos")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Train; Ctrl-C once stops at the next step with a checkpoint (exit 130), twice aborts."""
    from colorcore.core.events import StopFlag
    from colorcore.training.trainer import train_replacing

    data, run_dir = Path(args.data), Path(args.run)
    check_paths(data, run_dir, args.resume, args.overwrite)
    if args.init and args.resume:
        raise CLIError("--init starts a new run; drop it with --resume (the run continues from its checkpoint)")
    if args.init:
        check_init(args.init)
    changes = resumed_settings(args, run_dir) if args.resume else []
    from colorcore.data.prepared import DatasetError, load_prepared

    try:
        n_train = len(load_prepared(data).split("train"))
    except DatasetError:
        n_train = None  # the Trainer reports an unusable dataset itself
    world = max(1, int(os.environ.get("WORLD_SIZE", "1")))  # under torchrun, --batch-size is per process
    schedule, note = epoch_schedule_and_note(n_train, args, world)
    try:
        config = TrainConfig(
            data=str(data), run_dir=str(run_dir), model=model_config_from_args(args), epochs=args.epochs,
            batch_size=args.batch_size, device=args.device, amp=args.amp, channels_last=args.channels_last,
            seed=args.seed, deterministic=args.deterministic, max_steps=args.max_steps,
            keep_checkpoints=schedule.keep_checkpoints, eval_subset=args.eval_subset, resume=args.resume,
            min_epoch_interval_s=schedule.min_epoch_interval_s, init=args.init, compile=args.compile,
            keep_best=args.keep_best,
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    is_writer = int(os.environ.get("RANK", "0")) == 0
    if is_writer:
        if args.resume:
            print("resuming with the run's own settings" + (f"; changed: {', '.join(changes)}" if changes else ""),
                  file=sys.stderr)
        if note:
            print(note, file=sys.stderr)
    stop = StopFlag()
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: Any) -> None:
        print("\nstopping after this step (Ctrl-C again to abort)...", file=sys.stderr)
        stop.request_stop()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        progress = ProgressBar(is_writer)
        result = train_replacing(config, callbacks=[progress], stop=stop, replace=args.overwrite)
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.overwrite and result.status == "failed" and result.step == 0:
        print(f"the old run in {run_dir} was kept", file=sys.stderr)
    if result.status == "failed":
        raise CLIError(progress.failure() or result.error or "training failed", EXIT_FAILED)
    if is_writer:
        print(finishing_text(result, args.init) + f"\nrun folder: {run_dir}")
        if result.status == "stopped":
            print(f"resume with: colorcore train {data} {run_dir} --resume")
    return EXIT_INTERRUPTED if result.status == "stopped" else 0
