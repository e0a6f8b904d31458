"""The CIFAR-10 representation-learning experiment (paper section 8, Table 1).

A classifier made of the colouriser's first five encoder blocks -> flatten -> FC -> Dropout -> FC ->
Dropout -> FC(10) is trained on a small, stratified CIFAR-10 subset with the first k blocks frozen
(configurations "1".."5"), and from scratch (same architecture, Xavier init as in pretraining).
"0" (every block fine-tuned from the colouriser) is available as an extra configuration.
Each configuration runs over several seeds; the table reports mean +/- std over seeds and the
paired difference to scratch (same seeds) with a 95 % t-interval, beside the paper's own numbers.

Choices (the paper does not state them):
- data: `train_size` (8000, the paper's) training images, equal per class, all fitted; `val_size` (1600)
  validation images drawn from the rest of the CIFAR training batches; `test_size` (1600, the paper's)
  images of the official test batch. One subset (`data_seed`) for every configuration and seed, so
  seeds measure training noise.
- input: the encoder's own input, BT.601 gray stacked to 3 channels in [-1, 1] ("gray"); "rgb" as an
  option. Size 32 (CIFAR's native size; the paper-like table uses it), 64 (bilinear upscale, the
  colouriser's training size) as an option. At 32 px the fifth block outputs 8*width x 1 x 1.
- head: hidden sizes 256 and 128 with ReLU, dropout 0.5; Xavier init.
- training: Adam (lr 1e-3), batch 64, no augmentation. The paper's protocol (the default, `PROTOCOLS`
  in colorcore.downstream.settings): train until the validation accuracy has not improved for `patience`
  (5) epochs, at most `epochs` (100); the "quick" protocol, 5 epochs, is a CPU budget, not the paper's.
  The weights of the epoch with the best validation accuracy are evaluated on the test images (the
  test set selects nothing). Train accuracy is that epoch's running accuracy over its batches in
  training mode (dropout on), as Keras reports it.
- frozen means frozen: frozen blocks have requires_grad False and stay in eval mode, so neither
  their weights nor their BatchNorm statistics change. Their output is computed once per
  configuration and cached when it fits in `FEATURE_CACHE_LIMIT_BYTES`.

Events (callbacks, see colorcore.core.events): `on_epoch_end(DownstreamEpochEvent)` per epoch of each
(configuration, seed) run, with `metrics` keys `train_loss`, `train_acc`, `val_loss`, `val_acc`
(accuracies in percent) and the `config` / `seed` attributes; `on_config_end(ConfigResultEvent)` when
every seed of a configuration is done (also for configurations finished in an earlier, resumed
session: `resumed=True`); `on_progress(ProgressEvent)` counted in epochs over all runs;
`on_error(ErrorEvent)` then `on_end(EndEvent)` with status "finished", "stopped" or "failed".

Output folder (`colorcore.downstream.results` reads it back): `config.json` (settings, versions, device,
encoder provenance, data identity), `runs.json` (each finished (configuration, seed) run, written atomically
as it finishes: re-running with the same folder and settings skips them), `curves/<config>_seed<k>.csv`
(per epoch), `results.csv` and `results.md`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from colorcore.core.advice import advice_of
from colorcore.downstream.cifar import NUM_CLASSES, Cifar10, SubsetIndices, file_digest, stratified_subset
from colorcore.core.device import describe_device
from colorcore.core.events import EndEvent, EpochEvent, ErrorEvent, ProgressEvent, StopFlag, emit, should_stop
from colorcore.models.generator import EncoderBlock, MultiPathGenerator, encoder_channels, xavier_init
from colorcore.core.precision import autocast_factory, select_precision
from colorcore.core.provenance import collect_provenance
from colorcore.core.tensors import gray_input
from colorcore.core.atomic import atomic_write_text
from colorcore.downstream.results import (
    CONFIG_JSON,
    CURVES_DIR,
    OUT_FOLDER_ADVICE,
    RESULTS_CSV,
    RESULTS_MD,
    RUNS_JSON,
    ExperimentConfig,
    RunRecord,
    RunsState,
    curves_csv,
    curves_path,
)
from colorcore.downstream.settings import (
    CLASSIFIER_BLOCKS,
    CONFIG_NAMES,
    DEFAULT_CONFIGS,
    SCRATCH,
    DownstreamError,
    DownstreamSettings,
    config_label,
    frozen_blocks_of,
)
from colorcore.downstream.tables import PAPER_TABLE_RESOURCE, load_paper_table, markdown_table, results_csv, summarise


EVAL_BATCH_SIZE = 256
FEATURE_CACHE_LIMIT_BYTES = 1 << 30
SCRATCH_SEED_OFFSET = 1_000_003  # scratch encoder init draws from its own seed stream, apart from the head


@dataclass(frozen=True)
class DownstreamEpochEvent(EpochEvent):
    """An `EpochEvent` of one (configuration, seed) run; `metrics` as described in the module doc."""

    config: str
    seed: int


@dataclass(frozen=True)
class ConfigResultEvent:
    """Every seed of a configuration is done: `row` is its results.csv row (RESULT_COLUMNS keys),
    `runs` the per-seed results, `resumed` True when they come from an earlier session."""

    config: str
    label: str
    row: dict[str, Any]
    runs: tuple[RunRecord, ...]
    resumed: bool = False


# ---------------------------------------------------------------------------------------- encoder


@dataclass
class Encoder:
    """The first five encoder blocks of a multipath generator, with where they came from."""

    blocks: nn.ModuleList
    width: int
    provenance: dict[str, Any] = field(default_factory=dict)


def blocks_sha256(blocks: nn.Module) -> str:
    """sha256 over the parameter and buffer names and bytes of `blocks` (identity of the weights)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(blocks.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def encoder_from_generator(generator: nn.Module, provenance: dict[str, Any] | None = None) -> Encoder:
    """Copy the first five encoder blocks of a `MultiPathGenerator` (DownstreamError otherwise)."""
    if not isinstance(generator, MultiPathGenerator):
        raise DownstreamError(
            f"the experiment needs the paper's multipath generator, got a {type(generator).__name__}"
        )
    blocks = copy.deepcopy(generator.encoder_blocks[:CLASSIFIER_BLOCKS]).cpu().float()
    info = dict(provenance or {})
    info["encoder_sha256"] = blocks_sha256(blocks)
    return Encoder(blocks=blocks, width=blocks[0].conv.out_channels, provenance=info)


def load_encoder(path: str | Path) -> Encoder:
    """The encoder of a run folder, `.pt` checkpoint or `.safetensors` model file of the paper model, or
    of the bundled starter model for "starter"."""
    from colorcore.models import checkpoint

    try:
        source = checkpoint.resolve_model_path(path)
        model = checkpoint.load_model(source, device="cpu")
    except checkpoint.ModelFileError as exc:
        raise DownstreamError(f"cannot load the encoder: {exc} (give a run folder, a .pt checkpoint, a "
                              ".safetensors model or starter)") from None
    name = getattr(getattr(model, "config", None), "name", type(model).__name__)
    if not isinstance(getattr(model, "generator", None), MultiPathGenerator):
        raise DownstreamError(
            f"{path} holds a {name!r} model; the experiment needs the paper's multipath model "
            "(its generator's encoder)"
        )
    given = Path(path).expanduser()  # as asked for: a run folder or file (absolute), or "starter"
    provenance: dict[str, Any] = {
        "path": str(given.resolve()) if given.exists() else str(path), "file": str(source.resolve()),
        "file_sha256": file_digest(source), "model": name,
    }
    try:
        provenance["metadata"] = checkpoint.read_metadata(path)
    except Exception as exc:  # metadata is informative only
        provenance["metadata_error"] = str(exc)
    return encoder_from_generator(model.generator, provenance)


def scratch_blocks(width: int, seed: int) -> nn.ModuleList:
    """Five fresh encoder blocks with the generator's Xavier init, seeded by `seed`."""
    channels = encoder_channels(width)[:CLASSIFIER_BLOCKS]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + SCRATCH_SEED_OFFSET)
        blocks = nn.ModuleList(EncoderBlock(i, o) for i, o in zip([3, *channels[:-1]], channels))
        xavier_init(blocks)
    return blocks


# ------------------------------------------------------------------------------------- classifier


class DownstreamClassifier(nn.Module):
    """Encoder blocks -> flatten -> (FC -> ReLU -> Dropout) per hidden size -> FC(10).

    The first `frozen_blocks` blocks are frozen: no gradients, always in eval mode (their BatchNorm
    statistics do not move), run under no_grad.
    """

    def __init__(
        self, blocks: Sequence[nn.Module], frozen_blocks: int, feature_dim: int,
        hidden: Sequence[int], dropout: float,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(copy.deepcopy(b) for b in blocks)
        self.frozen_blocks = frozen_blocks
        layers: list[nn.Module] = [nn.Flatten()]
        width = feature_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, NUM_CLASSES))
        self.head = nn.Sequential(*layers)
        for block in self.blocks[:frozen_blocks]:
            block.requires_grad_(False)
        self.train()

    def train(self, mode: bool = True) -> "DownstreamClassifier":
        super().train(mode)
        for block in self.blocks[: self.frozen_blocks]:
            block.eval()
        return self

    @torch.no_grad()
    def frozen_features(self, x: Tensor) -> Tensor:
        """Output of the frozen blocks (the input itself when none is frozen)."""
        for block in self.blocks[: self.frozen_blocks]:
            x = block(x)
        return x

    def trainable_forward(self, h: Tensor) -> Tensor:
        """Logits from the frozen blocks' output."""
        for block in self.blocks[self.frozen_blocks:]:
            h = block(h)
        return self.head(h)

    def forward(self, x: Tensor) -> Tensor:
        return self.trainable_forward(self.frozen_features(x))


def feature_dim(width: int, image_size: int) -> int:
    """Flattened size of the fifth block's output for `image_size` input."""
    side = image_size // 2 ** CLASSIFIER_BLOCKS
    return encoder_channels(width)[CLASSIFIER_BLOCKS - 1] * side * side


def build_classifier(encoder: Encoder, config: str, seed: int, settings: DownstreamSettings) -> DownstreamClassifier:
    """The classifier of one (configuration, seed): pretrained or scratch blocks; the head's init
    depends on `seed` only, so every configuration starts from the same head."""
    blocks = scratch_blocks(encoder.width, seed) if config == SCRATCH else encoder.blocks
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DownstreamClassifier(
            blocks, frozen_blocks_of(config), feature_dim(encoder.width, settings.image_size),
            settings.hidden, settings.dropout,
        )
        xavier_init(model.head)
    return model


# ------------------------------------------------------------------------------------------ data


@dataclass
class SplitTensors:
    """Model inputs (or cached frozen features) and labels of the three splits, on one device."""

    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor
    test_y: Tensor


def model_inputs(images: np.ndarray, input_mode: str, image_size: int) -> Tensor:
    """(N, 32, 32, 3) uint8 RGB -> (N, 3, S, S) float in [-1, 1], gray (3 channels) or RGB."""
    rgb = torch.from_numpy(np.ascontiguousarray(images))
    if input_mode == "gray":
        x = gray_input(rgb)
    else:
        x = rgb.permute(0, 3, 1, 2).float() / 127.5 - 1.0
    if image_size != x.shape[-1]:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return x.contiguous()


def prepare_splits(
    cifar: Cifar10, subset: SubsetIndices, settings: DownstreamSettings, device: torch.device
) -> SplitTensors:
    """The subset's model inputs and labels on `device` (channels_last)."""

    def inputs(images: np.ndarray) -> Tensor:
        x = model_inputs(images, settings.input, settings.image_size)
        return x.to(device).contiguous(memory_format=torch.channels_last)

    def labels(values: np.ndarray) -> Tensor:
        return torch.from_numpy(values).long().to(device)

    return SplitTensors(
        train_x=inputs(cifar.train_images[subset.train]), train_y=labels(cifar.train_labels[subset.train]),
        val_x=inputs(cifar.train_images[subset.val]), val_y=labels(cifar.train_labels[subset.val]),
        test_x=inputs(cifar.test_images[subset.test]), test_y=labels(cifar.test_labels[subset.test]),
    )


def subset_sha256(cifar: Cifar10, subset: SubsetIndices) -> str:
    """Identity of the exact images and labels used (changes when the files or the subset change)."""
    digest = hashlib.sha256()
    for images, labels, idx in (
        (cifar.train_images, cifar.train_labels, subset.train),
        (cifar.train_images, cifar.train_labels, subset.val),
        (cifar.test_images, cifar.test_labels, subset.test),
    ):
        digest.update(np.ascontiguousarray(images[idx]).tobytes())
        digest.update(np.ascontiguousarray(labels[idx]).astype(np.int64).tobytes())
    return digest.hexdigest()


def autocast_for(device: torch.device) -> Callable[[], ContextManager]:
    """The experiment's autocast: the precision policy without fp16 (its loop has no GradScaler), so bf16
    where the hardware runs it natively, else fp32 (benchmarks/bench_downstream.py times it too)."""
    return autocast_factory(device, select_precision(device, amp=True, allow_fp16=False))


def _map_batches(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    return torch.cat([fn(x[i:i + EVAL_BATCH_SIZE]) for i in range(0, x.shape[0], EVAL_BATCH_SIZE)])


def cache_frozen_features(
    model: DownstreamClassifier, splits: SplitTensors, autocast: Callable[[], ContextManager]
) -> SplitTensors | None:
    """The splits passed through the frozen blocks once (None when nothing is frozen or the cache
    would exceed FEATURE_CACHE_LIMIT_BYTES)."""
    if model.frozen_blocks == 0:
        return None
    sample = model.eval().frozen_features(splits.train_x[:1])
    n = splits.train_x.shape[0] + splits.val_x.shape[0] + splits.test_x.shape[0]
    if sample[0].numel() * 4 * n > FEATURE_CACHE_LIMIT_BYTES:
        return None

    def features(x: Tensor) -> Tensor:
        with autocast():
            return _map_batches(model.frozen_features, x).float()

    return SplitTensors(
        train_x=features(splits.train_x), train_y=splits.train_y,
        val_x=features(splits.val_x), val_y=splits.val_y,
        test_x=features(splits.test_x), test_y=splits.test_y,
    )


# -------------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class RunOutcome:
    """Result of one (configuration, seed) run: accuracies in percent, per-epoch curves."""

    train_acc: float
    train_loss: float
    val_acc: float
    val_loss: float
    test_acc: float
    test_loss: float
    curves: tuple[dict[str, float], ...]
    seconds: float
    best_epoch: int


@torch.no_grad()
def evaluate(
    forward: Callable[[Tensor], Tensor], x: Tensor, y: Tensor, autocast: Callable[[], ContextManager]
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy in percent) of `forward` over (x, y) in eval batches."""
    loss_sum, correct = 0.0, 0
    for i in range(0, x.shape[0], EVAL_BATCH_SIZE):
        with autocast():
            logits = forward(x[i:i + EVAL_BATCH_SIZE]).float()
        target = y[i:i + EVAL_BATCH_SIZE]
        loss_sum += F.cross_entropy(logits, target, reduction="sum").item()
        correct += int((logits.argmax(1) == target).sum())
    n = max(1, x.shape[0])
    return loss_sum / n, 100.0 * correct / n


def epoch_batches(order: Tensor, batch_size: int) -> list[Tensor]:
    """Consecutive batches of `order`; a last batch of one sample is dropped (BatchNorm needs two)."""
    chunks = list(order.split(batch_size))
    return [c for c in chunks if c.numel() > 1]


def train_classifier(
    model: DownstreamClassifier,
    splits: SplitTensors,
    settings: DownstreamSettings,
    seed: int,
    *,
    features_cached: bool = False,
    autocast: Callable[[], ContextManager] | None = None,
    on_epoch: Callable[[int, int, dict[str, float]], None] | None = None,
    stop: StopFlag | None = None,
) -> RunOutcome | None:
    """Train `model` until its validation accuracy has not improved for `settings.patience` epochs (0:
    never stop early), at most `settings.epochs`; evaluate the best validation epoch's weights (they are
    left in `model`). None when stopped.

    `splits` holds inputs, or the frozen blocks' outputs when `features_cached`. The data order
    (per epoch) and dropout draw from `seed` only, so configurations differ only in their weights.
    `on_epoch(epoch, step, metrics)` is called after each epoch.
    """
    autocast = autocast or (lambda: torch.autocast(splits.train_x.device.type, enabled=False))
    model.to(splits.train_x.device, memory_format=torch.channels_last)
    forward = model.trainable_forward if features_cached else model
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=settings.lr)
    order_rng = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    start = time.perf_counter()
    curves: list[dict[str, float]] = []
    step = 0
    best: dict[str, Any] = {"epoch": 0, "val_acc": -math.inf}
    for epoch in range(1, settings.epochs + 1):
        model.train()
        loss_sum, correct, seen = 0.0, 0, 0
        for idx in epoch_batches(torch.randperm(splits.train_x.shape[0], generator=order_rng), settings.batch_size):
            if should_stop(stop):
                return None
            idx = idx.to(splits.train_x.device)
            x, y = splits.train_x[idx], splits.train_y[idx]
            with autocast():
                logits = forward(x).float()
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += loss.item() * y.shape[0]
            correct += int((logits.detach().argmax(1) == y).sum())
            seen += y.shape[0]
        train_loss, train_acc = loss_sum / max(1, seen), 100.0 * correct / max(1, seen)
        model.eval()
        val_loss, val_acc = evaluate(forward, splits.val_x, splits.val_y, autocast)
        metrics = {
            "train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss, "val_acc": val_acc,
        }
        curves.append({"epoch": epoch, **metrics, "seconds": time.perf_counter() - start})
        if val_acc > best["val_acc"]:
            best = {"epoch": epoch, **metrics, "state": copy.deepcopy(model.state_dict())}
        if on_epoch is not None:
            on_epoch(epoch, step, metrics)
        if settings.patience and epoch - best["epoch"] >= settings.patience:
            break
    model.load_state_dict(best["state"])
    model.eval()
    test_loss, test_acc = evaluate(forward, splits.test_x, splits.test_y, autocast)
    return RunOutcome(
        train_acc=best["train_acc"], train_loss=best["train_loss"], val_acc=best["val_acc"],
        val_loss=best["val_loss"], test_acc=test_acc, test_loss=test_loss,
        curves=tuple(curves), seconds=time.perf_counter() - start, best_epoch=best["epoch"],
    )


def _open_out_dir(out_dir: Path, fingerprint: dict[str, Any], overwrite: bool) -> list[RunRecord]:
    """Finished runs of an earlier session with the same fingerprint ([] for a fresh folder)."""
    state = None if overwrite else RunsState.load(out_dir / RUNS_JSON)
    if overwrite:
        for name in (RUNS_JSON, RESULTS_CSV, RESULTS_MD):
            (out_dir / name).unlink(missing_ok=True)
        shutil.rmtree(out_dir / CURVES_DIR, ignore_errors=True)
    if state is None:
        return []
    if state.fingerprint != fingerprint:
        differ = sorted(k for k in set(state.fingerprint) | set(fingerprint)
                        if state.fingerprint.get(k) != fingerprint.get(k))
        raise DownstreamError(f"{out_dir} holds results of different settings (differs in: {', '.join(differ)})",
                              OUT_FOLDER_ADVICE)
    return list(state.runs)


# ---------------------------------------------------------------------------------------- driver


@dataclass(frozen=True)
class DownstreamResult:
    """What `run_downstream` returns: status, the table rows, the Markdown and the folder."""

    status: str
    rows: list[dict[str, Any]]
    markdown: str
    out_dir: Path


def run_downstream(
    settings: DownstreamSettings,
    encoder: Encoder,
    cifar: Cifar10,
    out_dir: str | Path,
    *,
    device: torch.device | str = "cpu",
    callbacks: Sequence[object] = (),
    stop: StopFlag | None = None,
    overwrite: bool = False,
) -> DownstreamResult:
    """Run every (configuration, seed) not finished yet in `out_dir`, writing results as they finish.

    Configurations run in `settings.configs` order, seeds 0..seeds-1 within each. Raises
    DownstreamError / CifarError for user errors (after on_error and on_end("failed")).
    """
    try:
        return _run(settings, encoder, cifar, Path(out_dir), torch.device(device), callbacks, stop, overwrite)
    except Exception as exc:
        emit(callbacks, "on_error", ErrorEvent(message=str(exc), exception=exc, advice=advice_of(exc)))
        emit(callbacks, "on_end", EndEvent(status="failed", summary={"error": str(exc)}))
        raise


def _run(
    settings: DownstreamSettings, encoder: Encoder, cifar: Cifar10, out_dir: Path, device: torch.device,
    callbacks: Sequence[object], stop: StopFlag | None, overwrite: bool,
) -> DownstreamResult:
    settings.validate()
    subset = stratified_subset(
        cifar.train_labels, cifar.test_labels, train_size=settings.train_size,
        val_size=settings.val_size, test_size=settings.test_size, seed=settings.data_seed,
    )
    fingerprint = settings.fingerprint_fields() | {
        "encoder_sha256": encoder.provenance.get("encoder_sha256") or blocks_sha256(encoder.blocks),
        "data_sha256": subset_sha256(cifar, subset),
    }
    runs = _open_out_dir(out_dir, fingerprint, overwrite)
    paper = load_paper_table()
    config = ExperimentConfig(
        settings=settings, fingerprint=fingerprint, encoder=encoder.provenance,
        data={"cifar_folder": str(cifar.folder), "class_names": list(cifar.class_names),
              "train": len(subset.train), "val": len(subset.val), "test": len(subset.test)},
        provenance=collect_provenance(describe_device(device)), paper_table=paper.get("source", PAPER_TABLE_RESOURCE),
    )
    atomic_write_text(out_dir / CONFIG_JSON, json.dumps(config.to_dict(), indent=2, default=str))

    def save_state() -> None:
        state = RunsState(fingerprint, tuple(runs))
        atomic_write_text(out_dir / RUNS_JSON, json.dumps(state.to_dict(), indent=1))

    def save_tables() -> list[dict[str, Any]]:
        rows = summarise(runs, settings.configs, settings.seeds, paper)
        atomic_write_text(out_dir / RESULTS_CSV, results_csv(rows))
        atomic_write_text(out_dir / RESULTS_MD, markdown_table(rows, settings))
        return rows

    save_state()
    splits = prepare_splits(cifar, subset, settings, device)
    autocast = autocast_for(device)
    finished = {(r.config, r.seed) for r in runs}
    total = len(settings.configs) * settings.seeds * settings.epochs
    done = sum(settings.epochs for c in settings.configs for s in range(settings.seeds) if (c, s) in finished)
    emit(callbacks, "on_progress", ProgressEvent(done, total, "starting"))
    status = "finished"
    for config in settings.configs:
        pending = [s for s in range(settings.seeds) if (config, s) not in finished]
        cached: SplitTensors | None = None
        for seed in pending:
            if should_stop(stop):
                status = "stopped"
                break
            model = build_classifier(encoder, config, seed, settings).to(device, memory_format=torch.channels_last)
            if cached is None:
                cached = cache_frozen_features(model, splits, autocast)
            path = curves_path(out_dir, config, seed)
            live_curves: list[dict[str, float]] = []
            run_start = time.perf_counter()

            def on_epoch(epoch: int, step: int, metrics: dict[str, float]) -> None:
                nonlocal done
                done += 1
                live_curves.append({"epoch": epoch, **metrics, "seconds": time.perf_counter() - run_start})
                atomic_write_text(path, curves_csv(live_curves))
                emit(callbacks, "on_epoch_end", DownstreamEpochEvent(epoch, step, metrics, config, seed))
                emit(callbacks, "on_progress", ProgressEvent(
                    done, total, f"{config_label(config)}, seed {seed}: epoch {epoch}/{settings.epochs}"))

            outcome = train_classifier(
                model, cached or splits, settings, seed, features_cached=cached is not None,
                autocast=autocast, on_epoch=on_epoch, stop=stop,
            )
            if outcome is None:
                status = "stopped"
                break
            epochs_run = len(outcome.curves)
            if epochs_run < settings.epochs:  # stopped early: the epochs it did not need count as done
                done += settings.epochs - epochs_run
                emit(callbacks, "on_progress", ProgressEvent(
                    done, total, f"{config_label(config)}, seed {seed}: stopped after epoch {epochs_run}"))
            runs.append(RunRecord(
                config=config, seed=seed, train_acc=outcome.train_acc, val_acc=outcome.val_acc,
                test_acc=outcome.test_acc, train_loss=outcome.train_loss, val_loss=outcome.val_loss,
                test_loss=outcome.test_loss, epochs=epochs_run, best_epoch=outcome.best_epoch,
                seconds=round(outcome.seconds, 3), device=str(device),
            ))
            save_state()
        if status == "stopped":
            break
        rows = save_tables()
        row = next(r for r in rows if r["config"] == config)
        emit(callbacks, "on_config_end", ConfigResultEvent(
            config=config, label=config_label(config), row=row,
            runs=tuple(r for r in runs if r.config == config and r.seed < settings.seeds),
            resumed=not pending,
        ))
    rows = save_tables()
    markdown = markdown_table(rows, settings)
    emit(callbacks, "on_end", EndEvent(status=status, summary={
        "out_dir": str(out_dir), "markdown": markdown, "runs": len(runs),
    }))
    return DownstreamResult(status=status, rows=rows, markdown=markdown, out_dir=out_dir)


__all__ = [
    "CONFIG_NAMES", "DEFAULT_CONFIGS", "ConfigResultEvent", "DownstreamClassifier", "DownstreamEpochEvent",
    "DownstreamError", "DownstreamResult", "DownstreamSettings", "Encoder", "RunOutcome", "SplitTensors",
    "build_classifier", "encoder_from_generator", "load_encoder", "load_paper_table", "run_downstream",
    "scratch_blocks", "stratified_subset", "summarise", "train_classifier",
]
