"""The Trainer: any registered `ColorModel` on a prepared dataset, with events, exact resume and DDP.

Pure engine (no Qt). Progress goes to callbacks (`colorcore.core.events`): `on_step` (rate-limited by
the trainer's own clock, plus the last step), `on_epoch_end` (validation metrics on a fixed subset of
the test split), `on_samples` (a gray | fake | real grid), `on_checkpoint`, `on_notice`, `on_error`,
`on_end`. A run folder holds config.json, metrics.csv, eval.csv, samples/ and checkpoints/ (DESIGN.md
s. 2), and model.safetensors (the generator, exported when a run finishes or is stopped: from
checkpoints/best.pt, the validation with the best held-out PSNR, when `keep_best`). A run started from
trained weights (`init`) first scores them on the held-out images (eval.csv's START_EPOCH row, an
`on_epoch_end` event with that epoch), fine-tunes at its preset's learning rates x
`presets.FINETUNE_LR_SCALE` unless rates are given, and keeps their chroma calibration for its model file.

The Trainer is an `engine.Engine`: it sets up, runs the model's steps and fires `engine.Events`; the
work around the steps is done by the handlers of `handlers` it attaches (`_attach_handlers` lists them
in the order they run). Where the run is lives in one `state.TrainState`, which every checkpoint saves
and `resume` restores (the watchdog's memory included).

The data stays uint8 (on the GPU when it fits); each epoch visits a permutation seeded by
(seed, epoch), so a checkpoint's (epoch, position) is enough to continue exactly where it stopped.
Under `torchrun` (WORLD_SIZE > 1) each rank trains on its shard of every epoch's permutation with
DistributedDataParallel; rank 0 alone writes files and emits events.

The other pieces it drives live in their own modules: `config` (the settings), `precision` (autocast,
GradScaler, channels_last and torch.compile per device), `reproducibility` (seeds, epoch order, RNG
states), `distributed` (torchrun), `provenance` (the versions config.json records) and `errors` (a
failure's message and advice).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from torch import Tensor

from colorcore.core.advice import OFF, Advice
from colorcore.core.atomic import atomic_write_text
from colorcore.core.device import describe_device, flushed_denormals, resolve_device
from colorcore.core.events import EndEvent, NoticeEvent, StepEvent, StopFlag, emit
from colorcore.core.precision import (
    autocast_factory,
    channels_last_pays_off,
    compile_unavailable_reason,
    select_precision,
)
from colorcore.core.provenance import collect_provenance
from colorcore.core.tensors import batch_from_uint8
from colorcore.data.prepared import load_prepared
from colorcore.models.base import (
    HYPERPARAMETERS,
    MODEL_REGISTRY,
    ColorModel,
    ModelConfig,
    StepContext,
    build_model,
)
from colorcore.models.checkpoint import (
    CHECKPOINT_DIR,
    LAST_CHECKPOINT,
    MODEL_FILE_NAME,
    ModelFileError,
    load_checkpoint,
    load_model,
    make_checkpoint,
)
from colorcore.models.generator import resnet_role, resolve_resnet_weights, resolve_trunk
from colorcore.models.trunks import TRUNK_DESCRIPTIONS
from colorcore.training.config import TrainConfig
from colorcore.training.distributed import (
    DistInfo,
    any_rank,
    init_distributed,
    launch_rank,
    shutdown_distributed,
    wrap_ddp,
)
from colorcore.training.engine import Engine, Events
from colorcore.training.errors import TrainingError, error_event
from colorcore.training.handlers import Checkpointing, CsvLogging, EpochWork, StepLog, Validation, Watchdog
from colorcore.training.presets import FINETUNE_LR_SCALE, finetune_rates
from colorcore.training.reproducibility import (
    epoch_permutation,
    rng_state,
    seed_everything,
    set_deterministic,
    set_rng_state,
)
from colorcore.training.runs import CONFIG_FILE, EVAL_FILE, LOSS_PREFIX, METRICS_FILE, SAMPLES_DIR
from colorcore.training.state import TrainState
from colorcore.training.watchdog import LEARNING_ADVICE, PAPER_PRESET_ADVICE, LearningMonitor

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


class Trainer(Engine):
    """Trains `config.model` on `config.data` into `config.run_dir`; `run()` returns a `TrainResult`."""

    def __init__(self, config: TrainConfig, callbacks: Sequence[object] = (), stop: StopFlag | None = None) -> None:
        super().__init__()
        self.config = config
        self.callbacks = list(callbacks)
        self.stop = stop or StopFlag()
        self.run_dir = Path(config.run_dir)
        self.dist = DistInfo()
        self.state = TrainState()
        self._elapsed_before = 0.0  # seconds the run had trained before this session (a resumed run)
        self._images_done = 0
        self._session_start = 0.0
        self._paused_s = 0.0
        self._first_step = 0
        self.pinned_data = False  # the training data stays in page-locked host memory (too big for the GPU)
        self.compiled = False

    def emit(self, hook: str, event: object) -> None:
        """Call `hook(event)` on every callback that defines it (rank 0 only)."""
        if self.dist.is_writer:
            emit(self.callbacks, hook, event)

    # -- entry point ----------------------------------------------------------------------------
    def run(self) -> TrainResult:
        """Train until the epochs or `max_steps` are done, a stop is requested, or an error occurs."""
        self._session_start = time.perf_counter()
        try:
            with flushed_denormals():
                status = self._train()
        except Exception as exc:  # every failure becomes an ErrorEvent; the run folder stays usable
            failure = error_event(exc, self.config)
            self.emit("on_error", failure)
            result = self._result(STATUS_FAILED, error=failure.message)
            self.emit("on_end", EndEvent(STATUS_FAILED, asdict(result)))
            return result
        finally:
            shutdown_distributed(self.dist)
        result = self._result(status)
        self.emit("on_end", EndEvent(status, asdict(result)))
        return result

    def _result(self, status: str, error: str | None = None) -> TrainResult:
        elapsed = time.perf_counter() - self._session_start
        state = self.state
        return TrainResult(
            status=status, run_dir=str(self.run_dir), step=state.step, epoch=state.epoch,
            losses=dict(state.losses), metrics=dict(state.metrics), checkpoint=state.checkpoint,
            model_file=state.model_file, elapsed_s=elapsed,
            img_per_s=self._images_done / elapsed if elapsed > 0 else 0.0, error=error,
            start_metrics=dict(state.start_metrics), best=dict(state.best),
        )

    # -- setup ----------------------------------------------------------------------------------
    def _setup(self) -> bool:
        """Device, data, model, optimisers and the run folder, from a checkpoint when resuming; True when resumed."""
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
                self.state.init = cfg.init
                if not init_model.calibration.neutral:
                    self.state.inference = init_model.calibration.to_metadata()
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

        if resume_state is not None:
            self._restore(resume_state)
        self._first_step, self._elapsed_before = self.state.step, self.state.elapsed_s
        self.plain_networks = dict(self.model.networks())
        if self.dist.enabled:
            for key, net in self.plain_networks.items():
                self.model.set_network(key, wrap_ddp(net, self.device))
        if self.dist.is_writer:
            self._prepare_run_folder()
        return resume_state is not None

    def _compile_networks(self) -> None:
        """torch.compile each network's forward in place (parameter names unchanged), or say why not.

        A network that torch.compile fails on later runs eagerly (dynamo's suppress_errors)."""
        reason = compile_unavailable_reason(self.device)
        if reason is not None:
            self.emit("on_notice", NoticeEvent("compile", reason + "; training without it", "", 0))
            return
        import torch._dynamo  # here, not at the top: about 1.7 s to import, and only --compile needs it

        torch._dynamo.config.suppress_errors = True
        for net in self.model.networks().values():
            net.compile()
        self.compiled = True

    def _init_model(self) -> ColorModel:
        """The model named by `init` (TrainingError when it cannot be read)."""
        try:
            return load_model(self.config.init)
        except (ModelFileError, FileNotFoundError) as exc:
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
            self.emit("on_notice", NoticeEvent(
                "finetune", f"fine-tuning {self.config.init} ({config.name}, width {config.width}): learning rates "
                f"x{FINETUNE_LR_SCALE:g} of the {config.preset} preset's ({shown})", "", 0))
        return config.with_(**rates)

    def _resolve_pretrained(self, config: ModelConfig) -> ModelConfig:
        """Resolve resnet_weights "auto" (ImageNet when cached or downloadable, else none) and say which."""
        if not getattr(MODEL_REGISTRY.get(config.name), "uses_resnet", False):
            return config
        trunk = resolve_trunk(config.trunk, config.resnet_weights, config.finetune_resnet, allow_download=True)
        if trunk != "resnet18":
            text = {"efficientnet-lite0": "Pre-trained trunk: " + TRUNK_DESCRIPTIONS[trunk] + ", frozen",
                    "none": "Pre-trained trunk: none"}[trunk]
            self.emit("on_notice", NoticeEvent("resnet", text, "", 0))
            return config.with_(trunk=trunk, resnet_weights=resolve_resnet_weights(config.resnet_weights))
        weights = resolve_resnet_weights(config.resnet_weights, allow_download=True)
        role = resnet_role(weights, config.finetune_resnet)
        source = {"imagenet": "ImageNet weights", "none": "random weights"}.get(weights, f"weights from {weights}")
        text = {"frozen": f"ResNet-18 path: {source}, frozen",
                "trained": f"ResNet-18 path: {source}, trained with the rest",
                "omitted": "ResNet-18 path: left out (no ImageNet weights on this machine; a frozen random "
                           "network would only add noise)"}[role]
        self.emit("on_notice", NoticeEvent("resnet", text, "", 0))
        return config.with_(resnet_weights=weights, trunk=trunk)

    def _load_resume_state(self) -> dict[str, Any] | None:
        path = self.run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT
        if not path.is_file():
            raise TrainingError(f"{path}: nothing to resume (no last checkpoint in the run folder)",
                                advice=(Advice("resume", OFF),))
        return load_checkpoint(path)

    def _restore(self, saved: dict[str, Any]) -> None:
        """Networks, optimisers, scaler and RNG states from a checkpoint, and the run's `TrainState`."""
        for key, net in self.model.networks().items():
            net.load_state_dict(saved["networks"][key])
        for key, opt in self.optimizers.items():
            opt.load_state_dict(saved["optimizers"][key])
        if self.scaler is not None and saved.get("scaler"):
            self.scaler.load_state_dict(saved["scaler"])
        if saved.get("rng") is not None and int(saved.get("world_size", 1)) == self.dist.world_size:
            set_rng_state(saved["rng"], self.device)
        self.state.load_state_dict(saved)

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

    def _prepare_run_folder(self) -> None:
        """The run folder, its checkpoints/ and samples/ folders and config.json."""
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

    def _attach_handlers(self, resumed: bool) -> None:
        """The work around the steps, attached in the order it runs at each event. Rank 0 alone logs,
        validates and writes; every rank follows the end-of-epoch schedule (it ends in a barrier)."""
        cfg, state = self.config, self.state
        work = EpochWork(self, cfg.min_epoch_interval_s, self.dist)
        epoch_end = Events.EPOCH_COMPLETED(when=work.due)
        run_end = Events.COMPLETED(when=work.pending)  # a run that ended mid-epoch (max_steps)
        if self.dist.is_writer:
            log = StepLog(self, cfg.log_interval_s, self.batch_size * self.dist.world_size)
            csv_logging = CsvLogging(state, self.run_dir / METRICS_FILE, self.run_dir / EVAL_FILE,
                                     self.model.loss_names, keep_until_step=state.step if resumed else None)
            validation = Validation(self, self.run_dir / SAMPLES_DIR)
            checkpoints = Checkpointing(self, self.run_dir, self.run_dir / CHECKPOINT_DIR,
                                        self.run_dir / MODEL_FILE_NAME)
            paper = self.model.config.preset == "paper"
            watchdog = Watchdog(self, LearningMonitor(
                warmup_steps=max(self.warmup_steps, min(self.total_steps // 3, 300)),
                advice=PAPER_PRESET_ADVICE if paper else LEARNING_ADVICE, memory=state.watchdog))

            logged = Events.STEP_COMPLETED(when=log.due)
            for handler in (log.read, csv_logging.log_step, self._report_step, watchdog.check_losses):
                self.add_event_handler(logged, handler)
            for handler in (csv_logging.log_validation, validation.announce, watchdog.check_validation):
                self.add_event_handler(Events.VALIDATION_COMPLETED, handler)
            if not resumed and cfg.init:
                self.add_event_handler(Events.STARTED, validation.score_start)
            for handler in (validation.validate, checkpoints.save_last, checkpoints.keep_best, checkpoints.keep_epoch):
                self.add_event_handler(epoch_end, handler)
            for handler in (validation.validate, checkpoints.save_last, checkpoints.keep_best):
                self.add_event_handler(run_end, handler)
        self.add_event_handler(epoch_end, work.done)
        self.add_event_handler(run_end, work.done)
        if self.dist.is_writer:
            self.add_event_handler(Events.STOPPED, checkpoints.save_last)
            self.add_event_handler(Events.STOPPED, checkpoints.export)
            self.add_event_handler(Events.COMPLETED, checkpoints.export)

    # -- the loop -------------------------------------------------------------------------------
    def _train(self) -> str:
        """Set up, then run the steps, firing the events; the status the run ended with."""
        self._attach_handlers(resumed=self._setup())
        cfg, state = self.config, self.state
        rgb_all, edge_all, sal_all = self.train_data
        images_per_step = self.batch_size * self.dist.world_size
        self.fire(Events.STARTED)
        while state.step < self.total_steps:
            perm = epoch_permutation(cfg.seed, state.epoch, self.n_train)[self.dist.rank::self.dist.world_size]
            perm = perm.to(rgb_all.device)
            while state.epoch_pos < self.steps_per_epoch and state.step < self.total_steps:
                if self.stop.paused:
                    paused_at = time.perf_counter()
                    self.stop.wait_if_paused()
                    self._paused_s += time.perf_counter() - paused_at
                if self._should_stop():
                    self.fire(Events.STOPPED)
                    return STATUS_STOPPED
                start = state.epoch_pos * self.batch_size
                idx = perm[start:start + self.batch_size]
                batch = self._batch(*(gather_rows(t, idx, self.pinned_data) for t in (rgb_all, edge_all, sal_all)))
                self._set_learning_rates()
                self.ctx.step = state.step
                state.output = self.model.training_step(batch, self.optimizers, self.ctx)
                state.step += 1
                state.epoch_pos += 1
                self._images_done += images_per_step
                self._update_elapsed()
                self.fire(Events.STEP_COMPLETED, state.step)
            if state.epoch_pos >= self.steps_per_epoch:
                state.epoch += 1
                state.epoch_pos = 0
                self.fire(Events.EPOCH_COMPLETED, state.epoch)
        self.fire(Events.COMPLETED, state.step)
        return STATUS_FINISHED

    def _set_learning_rates(self) -> None:
        """Linear learning-rate warm-up over the first `lr_warmup_steps` steps (then the base rates)."""
        if self.state.step > self.warmup_steps:
            return
        factor = min(1.0, (self.state.step + 1) / self.warmup_steps) if self.warmup_steps > 0 else 1.0
        for key, opt in self.optimizers.items():
            for group, base in zip(opt.param_groups, self.base_lrs[key]):
                group["lr"] = base * factor

    def _should_stop(self) -> bool:
        requested = self.stop.stop_requested
        if not self.dist.enabled:
            return requested
        if self.state.step % DDP_STOP_CHECK_STEPS:
            return False  # the check is a collective (and a host sync): not on every step
        return any_rank(requested, self.device)

    def _batch(self, rgb: Tensor, edge: Tensor, sal: Tensor) -> dict[str, Tensor]:
        if rgb.device != self.device:
            rgb, edge, sal = (t.to(self.device, non_blocking=True) for t in (rgb, edge, sal))
        batch = batch_from_uint8(rgb, edge, sal)
        if self.channels_last:
            batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
        return batch

    def _update_elapsed(self) -> None:
        """The state's `elapsed_s`: the seconds trained before this session and in it, up to now."""
        self.state.elapsed_s = self._elapsed_before + time.perf_counter() - self._session_start

    def _report_step(self) -> None:
        """`on_step` for a logged step, with this session's time and the estimated time left at its pace
        (pauses not counted): the one ETA of a run, the one front ends show."""
        state = self.state
        session_s = time.perf_counter() - self._session_start
        running = session_s - self._paused_s
        rate = (state.step - self._first_step) / running if running > 0 else 0.0  # this session's steps only
        eta = (self.total_steps - state.step) / rate if rate > 0 else None
        losses = {LOSS_PREFIX + k: v for k, v in state.losses.items()}
        self.emit("on_step", StepEvent(state.step, state.epoch, self.total_steps, losses, state.img_per_s,
                                       session_s, eta))

    # -- what the handlers use ------------------------------------------------------------------
    @contextlib.contextmanager
    def plain_model(self) -> Iterator[ColorModel]:
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

    def checkpoint_state(self) -> dict[str, Any]:
        """The checkpoint of the run as it is now: the networks, optimisers, scaler and RNG states, and
        the `TrainState` (its clock brought up to now first)."""
        self._update_elapsed()
        return make_checkpoint(
            self.model, self.optimizers,
            train_config=self.config.to_dict(),
            scaler=self.scaler.state_dict() if self.scaler is not None else None,
            rng=rng_state(self.device),
            world_size=self.dist.world_size,
            **self.state.state_dict(),
        )
