"""The Trainer on real prepared datasets with tiny models: files, events, stop/pause, exact resume, overfit."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from colorcore.models.checkpoint import load_checkpoint
from colorcore.core.events import CheckpointEvent, EndEvent, EpochEvent, ErrorEvent, SamplesEvent, StepEvent, StopFlag
from colorcore.models.base import ModelConfig
from colorcore.training.engine import Engine, Events
from colorcore.training.trainer import TrainConfig, Trainer
from colorcore.training.watchdog import LEARNING_NOTICE
from tests.helpers import Recorder

TINY = ModelConfig(width=8, resnet_weights="none")
PAPER_METRICS_COLUMNS = ["step", "epoch", "time_s", "img_per_s", "loss_g", "loss_l1", "loss_gan", "loss_sal",
                         "loss_edge", "loss_d"]


def config(data: Path, run: Path, **changes: Any) -> TrainConfig:
    base = dict(data=str(data), run_dir=str(run), model=TINY, epochs=2, batch_size=3, device="cpu",
                log_interval_s=0.0, eval_subset=2, sample_count=2, keep_checkpoints=1)
    return TrainConfig(**{**base, **changes})


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_run_writes_the_run_folder_and_emits_every_event(prepared_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    rec = Recorder()
    result = Trainer(config(prepared_dataset, run), [rec]).run()  # 6 train images, batch 3: 2 steps/epoch
    assert result.status == "finished" and result.step == 4 and result.epoch == 2

    steps = rec.of("on_step")
    assert [e.step for e in steps] == [1, 2, 3, 4]
    assert all(isinstance(e, StepEvent) and e.total_steps == 4 for e in steps)
    assert set(steps[-1].losses) == {c for c in PAPER_METRICS_COLUMNS if c.startswith("loss_")}
    epochs = rec.of("on_epoch_end")
    assert [e.epoch for e in epochs] == [0, 1] and isinstance(epochs[0], EpochEvent)
    assert all(np.isfinite(e.metrics["psnr"]) and 0 < e.metrics["ssim"] <= 1 for e in epochs)
    samples = rec.of("on_samples")
    assert isinstance(samples[0], SamplesEvent) and samples[0].image.dtype == np.uint8
    assert samples[0].image.shape[0] > 3 * 64 and Path(samples[0].path).is_file()  # gray | fake | real rows
    assert any(isinstance(e, CheckpointEvent) and e.path.endswith("last.pt") for e in rec.of("on_checkpoint"))
    (end,) = rec.of("on_end")
    assert isinstance(end, EndEvent) and end.status == "finished" and not rec.of("on_error")

    saved = json.loads((run / "config.json").read_text())
    assert saved["model"]["name"] == "multipath" and saved["batch_size"] == 3
    assert saved["versions"]["torch"] == torch.__version__ and saved["device"].startswith("CPU")
    assert saved["precision"] in ("fp32", "bf16") and saved["world_size"] == 1 and "git_commit" in saved
    assert TrainConfig.from_dict(saved).model == TINY.with_(trunk="none")  # "auto" with resnet_weights none is recorded as none
    rows = read_csv(run / "metrics.csv")
    assert list(rows[0]) == PAPER_METRICS_COLUMNS and [r["step"] for r in rows] == ["1", "2", "3", "4"]
    evals = read_csv(run / "eval.csv")
    assert list(evals[0]) == ["epoch", "step", "psnr", "ssim", "colourfulness"] and len(evals) == 2
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_0000.png", "epoch_0001.png"]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.pt", "epoch_0001.pt", "last.pt"]  # keep 1
    last = load_checkpoint(run / "checkpoints" / "last.pt")
    assert (last["step"], last["epoch"], last["epoch_pos"]) == (4, 2, 0)


def test_epoch_checkpoints_are_snapshots_of_last_pt(prepared_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert Trainer(config(prepared_dataset, run, epochs=3, keep_checkpoints=3)).run().status == "finished"
    folder = run / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["best.pt", "epoch_0000.pt", "epoch_0001.pt", "epoch_0002.pt",
                                                        "last.pt"]
    assert (folder / "epoch_0002.pt").read_bytes() == (folder / "last.pt").read_bytes()
    steps = [load_checkpoint(folder / f"epoch_{k:04d}.pt")["step"] for k in range(3)]
    assert steps == [2, 4, 6]  # a later last.pt never changes an earlier epoch's file


def test_min_epoch_interval_skips_end_of_epoch_work_for_short_epochs(
    prepared_dataset: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    rec = Recorder()
    cfg = config(prepared_dataset, run, epochs=4, keep_checkpoints=3, min_epoch_interval_s=3600.0)
    result = Trainer(cfg, [rec]).run()
    assert result.status == "finished" and result.step == 8
    assert [e.epoch for e in rec.of("on_epoch_end")] == [3]  # only the last epoch: an hour never passed
    assert len(read_csv(run / "eval.csv")) == 1
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.pt", "epoch_0003.pt", "last.pt"]
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 8
    with pytest.raises(ValueError, match="min_epoch_interval_s"):
        config(prepared_dataset, run, min_epoch_interval_s=-1.0)


def _model_sha256(run: Path) -> str:
    return hashlib.sha256((run / "model.safetensors").read_bytes()).hexdigest()


def _assert_same_optimizer_state(a: Path, b: Path) -> None:
    state_a, state_b = (load_checkpoint(run / "checkpoints" / "last.pt")["optimizers"] for run in (a, b))
    for key in state_a:
        for pid, slots in state_a[key]["state"].items():
            for slot, value in slots.items():
                assert torch.equal(value, state_b[key]["state"][pid][slot]), (key, pid, slot)


def test_deterministic_runs_are_bitwise_identical_also_when_resumed(prepared_dataset: Path, tmp_path: Path) -> None:
    """`--deterministic` on the CPU: two complete runs with one seed write byte-identical model files
    (sha256), and a run stopped mid-epoch and resumed writes the very same bytes."""
    settings = dict(batch_size=2, epochs=2, max_steps=5, deterministic=True, eval_subset=0, sample_count=0)
    whole = Trainer(config(prepared_dataset, tmp_path / "whole", **settings)).run()
    assert whole.status == "finished" and whole.step == 5
    again = Trainer(config(prepared_dataset, tmp_path / "again", **settings)).run()
    assert again.status == "finished"
    assert _model_sha256(tmp_path / "again") == _model_sha256(tmp_path / "whole")

    stop = StopFlag()

    class StopAtTwo:
        def on_step(self, event: StepEvent) -> None:
            if event.step == 2:
                stop.request_stop()

    parted = tmp_path / "parted"
    first = Trainer(config(prepared_dataset, parted, **settings), [StopAtTwo()], stop).run()
    assert first.status == "stopped" and first.step == 2
    mid = load_checkpoint(parted / "checkpoints" / "last.pt")
    assert (mid["step"], mid["epoch"], mid["epoch_pos"]) == (2, 0, 2)  # 3 steps per epoch: stopped inside it
    second = Trainer(config(prepared_dataset, parted, resume=True, **settings)).run()
    assert second.status == "finished" and second.step == 5

    assert _model_sha256(parted) == _model_sha256(tmp_path / "whole")
    _assert_same_optimizer_state(parted, tmp_path / "whole")
    assert [r["step"] for r in read_csv(parted / "metrics.csv")] == ["1", "2", "3", "4", "5"]


# what a checkpoint held before the TrainState (and its watchdog memory) was saved
OLD_CHECKPOINT_KEYS = ("format", "format_version", "version", "model_config", "networks", "optimizers",
                       "train_config", "scaler", "rng", "step", "epoch", "epoch_pos", "world_size", "summary",
                       "start_metrics", "best", "elapsed_s", "inference")


def test_the_watchdogs_memory_survives_a_resume_and_old_checkpoints_still_resume(
    prepared_dataset: Path, tmp_path: Path
) -> None:
    """An absurd learning rate saturates the outputs at once: the watchdog says so in the first session;
    resumed, the run is as saturated, yet the notice is not given again (its memory is in the checkpoint).
    The same checkpoint rewritten in the layout the Trainer wrote before (no memory) still resumes, and
    that run, knowing of no notice, gives it again."""
    wild = ModelConfig(width=8, resnet_weights="none", lr_g=1e3, lr_d=1e3)

    def train(run: Path, steps: int, resume: bool) -> tuple[Any, list[Any]]:
        rec = Recorder()
        result = Trainer(config(prepared_dataset, run, model=wild, max_steps=steps, resume=resume, sample_count=0,
                                keep_checkpoints=0), [rec]).run()
        return result, [n for n in rec.of("on_notice") if n.kind == LEARNING_NOTICE]

    run = tmp_path / "run"
    first, notices = train(run, 2, resume=False)
    assert first.status == "finished" and len(notices) == 1 and "ends of their range" in notices[0].message
    saved = load_checkpoint(run / "checkpoints" / "last.pt")
    assert saved["watchdog"]["reported"] == ["saturated"]

    old = tmp_path / "old"
    shutil.copytree(run, old)
    torch.save({k: v for k, v in saved.items() if k in OLD_CHECKPOINT_KEYS}, old / "checkpoints" / "last.pt")

    resumed, notices = train(run, 4, resume=True)
    assert resumed.status == "finished" and resumed.step == 4 and notices == []

    from_old, notices = train(old, 4, resume=True)
    assert from_old.status == "finished" and from_old.step == 4, from_old.error
    assert len(notices) == 1 and "ends of their range" in notices[0].message  # the run is as wild as before
    assert [r["step"] for r in read_csv(old / "metrics.csv")] == ["1", "2", "3", "4"]
    assert [r["step"] for r in read_csv(old / "eval.csv")] == ["2", "4"]
    assert from_old.best["step"] in (2, 4) and load_checkpoint(old / "checkpoints" / "last.pt")["watchdog"]["reported"]


def test_engine_filters_pick_firings_and_a_shared_filter_is_asked_once_per_firing() -> None:
    engine = Engine()
    calls: list[str] = []
    asked: list[int] = []

    def odd(count: int) -> bool:
        asked.append(count)
        return count % 2 == 1

    engine.add_event_handler(Events.EPOCH_COMPLETED(every=2), lambda: calls.append("every 2"))
    shared = Events.EPOCH_COMPLETED(when=odd)
    engine.add_event_handler(shared, lambda: calls.append("odd a"))
    engine.add_event_handler(Events.EPOCH_COMPLETED, lambda: calls.append("all"))
    engine.add_event_handler(shared, lambda: calls.append("odd b"))
    for epoch in (1, 2, 3):
        engine.fire(Events.EPOCH_COMPLETED, epoch)
    assert calls == ["odd a", "all", "odd b", "every 2", "all", "odd a", "all", "odd b"]
    assert asked == [1, 2, 3]  # two handlers share the filter: one answer per firing
    engine.fire(Events.STARTED)
    assert engine.fired[Events.STARTED] == 1 and engine.fired[Events.EPOCH_COMPLETED] == 3
    with pytest.raises(ValueError, match="either every or when"):
        Events.EPOCH_COMPLETED()


def test_pause_holds_the_run_between_steps(prepared_dataset: Path, tmp_path: Path) -> None:
    stop = StopFlag()
    seen: list[int] = []
    steps_while_paused: list[int] = []

    class PauseAtOne:
        def on_step(self, event: StepEvent) -> None:
            seen.append(event.step)
            if event.step == 1:
                stop.pause()

                def release() -> None:
                    steps_while_paused.append(len(seen))
                    stop.resume()

                threading.Timer(0.5, release).start()

    result = Trainer(config(prepared_dataset, tmp_path / "run", eval_subset=0, sample_count=0),
                     [PauseAtOne()], stop).run()
    assert result.status == "finished" and steps_while_paused == [1] and seen == [1, 2, 3, 4]


def test_failures_become_error_events_not_exceptions(prepared_dataset: Path, tmp_path: Path) -> None:
    rec = Recorder()
    missing = tmp_path / "no_such_dataset"
    result = Trainer(config(missing, tmp_path / "run"), [rec]).run()
    assert result.status == "failed" and str(missing) in result.error
    (error,) = rec.of("on_error")
    assert isinstance(error, ErrorEvent) and str(missing) in error.message and error.suggestion
    assert rec.of("on_end")[0].status == "failed"

    result = Trainer(config(prepared_dataset, tmp_path / "fresh", resume=True), [rec]).run()
    assert result.status == "failed" and "nothing to resume" in result.error


def test_invalid_settings_are_rejected_up_front(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_size=0"):
        TrainConfig(data="d", run_dir="r", batch_size=0)


def test_epochs_left_unset_are_the_models_preset(prepared_dataset: Path, tmp_path: Path) -> None:
    """The paper's 200 epochs for zhang (section 6.2), recorded in config.json, in both presets."""
    from colorcore.models.base import MODEL_REGISTRY

    run = tmp_path / "zhang"
    cfg = config(prepared_dataset, run, model=ModelConfig(name="zhang", width=4), epochs=None, max_steps=1,
                 eval_subset=0, sample_count=0)
    assert Trainer(cfg).run().status == "finished"
    assert json.loads((run / "config.json").read_text(encoding="utf-8"))["epochs"] == 200
    assert [MODEL_REGISTRY[name].preset_epochs(preset) for name in ("multipath", "scgan", "zhang")
            for preset in ("default", "paper")] == [100, 100, 100, 100, 200, 200]


def test_gather_rows_gives_the_rows_asked_for_in_pinned_memory_when_asked() -> None:
    from colorcore.training.trainer import gather_rows

    source = torch.arange(5 * 4 * 4 * 3, dtype=torch.uint8).reshape(5, 4, 4, 3)
    idx = torch.tensor([3, 0, 4])
    assert torch.equal(gather_rows(source, idx, pinned=False), source[idx])
    if torch.cuda.is_available():  # indexing a pinned tensor gives a pageable one; the gather must not
        pinned = gather_rows(source.pin_memory(), idx, pinned=True)
        assert pinned.is_pinned() and torch.equal(pinned, source[idx])
        assert not source.pin_memory()[idx].is_pinned()


def test_compile_falls_back_to_eager_with_a_notice_where_it_cannot_run(
    prepared_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch.compile's CPU backend needs a C++ compiler: without one the run trains eagerly and says why."""
    import torch._inductor.config as inductor_config

    monkeypatch.setattr(inductor_config.cpp, "cxx", (None, str(tmp_path / "no-such-c++")))
    rec = Recorder()
    run = tmp_path / "run"
    result = Trainer(config(prepared_dataset, run, compile=True, max_steps=2, eval_subset=0, sample_count=0), [rec]).run()
    assert result.status == "finished" and result.step == 2
    (notice,) = [e for e in rec.of("on_notice") if e.kind == "compile"]
    assert "torch.compile is not available here" in notice.message and "no-such-c++" in notice.message
    assert json.loads((run / "config.json").read_text(encoding="utf-8"))["compiled"] is False


def test_model_size_follows_the_prepared_dataset(photo_folder: Path, tmp_path: Path) -> None:
    """A 128 px dataset trains a 128 px model (scgan gets its 7-level U-Net) without any size flag."""
    from colorcore.models.checkpoint import load_model
    from colorcore.data.prepare import prepare

    data = tmp_path / "data128"
    prepare(photo_folder, data, size=128, test_fraction=0.25, seed=0, workers=1)
    run = tmp_path / "run128"
    model = ModelConfig(name="scgan", width=4, resnet_weights="none")
    result = Trainer(config(data, run, model=model, epochs=1, max_steps=1, eval_subset=1, sample_count=1)).run()
    assert result.status == "finished"
    saved = json.loads((run / "config.json").read_text())
    assert saved["model"]["image_size"] == 128
    loaded = load_model(run)
    assert loaded.config.image_size == 128
    assert len(loaded.generator.down) == 7
