"""The Trainer: any registered `ColorModel` on a prepared dataset, with events, exact resume and DDP.

Pure engine (no Qt). Progress goes to callbacks (`colorcore.core.events`): `on_step` (rate-limited by
the trainer's own clock, plus the last step), `on_epoch_end` (validation metrics on a fixed subset of
the test split), `on_samples` (a gray | fake | real grid), `on_checkpoint`, `on_error`, `on_end`.
A run folder holds config.json, metrics.csv, eval.csv, samples/ and checkpoints/ (DESIGN.md s. 2), and
model.safetensors (the generator, exported when a run finishes or is stopped: from checkpoints/best.pt,
the validation with the best held-out PSNR, when `keep_best`). A run started from trained weights
(`init`) first scores them on the held-out images (eval.csv's START_EPOCH row, an `on_epoch_end` event
with that epoch), fine-tunes at its preset's learning rates x `presets.FINETUNE_LR_SCALE` unless rates
are given, and keeps their chroma calibration for its model file.

The data stays uint8 (on the GPU when it fits); each epoch visits a permutation seeded by
(seed, epoch), so a checkpoint's (epoch, position) is enough to continue exactly where it stopped.
Under `torchrun` (WORLD_SIZE > 1) each rank trains on its shard of every epoch's permutation with
DistributedDataParallel; rank 0 alone writes files and emits events.

The pieces it drives live in their own modules: `train_config` (the settings), `precision` (autocast,
GradScaler, channels_last and torch.compile per device), `reproducibility` (seeds, epoch order, RNG
states), `distributed` (torchrun), `provenance` (the versions config.json records), `csv_log`
(metrics.csv, eval.csv) and `training_errors` (a failure's message and suggestion).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from colorcore.core.advice import OFF, Advice
from colorcore.core.atomic import atomic_link, atomic_write_text
from colorcore.models.checkpoint import (
    CHECKPOINT_DIR,
    EPOCH_CHECKPOINT_GLOB,
    EPOCH_CHECKPOINT_PATTERN,
    LAST_CHECKPOINT,
    MODEL_FILE_NAME,
    CheckpointError,
    export_model,
    load_checkpoint,
    load_model,
    make_checkpoint,
    save_checkpoint,
)
from colorcore.training.csv_log import CsvLog
from colorcore.data.prepared import load_prepared
from colorcore.core.device import describe_device, flushed_denormals, resolve_device
from colorcore.training.distributed import (
    DistInfo,
    any_rank,
    barrier,
    init_distributed,
    launch_rank,
    rank_zero_decides,
    shutdown_distributed,
    wrap_ddp,
)
from colorcore.evaluation.evaluate import comparison_grid, evaluate_model
from colorcore.core.events import (
    CheckpointEvent,
    EndEvent,
    EpochEvent,
    NoticeEvent,
    SamplesEvent,
    StepEvent,
    StopFlag,
    emit,
)
from colorcore.data.imageio import write_image
from colorcore.evaluation.metrics import psnr
from colorcore.models.base import MODEL_REGISTRY
from colorcore.models.base import HYPERPARAMETERS, ColorModel, ModelConfig, StepContext, build_model
from colorcore.models.generator import resnet_role, resolve_resnet_weights, resolve_trunk
from colorcore.models.trunks import TRUNK_DESCRIPTIONS
from colorcore.core.precision import (
    autocast_factory,
    channels_last_pays_off,
    compile_unavailable_reason,
    select_precision,
)
from colorcore.core.provenance import collect_provenance
from colorcore.training.reproducibility import (
    epoch_permutation,
    rng_state,
    seed_everything,
    set_deterministic,
    set_rng_state,
)
from colorcore.training.presets import FINETUNE_LR_SCALE, finetune_rates
from colorcore.training.runs import (
    BEST_CHECKPOINT,
    CONFIG_FILE,
    EVAL_FILE,
    LOSS_PREFIX,
    METRICS_FILE,
    SAMPLE_PATTERN,
    SAMPLES_DIR,
    START_EPOCH,
    RunFolder,
)
from colorcore.models.starter import resolve_model_argument
from colorcore.core.tensors import batch_from_uint8, gray_input, to_uint8_images
from colorcore.training.config import TrainConfig
from colorcore.training.errors import TrainingError, error_event
from colorcore.training.watchdog import (
    LEARNING_ADVICE,
    PAPER_PRESET_ADVICE,
    SATURATION_LEVEL,
    LearningMonitor,
)

STEP_COLUMNS = ("step", "epoch", "time_s", "img_per_s")
EVAL_COLUMNS = ("epoch", "step", "psnr", "ssim", "colourfulness")
EVAL_SPLIT = "test"
GPU_DATA_FRACTION = 0.5  # the dataset goes to the GPU when it needs at most this share of free memory
DDP_STOP_CHECK_STEPS = 10  # under DDP the ranks agree on a stop request every this many steps
STATUS_FINISHED, STATUS_STOPPED, STATUS_FAILED = "finished", "stopped", "failed"
ARCHITECTURE_FIELDS = ("name", "image_size", "width", "resnet_weights", "finetune_resnet", "trunk")  # taken from `init`


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
    start_metrics: dict[str, float] = field(default_factory=dict)  # the starting model's score (init runs)
    best: dict[str, float] = field(default_factory=dict)  # {"step", "epoch", "psnr"} of checkpoints/best.pt


def gather_rows(source: Tensor, idx: Tensor, pinned: bool) -> Tensor:
    """`source[idx]`, written into page-locked memory when `pinned`, so that a `non_blocking` copy to the
    GPU really is asynchronous (indexing a pinned tensor makes an ordinary, pageable one)."""
    if not pinned:
        return source[idx]
    out = torch.empty((idx.numel(), *source.shape[1:]), dtype=source.dtype, pin_memory=True)
    return torch.index_select(source, 0, idx, out=out)


def train_replacing(config: TrainConfig, callbacks: Sequence[object] = (), stop: StopFlag | None = None,
                    replace: bool = False) -> TrainResult:
    """Run a `Trainer`; with `replace`, the run already in `config.run_dir` is first set aside (one
    rename), removed once the new run has trained, and put back if the new one fails before its first
    step, so the folder never holds a mixture of two runs. Used by `colorcore train --overwrite` and the
    Training tab's "Replace the old run"."""
    run = Path(config.run_dir)
    aside = None
    if replace and run.exists() and launch_rank() == 0:
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
        self.start_metrics: dict[str, float] = {}
        self.best: dict[str, float] = {}
        self.inference: dict[str, Any] | None = None  # the chroma calibration inherited from `init`
        self._elapsed_before = 0.0  # seconds the run had trained before this session (a resumed run)
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
        self._start_time = self._last_epoch_work = time.perf_counter()
        try:
            with flushed_denormals():
                status = self._run()
            if self.dist.is_writer and self.last_checkpoint is not None:
                source = RunFolder(self.run_dir).export_source() if self.config.keep_best else self.last_checkpoint
                self.model_file = str(export_model(source, self.run_dir / MODEL_FILE_NAME))
        except Exception as exc:  # every failure becomes an ErrorEvent; the run folder stays usable
            failure = error_event(exc, self.config)
            self._emit("on_error", failure)
            result = self._result(STATUS_FAILED, error=failure.message)
            self._emit("on_end", EndEvent(STATUS_FAILED, asdict(result)))
            return result
        finally:
            shutdown_distributed(self.dist)
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
            start_metrics=dict(self.start_metrics), best=dict(self.best),
        )

    # -- setup ----------------------------------------------------------------------------------
    def _setup(self) -> None:
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
                architecture = {k: getattr(init_model.config, k, None) for k in ARCHITECTURE_FIELDS}
                model_config = model_config.with_(**{k: v for k, v in architecture.items() if v is not None})
                model_config = self._finetune_config(model_config)
                if not init_model.calibration.neutral:
                    self.inference = init_model.calibration.to_metadata()
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
        self.monitor = LearningMonitor(
            warmup_steps=max(self.warmup_steps, min(self.total_steps // 3, 300)),
            advice=PAPER_PRESET_ADVICE if model_config.preset == "paper" else LEARNING_ADVICE)

        if resume_state is not None:
            self._restore(resume_state)
        self._first_step = self.step
        self.plain_networks = dict(self.model.networks())
        if self.dist.enabled:
            for key, net in self.plain_networks.items():
                self.model.set_network(key, wrap_ddp(net, self.device))
        if self.dist.is_writer:
            self._prepare_run_folder(resume_state is not None)
            self.gray_psnr = self._gray_psnr()
            if resume_state is None and cfg.init:
                self._score_start()

    def _compile_networks(self) -> None:
        """torch.compile each network's forward in place (parameter names unchanged), or say why not.

        A network that torch.compile fails on later runs eagerly (dynamo's suppress_errors)."""
        reason = compile_unavailable_reason(self.device)
        if reason is not None:
            self._emit("on_notice", NoticeEvent("compile", reason + "; training without it", "", 0))
            return
        import torch._dynamo  # here, not at the top: about 1.7 s to import, and only --compile needs it

        torch._dynamo.config.suppress_errors = True
        for net in self.model.networks().values():
            net.compile()
        self.compiled = True

    def _init_model(self) -> ColorModel:
        """The model named by `init` (TrainingError when it cannot be read)."""
        try:
            return load_model(resolve_model_argument(self.config.init))
        except (CheckpointError, FileNotFoundError) as exc:
            raise TrainingError(f"cannot start from {self.config.init}: {exc}",
                                "give a run folder, .pt or .safetensors model, or 'starter'") from None

    def _finetune_config(self, config: ModelConfig) -> ModelConfig:
        """`config` with the fine-tuning learning rates (the preset's x FINETUNE_LR_SCALE) where it
        leaves them unset; a notice says which rates the run uses."""
        cls = MODEL_REGISTRY[config.name]
        rates = {k: v for k, v in finetune_rates(cls.preset_values(config.preset)).items()
                 if getattr(config, k) is None}
        if rates:
            shown = ", ".join(f"{k} {v:g}" for k, v in rates.items())
            self._emit("on_notice", NoticeEvent(
                "finetune", f"fine-tuning {self.config.init} ({config.name}, width {config.width}): learning rates "
                f"x{FINETUNE_LR_SCALE:g} of the {config.preset} preset's ({shown})", "", 0))
        return config.with_(**rates)

    def _score_start(self) -> None:
        """Score the starting model (`init`) on the held-out images before the first step: eval.csv's
        START_EPOCH row and an `on_epoch_end` event with that epoch."""
        if not self.config.eval_subset:
            return
        split = EVAL_SPLIT if len(self.dataset.split(EVAL_SPLIT)) else "train"
        with self._plain_model() as model:
            result = evaluate_model(model, self.dataset, split, batch_size=self.batch_size, device=self.device,
                                    limit=self.config.eval_subset, grid_count=0)
        self.start_metrics = dict(result.summary)
        self.eval_log.append({"epoch": START_EPOCH, "step": self.step, **result.summary})
        self._emit("on_epoch_end", EpochEvent(START_EPOCH, self.step, dict(result.summary)))

    def _resolve_pretrained(self, config: ModelConfig) -> ModelConfig:
        """Resolve resnet_weights "auto" (ImageNet when cached or downloadable, else none) and say which."""
        if not getattr(MODEL_REGISTRY.get(config.name), "uses_resnet", False):
            return config
        trunk = resolve_trunk(config.trunk, config.resnet_weights, config.finetune_resnet, allow_download=True)
        if trunk != "resnet18":
            text = {"efficientnet-lite0": "Pre-trained trunk: " + TRUNK_DESCRIPTIONS[trunk] + ", frozen",
                    "none": "Pre-trained trunk: none"}[trunk]
            self._emit("on_notice", NoticeEvent("resnet", text, "", 0))
            return config.with_(trunk=trunk, resnet_weights=resolve_resnet_weights(config.resnet_weights))
        weights = resolve_resnet_weights(config.resnet_weights, allow_download=True)
        role = resnet_role(weights, config.finetune_resnet)
        source = {"imagenet": "ImageNet weights", "none": "random weights"}.get(weights, f"weights from {weights}")
        text = {"frozen": f"ResNet-18 path: {source}, frozen",
                "trained": f"ResNet-18 path: {source}, trained with the rest",
                "omitted": "ResNet-18 path: left out (no ImageNet weights on this machine; a frozen random "
                           "network would only add noise)"}[role]
        self._emit("on_notice", NoticeEvent("resnet", text, "", 0))
        return config.with_(resnet_weights=weights, trunk=trunk)

    def _gray_psnr(self) -> float:
        """Mean PSNR of the gray photos of the validation images: the floor a model must beat."""
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
                                advice=(Advice("resume", OFF),))
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
        self.start_metrics = dict(state.get("start_metrics") or {})
        self.best = dict(state.get("best") or {})
        self.inference = state.get("inference")
        self._elapsed_before = float(state.get("elapsed_s", 0.0))

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

    def _prepare_run_folder(self, resumed: bool) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / CHECKPOINT_DIR).mkdir(exist_ok=True)
        (self.run_dir / SAMPLES_DIR).mkdir(exist_ok=True)
        used = {k: self.model.hyperparameter(k) for k in HYPERPARAMETERS if k in self.model.presets[self.model.config.preset]}
        info = {**self.config.to_dict(), "epochs": self.epochs, "model": self.model.config.to_dict(),
                "hyperparameters": used,
                **collect_provenance(describe_device(self.device)), "precision": self.precision.label,
                "channels_last": self.channels_last, "world_size": self.dist.world_size,
                "compiled": self.compiled,
                "batch_size_per_process": self.batch_size, "steps_per_epoch": self.steps_per_epoch}
        atomic_write_text(self.run_dir / CONFIG_FILE, json.dumps(info, indent=2, default=str) + "\n")
        keep = self.step if resumed else None
        loss_columns = [LOSS_PREFIX + name for name in self.model.loss_names]
        self.metrics_log = CsvLog(self.run_dir / METRICS_FILE, [*STEP_COLUMNS, *loss_columns], keep)
        self.eval_log = CsvLog(self.run_dir / EVAL_FILE, EVAL_COLUMNS, keep)

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
        return rank_zero_decides(due, self.device)  # every rank follows rank 0's clock (the work ends in a barrier)

    def _should_stop(self) -> bool:
        requested = self.stop.stop_requested
        if not self.dist.enabled:
            return requested
        if self.step % DDP_STOP_CHECK_STEPS:
            return False  # the check is a collective (and a host sync): not on every step
        return any_rank(requested, self.device)

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
        row = {"step": self.step, "epoch": self.epoch, "time_s": round(self._elapsed_before + elapsed, 3),
               "img_per_s": img_per_s,
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
            improved = self._validate(epoch)
            self._save_last()
            if improved and self.config.keep_best:
                folder = self.run_dir / CHECKPOINT_DIR
                atomic_link(folder / LAST_CHECKPOINT, folder / BEST_CHECKPOINT)
            if epoch_done:
                self._save_epoch_checkpoint(epoch)
        self._last_epoch_work = time.perf_counter()
        barrier(self.dist)

    @contextlib.contextmanager
    def _plain_model(self) -> Iterator[ColorModel]:
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

    def _validate(self, epoch: int) -> bool:
        """Score the held-out images (eval.csv, `on_epoch_end`), write the sample grid; True when the
        PSNR is the best of the run so far (`self.best` then names this step)."""
        cfg = self.config
        improved = False
        split = EVAL_SPLIT if len(self.dataset.split(EVAL_SPLIT)) else "train"
        grid = None
        with self._plain_model() as model:
            if cfg.eval_subset:
                result = evaluate_model(model, self.dataset, split, batch_size=self.batch_size, device=self.device,
                                        limit=cfg.eval_subset, grid_count=cfg.sample_count)
                grid = result.grid
                self.last_metrics = dict(result.summary)
                score = float(result.summary.get("psnr", math.nan))
                improved = math.isfinite(score) and score > self.best.get("psnr", -math.inf)
                if improved:
                    self.best = {"step": self.step, "epoch": epoch, "psnr": score}
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
        return improved

    def _saturation(self, model: ColorModel, split: str) -> float:
        """Share of the colour outputs beyond +/-SATURATION_LEVEL on the first validation images."""
        real = np.array(self.dataset.split(split).rgb[:self.batch_size], dtype=np.uint8)
        if not len(real):
            return 0.0
        with torch.no_grad():
            rgb = model.predict(gray_input(torch.from_numpy(real).to(self.device)))["rgb"]
        return float((rgb.float().abs() > SATURATION_LEVEL).float().mean())

    def _checkpoint_state(self) -> dict[str, Any]:
        summary = {"epochs": self.epoch, "steps": self.step, "losses": dict(self.last_losses),
                   "metrics": dict(self.last_metrics)}
        if self.config.init:
            summary["starting_model"] = {"init": self.config.init, "metrics": dict(self.start_metrics)}
        extra: dict[str, Any] = {"inference": self.inference} if self.inference else {}
        return make_checkpoint(
            self.model, self.optimizers,
            train_config=self.config.to_dict(),
            scaler=self.scaler.state_dict() if self.scaler is not None else None,
            rng=rng_state(self.device),
            step=self.step, epoch=self.epoch, epoch_pos=self.epoch_pos,
            world_size=self.dist.world_size,
            summary=summary,
            start_metrics=dict(self.start_metrics), best=dict(self.best),
            elapsed_s=self._elapsed_before + time.perf_counter() - self._start_time,
            **extra,
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
