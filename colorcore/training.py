"""The Trainer: any registered `ColorModel` on a prepared dataset, with events, exact resume and DDP.

Pure engine (no Qt). Progress goes to callbacks (`colorcore.events`): `on_step` (rate-limited by
the trainer's own clock, plus the last step), `on_epoch_end` (validation metrics on a fixed subset of
the test split), `on_samples` (a gray | fake | real grid), `on_checkpoint`, `on_error`, `on_end`.
A run folder holds config.json, metrics.csv, eval.csv, samples/ and checkpoints/ (DESIGN.md s. 2), and
model.safetensors (the generator, exported when a run finishes or is stopped).

The data stays uint8 (on the GPU when it fits); each epoch visits a permutation seeded by
(seed, epoch), so a checkpoint's (epoch, position) is enough to continue exactly where it stopped.
Under `torchrun` (WORLD_SIZE > 1) each rank trains on its shard of every epoch's permutation with
DistributedDataParallel; rank 0 alone writes files and emits events.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, ContextManager, Sequence

import numpy as np
import torch
from torch import Tensor

from colorcore import __version__
from colorcore.atomic import atomic_link, atomic_write_text
from colorcore.checkpoint import (
    CHECKPOINT_DIR,
    EPOCH_CHECKPOINT_GLOB,
    EPOCH_CHECKPOINT_PATTERN,
    LAST_CHECKPOINT,
    MODEL_FILE_NAME,
    CheckpointError,
    export_model,
    load_checkpoint,
    make_checkpoint,
    save_checkpoint,
)
from colorcore.events import (
    CheckpointEvent,
    EndEvent,
    EpochEvent,
    ErrorEvent,
    NoticeEvent,
    SamplesEvent,
    StepEvent,
    StopFlag,
    emit,
)
from colorcore.models.base import ColorModel, ModelConfig, StepContext, build_model
from colorcore.tensors import batch_from_uint8, gray_input, to_uint8_images
from colorcore.watchdog import LearningMonitor

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.csv"
EVAL_FILE = "eval.csv"
SAMPLES_DIR = "samples"
SAMPLE_PATTERN = "epoch_{:04d}.png"
LOSS_PREFIX = "loss_"
STEP_COLUMNS = ("step", "epoch", "time_s", "img_per_s")
EVAL_COLUMNS = ("epoch", "step", "psnr", "ssim", "colourfulness")
EVAL_SPLIT = "test"
GPU_DATA_FRACTION = 0.5  # the dataset goes to the GPU when it needs at most this share of free memory
EPOCH_SEED_STRIDE = 1_000_003
DDP_STOP_CHECK_STEPS = 10  # under DDP the ranks agree on a stop request every this many steps
STATUS_FINISHED, STATUS_STOPPED, STATUS_FAILED = "finished", "stopped", "failed"
ARCHITECTURE_FIELDS = ("name", "image_size", "width", "resnet_weights", "finetune_resnet")  # taken from `init`


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; saved as config.json in the run folder.

    `amp` and `channels_last` mean "use when this device supports it" (detected, never assumed).
    `batch_size` is per process under torchrun. `eval_subset` test images are scored after every
    epoch; `sample_count` of them form the sample grid. `log_interval_s` rate-limits step events and
    metrics.csv rows (0 logs every step). `min_epoch_interval_s` rate-limits the end-of-epoch work
    (validation, samples, checkpoints) for datasets whose epochs last a few steps: it runs at an epoch
    end only when that many seconds have passed since it last ran (0, the default, runs it after every
    epoch; the last epoch and a stop always get it). `resume` continues from the run's checkpoints/last.pt.
    `max_steps`, when given, is the stopping rule: training runs that many steps in total, through as
    many epochs as it takes (`epochs` then does not cap it). `epochs` None: the model's preset's (the
    paper's count where it states one: scgan 100, zhang 200; ours otherwise). `init` starts a new run's generator from a
    model ("starter", a run folder, .pt or .safetensors): its architecture (model, width, ResNet path)
    replaces `model`'s, the optimisation settings stay `model`'s. `compile` compiles the networks' forward
    with torch.compile where it runs (`compile_unavailable_reason`), else a notice says why and training
    runs eagerly; measured with benchmarks/bench_train.py --compile.
    """

    data: str
    run_dir: str
    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int | None = None
    batch_size: int = 64
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    seed: int = 0
    deterministic: bool = False
    max_steps: int | None = None
    keep_checkpoints: int = 3
    eval_subset: int = 256
    sample_count: int = 8
    log_interval_s: float = 1.0
    min_epoch_interval_s: float = 0.0
    resume: bool = False
    init: str | None = None
    compile: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):  # from JSON
            object.__setattr__(self, "model", ModelConfig.from_dict(self.model))
        checks = {
            "epochs": self.epochs is None or self.epochs >= 1, "batch_size": self.batch_size >= 1,
            "keep_checkpoints": self.keep_checkpoints >= 0, "eval_subset": self.eval_subset >= 0,
            "sample_count": self.sample_count >= 0, "log_interval_s": self.log_interval_s >= 0,
            "min_epoch_interval_s": self.min_epoch_interval_s >= 0,
            "max_steps": self.max_steps is None or self.max_steps >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid training setting(s): {', '.join(f'{n}={getattr(self, n)!r}' for n in bad)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (the model config nested under "model")."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """Inverse of `to_dict`; unknown keys (versions, device...) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class TrainResult:
    """How a run ended and where it got to."""

    status: str
    run_dir: str
    step: int = 0
    epoch: int = 0
    losses: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    checkpoint: str | None = None
    model_file: str | None = None
    elapsed_s: float = 0.0
    img_per_s: float = 0.0
    error: str | None = None


class TrainingError(Exception):
    """A user-facing training failure with a suggestion (bad dataset, resume mismatch...)."""

    def __init__(self, message: str, suggestion: str = "") -> None:
        super().__init__(message)
        self.suggestion = suggestion


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


def select_precision(device: torch.device, amp: bool) -> Precision:
    """bf16 autocast where the CPU/GPU runs it natively, fp16 + GradScaler on older CUDA GPUs, else fp32."""
    if not amp:
        return Precision(None, False)
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return Precision(torch.bfloat16, False)
        return Precision(torch.float16, True)
    if device.type == "cpu":
        from colorcore.device import cpu_supports_bf16

        return Precision(torch.bfloat16 if cpu_supports_bf16() else None, False)
    return Precision(None, False)


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


def gather_rows(source: Tensor, idx: Tensor, pinned: bool) -> Tensor:
    """`source[idx]`, written into page-locked memory when `pinned`, so that a `non_blocking` copy to the
    GPU really is asynchronous (indexing a pinned tensor makes an ordinary, pageable one)."""
    if not pinned:
        return source[idx]
    out = torch.empty((idx.numel(), *source.shape[1:]), dtype=source.dtype, pin_memory=True)
    return torch.index_select(source, 0, idx, out=out)


def epoch_permutation(seed: int, epoch: int, n: int) -> Tensor:
    """The order of the n training images in `epoch` (depends only on seed and epoch)."""
    generator = torch.Generator().manual_seed(seed * EPOCH_SEED_STRIDE + epoch)
    return torch.randperm(n, generator=generator)


def rng_state(device: torch.device | None = None) -> dict[str, Any]:
    """Every RNG state (torch, numpy, random, and the training `device`'s CUDA generator) as tensors and
    plain lists (weights_only-safe). Only the training device's CUDA state is kept, so a checkpoint
    resumes on a machine with any number of GPUs."""
    keys, pos, has_gauss, cached = np.random.get_state()[1:]
    version, internal, gauss_next = random.getstate()
    cuda = torch.cuda.get_rng_state(device) if device is not None and device.type == "cuda" else None
    return {
        "torch": torch.get_rng_state(),
        "cuda": cuda,
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": [version, list(internal), gauss_next],
    }


def set_rng_state(state: dict[str, Any], device: torch.device | None = None) -> None:
    """Restore what `rng_state` captured; the CUDA state goes to the training `device` when it is a GPU.

    Checkpoints of older versions hold one CUDA state per GPU of the machine that wrote them: the
    training device's entry is used when there is one (never all of them, which fails on a machine
    with fewer GPUs).
    """
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if isinstance(cuda, (list, tuple)):
        index = (device.index or 0) if device is not None else 0
        cuda = cuda[index] if index < len(cuda) else None
    if cuda is not None and device is not None and device.type == "cuda":
        torch.cuda.set_rng_state(cuda, device)
    np_state = state["numpy"]
    np.random.set_state(("MT19937", np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached_gaussian"]))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


def seed_everything(seed: int) -> None:
    """Seed torch (all devices), numpy and random."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_deterministic(enabled: bool) -> None:
    """Deterministic kernels (bitwise repeatable runs on the same machine) or the fast defaults."""
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if enabled != torch.are_deterministic_algorithms_enabled():
        torch.use_deterministic_algorithms(enabled)  # imports torch._inductor (~2 s): only when it changes
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled


def git_commit() -> str | None:
    """The source tree's git commit, when it is a git checkout (never for a frozen app, whose files
    are no checkout: that also spares windowed Windows builds a console window flashing up)."""
    if getattr(sys, "frozen", False):
        return None
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # Windows: no console for the child
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5, creationflags=flags)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment(device: torch.device, precision: Precision, channels_last: bool, world_size: int) -> dict[str, Any]:
    """Versions, device and git commit recorded next to the config."""
    from colorcore.device import describe_device

    return {
        "versions": {"colorcore": __version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "device": describe_device(device),
        "precision": precision.label,
        "channels_last": channels_last,
        "world_size": world_size,
        "git_commit": git_commit(),
    }


@dataclass
class DistInfo:
    """Process-group facts: rank, world size, whether DDP is on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True under torchrun with more than one process."""
        return self.world_size > 1

    @property
    def is_writer(self) -> bool:
        """Rank 0 writes every file and emits every event."""
        return self.rank == 0


def init_distributed(device: torch.device) -> DistInfo:
    """Join the torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    import torch.distributed as dist

    info = DistInfo(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return info


def error_message(exc: BaseException, config: TrainConfig) -> tuple[str, str]:
    """A human message and a suggestion for an exception raised while training."""
    from colorcore.dataset import DatasetError
    from colorcore.device import DeviceError
    from colorcore.models.generator import ResNetWeightsError

    if isinstance(exc, torch.OutOfMemoryError):
        return (f"out of memory on {config.device} at batch size {config.batch_size}",
                "lower --batch-size (or --width), or train on another device")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return (f"disk full while writing to {config.run_dir}",
                "free space or choose a run folder on another disk; the last checkpoint is kept")
    if isinstance(exc, TrainingError):
        return str(exc), exc.suggestion
    if isinstance(exc, DatasetError):
        return str(exc), "check the prepared dataset folder, or prepare it again with `colorcore prepare`"
    if isinstance(exc, CheckpointError):
        return str(exc), "start a new run in another folder, or train without --resume"
    if isinstance(exc, ResNetWeightsError):
        return str(exc), "use --resnet-weights none, or a local ResNet-18 file"
    if isinstance(exc, DeviceError):
        return str(exc), "use --device cpu or auto"
    if isinstance(exc, OSError):
        return f"cannot write in {config.run_dir}: {exc}", "check the run folder's permissions and free space"
    return f"{type(exc).__name__}: {exc}", ""


class _CsvLog:
    """An append-only CSV file with a fixed header (rows beyond a resumed step are dropped first)."""

    def __init__(self, path: Path, columns: Sequence[str], keep_until_step: int | None) -> None:
        self.path, self.columns = path, list(columns)
        if keep_until_step is None or not path.is_file():
            atomic_write_text(path, ",".join(self.columns) + "\n")
        else:
            self._truncate(keep_until_step)

    def _truncate(self, last_step: int) -> None:
        with open(self.path, newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if _int_or_none(r.get("step")) is not None
                    and _int_or_none(r.get("step")) <= last_step]
        text = io.StringIO()
        writer = csv.DictWriter(text, self.columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.path, text.getvalue())

    def append(self, row: dict[str, Any]) -> None:
        """Add one row (values formatted compactly) and flush it to disk."""
        values = [_format(row.get(c, "")) for c in self.columns]
        with open(self.path, "a", encoding="utf-8", newline="") as handle:
            handle.write(",".join(values) + "\n")


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(float(text)) if text not in (None, "") else None
    except ValueError:
        return None


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def train_replacing(config: TrainConfig, callbacks: Sequence[object] = (), stop: StopFlag | None = None,
                    replace: bool = False) -> TrainResult:
    """Run a `Trainer`; with `replace`, the run already in `config.run_dir` is first set aside (one
    rename), removed once the new run has trained, and put back if the new one fails before its first
    step, so the folder never holds a mixture of two runs. Used by `colorcore train --overwrite` and the
    Training tab's "Replace the old run"."""
    import shutil
    import uuid

    run = Path(config.run_dir)
    aside = None
    if replace and run.exists() and int(os.environ.get("RANK", "0")) == 0:
        aside = run.with_name(f".{run.name}.replaced-{uuid.uuid4().hex[:8]}")
        os.replace(run, aside)
    result = Trainer(config, callbacks=callbacks, stop=stop).run()
    if aside is not None:
        if result.status == STATUS_FAILED and result.step == 0:
            shutil.rmtree(run, ignore_errors=True)
            os.replace(aside, run)
        else:
            shutil.rmtree(aside, ignore_errors=True)
    return result


class Trainer:
    """Trains `config.model` on `config.data` into `config.run_dir`; `run()` returns a `TrainResult`."""

    def __init__(self, config: TrainConfig, callbacks: Sequence[object] = (), stop: StopFlag | None = None) -> None:
        self.config = config
        self.callbacks = list(callbacks)
        self.stop = stop or StopFlag()
        self.run_dir = Path(config.run_dir)
        self.dist = DistInfo()
        self.step = 0
        self.epoch = 0
        self.epoch_pos = 0
        self.last_losses: dict[str, float] = {}
        self.last_metrics: dict[str, float] = {}
        self.last_checkpoint: str | None = None
        self.model_file: str | None = None
        self._images_done = 0
        self._start_time = 0.0
        self._paused_s = 0.0
        self._first_step = 0
        self.monitor = LearningMonitor()
        self.gray_psnr = math.nan
        self.pinned_data = False  # the training data stays in page-locked host memory (too big for the GPU)
        self.compiled = False

    # -- events -------------------------------------------------------------------------------
    def _emit(self, hook: str, event: object) -> None:
        if self.dist.is_writer:
            emit(self.callbacks, hook, event)

    # -- entry point ----------------------------------------------------------------------------
    def run(self) -> TrainResult:
        """Train until the epochs or `max_steps` are done, a stop is requested, or an error occurs."""
        from colorcore.device import flushed_denormals

        self._start_time = self._last_epoch_work = time.perf_counter()
        try:
            with flushed_denormals():
                status = self._run()
            if self.dist.is_writer and self.last_checkpoint is not None:
                self.model_file = str(export_model(self.run_dir, self.run_dir / MODEL_FILE_NAME))
        except Exception as exc:  # every failure becomes an ErrorEvent; the run folder stays usable
            message, suggestion = error_message(exc, self.config)
            self._emit("on_error", ErrorEvent(message, suggestion, exc))
            result = self._result(STATUS_FAILED, error=message)
            self._emit("on_end", EndEvent(STATUS_FAILED, asdict(result)))
            return result
        finally:
            self._shutdown_distributed()
        result = self._result(status)
        self._emit("on_end", EndEvent(status, asdict(result)))
        return result

    def _result(self, status: str, error: str | None = None) -> TrainResult:
        elapsed = time.perf_counter() - self._start_time
        return TrainResult(
            status=status, run_dir=str(self.run_dir), step=self.step, epoch=self.epoch,
            losses=dict(self.last_losses), metrics=dict(self.last_metrics), checkpoint=self.last_checkpoint,
            model_file=self.model_file, elapsed_s=elapsed,
            img_per_s=self._images_done / elapsed if elapsed > 0 else 0.0, error=error,
        )

    def _shutdown_distributed(self) -> None:
        if self.dist.enabled:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    # -- setup ----------------------------------------------------------------------------------
    def _setup(self) -> None:
        from colorcore.dataset import load_prepared
        from colorcore.device import resolve_device

        cfg = self.config
        device = resolve_device(cfg.device)
        self.dist = init_distributed(device)
        if device.type == "cuda" and self.dist.enabled:
            device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(device)
        self.device = device
        set_deterministic(cfg.deterministic)
        seed_everything(cfg.seed + self.dist.rank)

        resume_state = self._load_resume_state() if cfg.resume else None
        model_config = cfg.model
        if resume_state is not None:  # the run's own architecture and provenance; weights come from the file
            model_config = ModelConfig.from_dict(resume_state["model_config"])
        else:
            init_model = self._init_model() if cfg.init else None
            if init_model is not None:
                model_config = model_config.with_(**{k: getattr(init_model.config, k) for k in ARCHITECTURE_FIELDS})
            model_config = self._resolve_pretrained(model_config)

        self.dataset = load_prepared(cfg.data)
        if resume_state is None:
            model_config = model_config.with_(image_size=self.dataset.size)  # the model follows its data
        if self.dataset.size != model_config.image_size:
            raise TrainingError(
                f"{cfg.data}: images are {self.dataset.size} px but the model is configured for "
                f"{model_config.image_size} px", "resume with the dataset this run was trained on")
        n_train = len(self.dataset.split("train"))
        if n_train == 0:
            raise TrainingError(f"{cfg.data}: the train split is empty", "prepare a folder with more photos")
        self.train_data = self._data_on_device(self.dataset.tensors("train", "cpu"))
        self.n_train = n_train

        self.precision = select_precision(device, cfg.amp)
        self.channels_last = cfg.channels_last and channels_last_pays_off(device, self.precision)
        self.model: ColorModel = build_model(model_config, pretrained=resume_state is None and not cfg.init)
        if resume_state is None and cfg.init:
            self.model.generator.load_state_dict(init_model.generator.state_dict())
        self.model.to(device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        if cfg.compile:
            self._compile_networks()
        self.model.train()
        self.optimizers = self.model.make_optimizers()
        self.base_lrs = {k: [g["lr"] for g in opt.param_groups] for k, opt in self.optimizers.items()}
        self.warmup_steps = int(self.model.hyperparameter("lr_warmup_steps"))
        self.scaler = torch.amp.GradScaler(device.type) if self.precision.scaler else None
        self.ctx = StepContext(autocast=autocast_factory(device, self.precision), scaler=self.scaler)

        per_rank = max(1, cfg.batch_size)
        shard = n_train // self.dist.world_size  # equal shards: the remainder of each permutation is skipped
        if shard == 0:
            raise TrainingError(f"{cfg.data}: {n_train} training images for {self.dist.world_size} processes",
                                "use fewer processes or more photos")
        self.batch_size = min(per_rank, shard)
        self.steps_per_epoch = max(1, shard // self.batch_size)
        self.epochs = cfg.epochs or type(self.model).preset_epochs(model_config.preset)
        self.total_steps = cfg.max_steps if cfg.max_steps else self.epochs * self.steps_per_epoch
        from colorcore.watchdog import LEARNING_SUGGESTION, PAPER_PRESET_SUGGESTION

        self.monitor = LearningMonitor(
            warmup_steps=max(self.warmup_steps, min(self.total_steps // 3, 300)),
            suggestion=PAPER_PRESET_SUGGESTION if model_config.preset == "paper" else LEARNING_SUGGESTION)

        if resume_state is not None:
            self._restore(resume_state)
        self._first_step = self.step
        self.plain_networks = dict(self.model.networks())
        if self.dist.enabled:
            self._wrap_ddp()
        if self.dist.is_writer:
            self._prepare_run_folder(resume_state is not None)
            self.gray_psnr = self._gray_psnr()

    def _compile_networks(self) -> None:
        """torch.compile each network's forward in place (parameter names unchanged), or say why not.

        A network that torch.compile fails on later runs eagerly (dynamo's suppress_errors)."""
        reason = compile_unavailable_reason(self.device)
        if reason is not None:
            self._emit("on_notice", NoticeEvent("compile", reason + "; training without it", "", 0))
            return
        import torch._dynamo

        torch._dynamo.config.suppress_errors = True
        for net in self.model.networks().values():
            net.compile()
        self.compiled = True

    def _init_model(self) -> ColorModel:
        """The model named by `init` (TrainingError when it cannot be read)."""
        from colorcore.checkpoint import load_model
        from colorcore.starter import resolve_model_argument

        try:
            return load_model(resolve_model_argument(self.config.init))
        except (CheckpointError, FileNotFoundError) as exc:
            raise TrainingError(f"cannot start from {self.config.init}: {exc}",
                                "give a run folder, .pt or .safetensors model, or 'starter'") from None

    def _resolve_pretrained(self, config: ModelConfig) -> ModelConfig:
        """Resolve resnet_weights "auto" (ImageNet when cached or downloadable, else none) and say which."""
        from colorcore.models import MODEL_REGISTRY
        from colorcore.models.generator import resnet_role, resolve_resnet_weights

        if not getattr(MODEL_REGISTRY.get(config.name), "uses_resnet", False):
            return config
        weights = resolve_resnet_weights(config.resnet_weights, allow_download=True)
        role = resnet_role(weights, config.finetune_resnet)
        source = {"imagenet": "ImageNet weights", "none": "random weights"}.get(weights, f"weights from {weights}")
        text = {"frozen": f"ResNet-18 path: {source}, frozen",
                "trained": f"ResNet-18 path: {source}, trained with the rest",
                "omitted": "ResNet-18 path: left out (no ImageNet weights on this machine; a frozen random "
                           "network would only add noise)"}[role]
        self._emit("on_notice", NoticeEvent("resnet", text, "", 0))
        return config.with_(resnet_weights=weights)

    def _gray_psnr(self) -> float:
        """Mean PSNR of the gray photos of the validation images: the floor a model must beat."""
        from colorcore.metrics import psnr

        split = EVAL_SPLIT if len(self.dataset.split(EVAL_SPLIT)) else "train"
        limit = self.config.eval_subset or self.config.sample_count
        if not limit:
            return math.nan
        real = torch.from_numpy(np.array(self.dataset.split(split).rgb[:limit], dtype=np.uint8))
        return float(psnr(to_uint8_images(gray_input(real)), real).mean()) if len(real) else math.nan

    def _load_resume_state(self) -> dict[str, Any] | None:
        path = self.run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT
        if not path.is_file():
            raise TrainingError(f"{path}: nothing to resume (no last checkpoint in the run folder)",
                                "train without --resume to start this run")
        return load_checkpoint(path)

    def _restore(self, state: dict[str, Any]) -> None:
        for key, net in self.model.networks().items():
            net.load_state_dict(state["networks"][key])
        for key, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][key])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step, self.epoch, self.epoch_pos = int(state["step"]), int(state["epoch"]), int(state["epoch_pos"])
        if state.get("rng") is not None and int(state.get("world_size", 1)) == self.dist.world_size:
            set_rng_state(state["rng"], self.device)
        self.last_metrics = dict(state.get("summary", {}).get("metrics", {}))

    def _data_on_device(self, tensors: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        if self.device.type == "cpu":
            return tensors
        nbytes = sum(t.numel() for t in tensors)
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            if nbytes > GPU_DATA_FRACTION * free:
                self.pinned_data = True
                return tuple(t.pin_memory() for t in tensors)  # type: ignore[return-value]
        return tuple(t.to(self.device) for t in tensors)  # type: ignore[return-value]

    def _wrap_ddp(self) -> None:
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        for key, net in self.plain_networks.items():
            if any(p.requires_grad for p in net.parameters()):
                self.model.set_network(key, DistributedDataParallel(net, device_ids=ids))

    def _prepare_run_folder(self, resumed: bool) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / CHECKPOINT_DIR).mkdir(exist_ok=True)
        (self.run_dir / SAMPLES_DIR).mkdir(exist_ok=True)
        from colorcore.models.base import HYPERPARAMETERS

        used = {k: self.model.hyperparameter(k) for k in HYPERPARAMETERS if k in self.model.presets[self.model.config.preset]}
        info = {**self.config.to_dict(), "epochs": self.epochs, "model": self.model.config.to_dict(),
                "hyperparameters": used,
                **environment(self.device, self.precision, self.channels_last, self.dist.world_size),
                "compiled": self.compiled,
                "batch_size_per_process": self.batch_size, "steps_per_epoch": self.steps_per_epoch}
        atomic_write_text(self.run_dir / CONFIG_FILE, json.dumps(info, indent=2, default=str) + "\n")
        keep = self.step if resumed else None
        loss_columns = [LOSS_PREFIX + name for name in self.model.loss_names]
        self.metrics_log = _CsvLog(self.run_dir / METRICS_FILE, [*STEP_COLUMNS, *loss_columns], keep)
        self.eval_log = _CsvLog(self.run_dir / EVAL_FILE, EVAL_COLUMNS, keep)

    # -- the loop -------------------------------------------------------------------------------
    def _run(self) -> str:
        self._setup()
        cfg = self.config
        rgb_all, edge_all, sal_all = self.train_data
        data_device = rgb_all.device
        clock_last = time.perf_counter()
        images_at_log = 0
        losses: dict[str, Tensor] = {}
        while self.step < self.total_steps:
            perm = epoch_permutation(cfg.seed, self.epoch, self.n_train)[self.dist.rank::self.dist.world_size]
            perm = perm.to(data_device)
            while self.epoch_pos < self.steps_per_epoch and self.step < self.total_steps:
                if self.stop.paused:
                    paused_at = time.perf_counter()
                    self.stop.wait_if_paused()
                    self._paused_s += time.perf_counter() - paused_at
                if self._should_stop():
                    self._save_last()
                    return STATUS_STOPPED
                start = self.epoch_pos * self.batch_size
                idx = perm[start:start + self.batch_size]
                batch = self._batch(*(gather_rows(t, idx, self.pinned_data) for t in (rgb_all, edge_all, sal_all)))
                self._set_learning_rates()
                self.ctx.step = self.step
                losses = self.model.training_step(batch, self.optimizers, self.ctx)
                self.step += 1
                self.epoch_pos += 1
                self._images_done += self.batch_size * self.dist.world_size
                images_at_log += self.batch_size * self.dist.world_size
                now = time.perf_counter()
                last = self.step >= self.total_steps
                if self.dist.is_writer and (last or now - clock_last >= cfg.log_interval_s):
                    self._log_step(losses, images_at_log / max(now - clock_last, 1e-9))
                    clock_last, images_at_log = time.perf_counter(), 0
            if self.epoch_pos >= self.steps_per_epoch:
                self.epoch += 1
                self.epoch_pos = 0
                if self.step >= self.total_steps or self._epoch_work_due():
                    self._end_of_epoch(self.epoch - 1)
            elif self.step >= self.total_steps:  # max_steps reached mid-epoch
                self._end_of_epoch(self.epoch, epoch_done=False)
        return STATUS_FINISHED

    def _set_learning_rates(self) -> None:
        """Linear learning-rate warm-up over the first `lr_warmup_steps` steps (then the base rates)."""
        if self.step > self.warmup_steps:
            return
        factor = min(1.0, (self.step + 1) / self.warmup_steps) if self.warmup_steps > 0 else 1.0
        for key, opt in self.optimizers.items():
            for group, base in zip(opt.param_groups, self.base_lrs[key]):
                group["lr"] = base * factor

    def _epoch_work_due(self) -> bool:
        """Whether this epoch end gets validation and checkpoints (see `min_epoch_interval_s`)."""
        due = time.perf_counter() - self._last_epoch_work >= self.config.min_epoch_interval_s
        if not self.dist.enabled:
            return due
        import torch.distributed as dist

        flag = torch.tensor([1.0 if due else 0.0], device=self.device)
        dist.broadcast(flag, src=0)  # every rank follows rank 0's clock (the work ends in a barrier)
        return bool(flag.item() > 0)

    def _should_stop(self) -> bool:
        requested = self.stop.stop_requested
        if not self.dist.enabled:
            return requested
        if self.step % DDP_STOP_CHECK_STEPS:
            return False  # the check is a collective (and a host sync): not on every step
        import torch.distributed as dist

        flag = torch.tensor([1.0 if requested else 0.0], device=self.device)
        dist.all_reduce(flag)
        return bool(flag.item() > 0)

    def _batch(self, rgb: Tensor, edge: Tensor, sal: Tensor) -> dict[str, Tensor]:
        if rgb.device != self.device:
            rgb, edge, sal = (t.to(self.device, non_blocking=True) for t in (rgb, edge, sal))
        batch = batch_from_uint8(rgb, edge, sal)
        if self.channels_last:
            batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
        return batch

    def _log_step(self, losses: dict[str, Tensor], img_per_s: float) -> None:
        stacked = torch.stack([v.detach().float() for v in losses.values()]).tolist()  # the one host sync per log
        values = dict(zip(losses, stacked))
        self.last_losses = values
        elapsed = time.perf_counter() - self._start_time
        running = elapsed - self._paused_s
        rate = (self.step - self._first_step) / running if running > 0 else 0.0  # this session's steps only
        eta = (self.total_steps - self.step) / rate if rate > 0 else None
        row = {"step": self.step, "epoch": self.epoch, "time_s": round(elapsed, 3), "img_per_s": img_per_s,
               **{LOSS_PREFIX + k: v for k, v in values.items()}}
        self.metrics_log.append(row)
        self._emit("on_step", StepEvent(self.step, self.epoch, self.total_steps,
                                        {LOSS_PREFIX + k: v for k, v in values.items()}, img_per_s, elapsed, eta))
        notice = self.monitor.on_losses(self.step, values)
        if notice is not None:
            self._emit("on_notice", notice)

    # -- end of epoch: validation, samples, checkpoints -------------------------------------------
    def _end_of_epoch(self, epoch: int, epoch_done: bool = True) -> None:
        if self.dist.is_writer:
            self._validate(epoch)
            self._save_last()
            if epoch_done:
                self._save_epoch_checkpoint(epoch)
        self._last_epoch_work = time.perf_counter()
        if self.dist.enabled:
            import torch.distributed as dist

            dist.barrier()

    @contextlib.contextmanager
    def _plain_model(self):  # type: ignore[no-untyped-def]
        """The model with its plain networks (no DDP wrappers), in eval mode, for rank-0-only work."""
        wrapped = dict(self.model.networks())
        for key, net in self.plain_networks.items():
            self.model.set_network(key, net)
        self.model.eval()
        try:
            yield self.model
        finally:
            self.model.train()
            for key, net in wrapped.items():
                self.model.set_network(key, net)

    def _validate(self, epoch: int) -> None:
        from colorcore.evaluation import comparison_grid, evaluate_model
        from colorcore.imageio import write_image

        cfg = self.config
        split = EVAL_SPLIT if len(self.dataset.split(EVAL_SPLIT)) else "train"
        grid = None
        with self._plain_model() as model:
            if cfg.eval_subset:
                result = evaluate_model(model, self.dataset, split, batch_size=self.batch_size, device=self.device,
                                        limit=cfg.eval_subset, grid_count=cfg.sample_count)
                grid = result.grid
                self.last_metrics = dict(result.summary)
                self.eval_log.append({"epoch": epoch, "step": self.step, **result.summary})
                self._emit("on_epoch_end", EpochEvent(epoch, self.step, dict(result.summary)))
                notice = self.monitor.on_validation(self.step, result.summary["psnr"], self.gray_psnr,
                                                    self._saturation(model, split))
                if notice is not None:
                    self._emit("on_notice", notice)
            elif cfg.sample_count:
                arrays = self.dataset.split(split)
                n = cfg.sample_count
                grid = comparison_grid(model, arrays.rgb[:n], arrays.edge[:n], arrays.saliency[:n], self.device)
        if grid is not None:
            path = self.run_dir / SAMPLES_DIR / SAMPLE_PATTERN.format(epoch)
            write_image(path, grid)
            self._emit("on_samples", SamplesEvent(epoch, self.step, grid, str(path)))

    def _saturation(self, model: ColorModel, split: str) -> float:
        """Share of the colour outputs beyond +/-SATURATION_LEVEL on the first validation images."""
        from colorcore.watchdog import SATURATION_LEVEL

        real = np.array(self.dataset.split(split).rgb[:self.batch_size], dtype=np.uint8)
        if not len(real):
            return 0.0
        with torch.no_grad():
            rgb = model.predict(gray_input(torch.from_numpy(real).to(self.device)))["rgb"]
        return float((rgb.float().abs() > SATURATION_LEVEL).float().mean())

    def _checkpoint_state(self) -> dict[str, Any]:
        summary = {"epochs": self.epoch, "steps": self.step, "losses": dict(self.last_losses),
                   "metrics": dict(self.last_metrics)}
        return make_checkpoint(
            self.model, self.optimizers,
            train_config=self.config.to_dict(),
            scaler=self.scaler.state_dict() if self.scaler is not None else None,
            rng=rng_state(self.device),
            step=self.step, epoch=self.epoch, epoch_pos=self.epoch_pos,
            world_size=self.dist.world_size,
            summary=summary,
        )

    def _save_last(self) -> None:
        if not self.dist.is_writer:
            return
        path = save_checkpoint(self.run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT, self._checkpoint_state())
        self.last_checkpoint = str(path)
        self._emit("on_checkpoint", CheckpointEvent(self.epoch, self.step, str(path)))

    def _save_epoch_checkpoint(self, epoch: int) -> None:
        if self.config.keep_checkpoints == 0:
            return
        folder = self.run_dir / CHECKPOINT_DIR
        # the state was just written to last.pt: link (or copy) that file instead of serialising it again
        path = atomic_link(folder / LAST_CHECKPOINT, folder / EPOCH_CHECKPOINT_PATTERN.format(epoch))
        self._emit("on_checkpoint", CheckpointEvent(epoch, self.step, str(path)))
        for old in sorted(folder.glob(EPOCH_CHECKPOINT_GLOB))[:-self.config.keep_checkpoints]:
            old.unlink(missing_ok=True)
