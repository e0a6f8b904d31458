"""The CIFAR-10 representation experiment on real CIFAR-format batch files with a learnable signal."""

from __future__ import annotations

import csv
import json
import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from colorcore.downstream import experiment as ds
from colorcore.downstream import tables as downstream_table
from colorcore.downstream.results import (
    CONFIG_JSON, RUNS_JSON, ResultsFolder, ExperimentConfig, RunRecord, RunsState, curves_csv, curves_path,
)
from colorcore.downstream.settings import CONFIG_NAMES, DownstreamError, DownstreamSettings, parse_configs
from colorcore.downstream.cifar import (
    CIFAR_FOLDER, NUM_CLASSES, TEST_BATCH, TRAIN_BATCHES, CifarError, load_cifar10, read_batch,
    stratified_subset,
)
from colorcore.core.advice import OFF, ON, Advice
from colorcore.core.events import StopFlag
from colorcore.models.base import ModelConfig, build_model
from tests.helpers import PER_BATCH, TEST_WIDTH, write_cifar

pytestmark = pytest.mark.usefixtures("one_thread")



def small_settings(**changes) -> ds.DownstreamSettings:
    base = dict(train_size=200, val_size=50, test_size=100, seeds=2, epochs=2, batch_size=32)
    return ds.DownstreamSettings(**(base | changes))


@pytest.fixture(scope="module")
def cifar(tmp_path_factory) -> "ds.Cifar10":
    root = write_cifar(tmp_path_factory.mktemp("cifar"))
    return load_cifar10(root, verify=False)


@pytest.fixture(scope="module")
def encoder() -> ds.Encoder:
    torch.manual_seed(123)
    generator = build_model(ModelConfig(width=TEST_WIDTH, resnet_weights="none")).generator
    return ds.encoder_from_generator(generator, {"path": "in-memory test generator"})


class Recorder:
    """Counts the events of a run; can stop it after a number of finished configurations."""

    def __init__(self, stop: StopFlag | None = None, stop_after_configs: int | None = None) -> None:
        self.epochs: list[ds.DownstreamEpochEvent] = []
        self.configs: list[ds.ConfigResultEvent] = []
        self.ends: list = []
        self.progress: list = []
        self.stop, self.stop_after = stop, stop_after_configs

    def on_epoch_end(self, event) -> None:
        self.epochs.append(event)

    def on_progress(self, event) -> None:
        self.progress.append(event)

    def on_config_end(self, event) -> None:
        self.configs.append(event)
        if self.stop is not None and len(self.configs) == self.stop_after:
            self.stop.request_stop()

    def on_end(self, event) -> None:
        self.ends.append(event)


def test_reads_written_batches_with_both_pickle_protocols(cifar):
    assert cifar.train_images.shape == (5 * PER_BATCH, 32, 32, 3)
    assert cifar.test_images.shape == (PER_BATCH, 32, 32, 3)
    assert cifar.class_names[3] == "class3"
    assert np.bincount(cifar.train_labels, minlength=NUM_CLASSES).tolist() == [50] * NUM_CLASSES
    # channel planes become the last axis: the red plane is the first 1024 bytes of a row
    raw = pickle.loads((cifar.folder / TEST_BATCH).read_bytes())[b"data"]
    assert np.array_equal(cifar.test_images[0, :, :, 0].reshape(-1), raw[0, :1024])


def test_subset_is_stratified_and_seeded(cifar):
    def subset(seed):
        return stratified_subset(cifar.train_labels, cifar.test_labels, train_size=200, val_size=50,
                                 test_size=100, seed=seed)

    a, b, c = subset(0), subset(0), subset(1)
    for name in ("train", "val", "test"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.train, c.train)
    assert np.bincount(cifar.train_labels[a.train], minlength=10).tolist() == [20] * 10  # all 200 fitted
    assert np.bincount(cifar.train_labels[a.val], minlength=10).tolist() == [5] * 10
    assert np.bincount(cifar.test_labels[a.test], minlength=10).tolist() == [10] * 10
    assert not set(a.train) & set(a.val)  # validation comes from the rest of the training batches
    with pytest.raises(CifarError, match="multiple of 10"):
        stratified_subset(cifar.train_labels, cifar.test_labels, train_size=205, val_size=50, test_size=100, seed=0)
    with pytest.raises(CifarError, match="only 50 images"):
        stratified_subset(cifar.train_labels, cifar.test_labels, train_size=1000, val_size=50, test_size=100, seed=0)


def _prepare(cifar, settings):
    subset = stratified_subset(cifar.train_labels, cifar.test_labels, train_size=settings.train_size,
                               val_size=settings.val_size, test_size=settings.test_size, seed=0)
    return ds.prepare_splits(cifar, subset, settings, torch.device("cpu"))


@pytest.mark.parametrize("cached", [True, False])
def test_frozen_blocks_stay_bitwise_unchanged(cifar, encoder, cached):
    settings = small_settings(epochs=1)
    splits = _prepare(cifar, settings)
    model = ds.build_classifier(encoder, "3", seed=0, settings=settings)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    features = ds.cache_frozen_features(model, splits, ds.autocast_for(torch.device("cpu"))) if cached else None
    assert (features is not None) == cached
    outcome = ds.train_classifier(model, features or splits, settings, seed=0, features_cached=cached)
    after = model.state_dict()
    frozen = [k for k in before if k.startswith(("blocks.0.", "blocks.1.", "blocks.2."))]
    trained = [k for k in before if k.startswith(("blocks.3.", "blocks.4.", "head."))]
    assert any("running_mean" in k for k in frozen) and any("num_batches_tracked" in k for k in frozen)
    for key in frozen:  # weights, biases and BatchNorm running statistics
        assert torch.equal(before[key], after[key]), key
        assert torch.equal(after[key], encoder.blocks.state_dict()[key.removeprefix("blocks.")]), key
    assert not torch.equal(before["blocks.3.conv.weight"], after["blocks.3.conv.weight"])
    assert not torch.equal(before["blocks.3.bn.running_mean"], after["blocks.3.bn.running_mean"])
    assert not torch.equal(before["head.1.weight"], after["head.1.weight"])
    assert outcome is not None and 0.0 <= outcome.test_acc <= 100.0


def test_runs_stop_when_validation_stops_improving_and_the_best_epoch_is_evaluated(cifar, encoder):
    settings = small_settings(train_size=200, val_size=100, epochs=40, patience=2)
    model = ds.build_classifier(encoder, "2", seed=0, settings=settings)
    splits = _prepare(cifar, settings)
    outcome = ds.train_classifier(model, splits, settings, seed=0)
    val = [c["val_acc"] for c in outcome.curves]
    best = val.index(max(val)) + 1  # the first epoch reaching the best validation accuracy
    assert len(val) == best + 2 < 40  # two epochs without improvement end the run
    assert outcome.best_epoch == best and outcome.val_acc == max(val)
    assert outcome.train_acc == outcome.curves[best - 1]["train_acc"]
    no_autocast = lambda: torch.autocast("cpu", enabled=False)  # noqa: E731
    assert ds.evaluate(model.eval(), splits.test_x, splits.test_y, no_autocast)[1] == outcome.test_acc  # best weights


def test_default_is_the_papers_protocol_and_quick_says_it_is_not() -> None:
    paper = ds.DownstreamSettings()
    assert (paper.train_size, paper.test_size, paper.protocol) == (8000, 1600, "paper")
    assert paper.patience > 0 and paper.epochs > paper.patience
    quick = ds.DownstreamSettings.for_protocol("quick")
    assert quick.protocol == "quick" and quick.patience == 0 and quick.epochs < paper.epochs
    assert "NOT the paper's" in downstream_table.markdown_table([], quick)
    assert "the paper's protocol" in downstream_table.markdown_table([], paper)
    with pytest.raises(ds.DownstreamError, match="unknown protocol"):
        ds.DownstreamSettings.for_protocol("fast")


def test_classifier_learns_the_synthetic_signal(cifar, encoder):
    settings = small_settings(train_size=400, val_size=100, epochs=6)
    model = ds.build_classifier(encoder, "2", seed=0, settings=settings)
    outcome = ds.train_classifier(model, _prepare(cifar, settings), settings, seed=0)
    assert [round(c["epoch"]) for c in outcome.curves] == list(range(1, 7))
    assert outcome.curves[-1]["train_loss"] < outcome.curves[0]["train_loss"]
    assert outcome.test_acc >= 50.0  # chance is 10 %


@pytest.mark.parametrize("mode, size", [("gray", 32), ("rgb", 64)])
def test_input_modes_and_sizes_feed_the_classifier(cifar, encoder, mode, size):
    images = cifar.test_images[:4]
    x = ds.model_inputs(images, mode, size)
    assert x.shape == (4, 3, size, size) and -1.0 <= float(x.min()) and float(x.max()) <= 1.0
    if mode == "gray":  # the encoder's training input: BT.601 luma stacked to three channels
        luma = np.rint(images.astype(np.float64) @ np.array([0.299, 0.587, 0.114]))
        assert torch.allclose(x[:, 0], torch.from_numpy(luma / 127.5 - 1.0).float(), atol=1e-5)
        assert torch.equal(x[:, 0], x[:, 2])
    else:
        assert not torch.equal(x[:, 0], x[:, 2])
    settings = small_settings(input=mode, image_size=size)
    model = ds.build_classifier(encoder, "2", seed=0, settings=settings).eval()
    assert model(x).shape == (4, NUM_CLASSES)


def test_scratch_differs_from_pretrained_only_in_initial_weights(cifar, encoder):
    settings = small_settings(epochs=2)
    pretrained = ds.build_classifier(encoder, "0", seed=1, settings=settings)
    scratch = ds.build_classifier(encoder, ds.SCRATCH, seed=1, settings=settings)
    p_state, s_state = pretrained.state_dict(), scratch.state_dict()
    assert [(k, v.shape) for k, v in p_state.items()] == [(k, v.shape) for k, v in s_state.items()]
    for key in p_state:
        if key.startswith("head."):
            assert torch.equal(p_state[key], s_state[key]), key
    assert not torch.equal(p_state["blocks.0.conv.weight"], s_state["blocks.0.conv.weight"])
    # the same training with the scratch weights handed in as a "pretrained" encoder is bit-identical:
    # architecture, hyperparameters, data order and dropout do not depend on the configuration
    as_pretrained = ds.Encoder(blocks=ds.scratch_blocks(TEST_WIDTH, 1), width=TEST_WIDTH)
    twin = ds.build_classifier(as_pretrained, "0", seed=1, settings=settings)
    splits = _prepare(cifar, settings)
    a = ds.train_classifier(scratch, splits, settings, seed=1)
    b = ds.train_classifier(twin, splits, settings, seed=1)
    assert a.curves[-1]["train_loss"] == b.curves[-1]["train_loss"]
    assert (a.val_acc, a.test_acc, a.test_loss) == (b.val_acc, b.test_acc, b.test_loss)
    for key, value in scratch.state_dict().items():
        assert torch.equal(value, twin.state_dict()[key]), key


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_interrupted_run_resumes_and_writes_the_table(cifar, encoder, tmp_path):
    settings = small_settings()
    out = tmp_path / "out"
    stop = StopFlag()
    first = Recorder(stop, stop_after_configs=2)
    result = ds.run_downstream(settings, encoder, cifar, out, callbacks=[first], stop=stop)
    assert result.status == "stopped" and first.ends[-1].status == "stopped"
    assert [e.config for e in first.configs] == ["1", "2"]
    state = json.loads((out / ds.RUNS_JSON).read_text())
    assert sorted((r["config"], r["seed"]) for r in state["runs"]) == [("1", 0), ("1", 1), ("2", 0), ("2", 1)]

    second = Recorder()
    result = ds.run_downstream(settings, encoder, cifar, out, callbacks=[second])
    assert result.status == "finished"
    # only the four unfinished configurations are trained: 4 configs x 2 seeds x 2 epochs
    assert len(second.epochs) == 4 * 2 * 2
    assert {e.config for e in second.epochs} == {"3", "4", "5", "scratch"}
    assert [(e.config, e.resumed) for e in second.configs] == [
        ("1", True), ("2", True), ("3", False), ("4", False), ("5", False), ("scratch", False)]
    assert second.progress[-1].done == second.progress[-1].total == 6 * 2 * 2
    epoch_event = second.epochs[0]
    assert set(epoch_event.metrics) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert epoch_event.seed in (0, 1)

    rows = _read_csv(out / ds.RESULTS_CSV)
    assert [r["config"] for r in rows] == ["1", "2", "3", "4", "5", "scratch"]
    for row in rows:
        assert row["seeds"] == "2"
        for split in ("train", "val", "test"):
            assert 0 <= float(row[f"{split}_mean"]) <= 100 and float(row[f"{split}_std"]) >= 0
    assert float(rows[0]["paper_test"]) == 56.47 and float(rows[-1]["paper_test"]) == 55.12
    assert rows[0]["test_diff_low"] and not rows[-1]["test_diff_mean"]
    low, mean, high = (float(rows[2][k]) for k in ("test_diff_low", "test_diff_mean", "test_diff_high"))
    assert low <= mean <= high
    markdown = (out / ds.RESULTS_MD).read_text()
    assert markdown == result.markdown
    assert "frozen through block 1" in markdown and "from scratch" in markdown and "56.47" in markdown
    assert markdown.count("±") >= 18

    for config in ("block1", "block5", "scratch"):
        curve = _read_csv(out / ds.CURVES_DIR / f"{config}_seed1.csv")
        assert [c["epoch"] for c in curve] == ["1", "2"]
    config = json.loads((out / ds.CONFIG_JSON).read_text())
    assert config["encoder"]["encoder_sha256"] == ds.blocks_sha256(encoder.blocks)
    assert config["settings"]["epochs"] == 2 and "torch" in config["versions"]
    assert config["versions"]["torch"] == torch.__version__ and "git_commit" in config  # colorcore.core.provenance
    assert config["device"].startswith("CPU")

    third = Recorder()
    ds.run_downstream(settings, encoder, cifar, out, callbacks=[third])
    assert third.epochs == [] and len(third.configs) == 6

    results = ResultsFolder.load(out)  # what a later session (the Downstream tab) reads back
    assert results.settings == settings and results.config.encoder_path == "in-memory test generator"
    assert results.config.cifar_root == cifar.folder.parent and results.curve_problems == ()
    assert sorted((r.config, r.seed) for r in results.runs) == sorted((c, s) for c in settings.configs for s in (0, 1))
    assert [row["test_mean"] for row in result.rows] == [
        row["test_mean"] for row in ds.summarise(results.runs, settings.configs, settings.seeds)]
    curve = results.curves[("scratch", 1)]
    written = _read_csv(out / ds.CURVES_DIR / "scratch_seed1.csv")
    assert [p.epoch for p in curve] == [1, 2] and [p.val_acc for p in curve] == [float(c["val_acc"]) for c in written]


def test_other_settings_in_the_same_folder_are_refused(cifar, encoder, tmp_path):
    settings = small_settings(seeds=1, epochs=1, configs=("5",))
    ds.run_downstream(settings, encoder, cifar, tmp_path)
    changed = small_settings(seeds=1, epochs=1, configs=("5",), lr=5e-4)
    with pytest.raises(ds.DownstreamError, match="different settings.*lr"):
        ds.run_downstream(changed, encoder, cifar, tmp_path)
    result = ds.run_downstream(changed, encoder, cifar, tmp_path, overwrite=True)
    assert result.status == "finished" and result.rows[0]["seeds"] == 1


def test_paired_interval_and_summary_statistics():
    mean, low, high = downstream_table.paired_interval([3.0, 4.0, 5.0], [2.0, 2.0, 2.0])
    half = 4.303 * 1.0 / math.sqrt(3)
    assert mean == 2.0 and low == pytest.approx(2.0 - half) and high == pytest.approx(2.0 + half)
    assert downstream_table.t_quantile_975(40) == pytest.approx(2.021, abs=1e-3)
    runs = [RunRecord(config=c, seed=s, train_acc=50.0 + s, val_acc=40.0, test_acc=t + s)
            for c, t in (("1", 60.0), (ds.SCRATCH, 55.0)) for s in (0, 1)]
    row = ds.summarise(runs, ("1", ds.SCRATCH), seeds=2)[0]
    assert row["test_mean"] == 60.5 and row["test_std"] == pytest.approx(math.sqrt(0.5))
    assert row["test_diff_mean"] == 5.0 and row["test_diff_low"] == row["test_diff_high"] == 5.0


def test_one_way_to_show_an_accuracy_over_seeds_and_one_list_of_configurations() -> None:
    assert downstream_table.format_mean_std(56.474, 0.8) == "56.47 \u00b1 0.80"
    assert downstream_table.format_mean_std(56.474, math.nan) == "56.47 (one seed)"
    assert downstream_table.format_mean_std(math.nan, math.nan) == downstream_table.format_mean_std(None, None) == ""
    assert downstream_table.format_diff(1.2, math.nan, math.nan) == "+1.20 (one seed, no interval)"
    assert downstream_table.format_diff(1.2, 0.3, 2.1) == "+1.20 [+0.30, +2.10]"
    row = downstream_table.summarise([RunRecord("1", 0, 50.0, 40.0, 60.0)], ("1",), seeds=1)[0]
    assert "| 50.00 (one seed) | 40.00 (one seed) | 60.00 (one seed) |" in downstream_table.markdown_table(
        [row], DownstreamSettings())
    assert CONFIG_NAMES == ("1", "2", "3", "4", "5", "scratch", "0")  # the paper's order, the extra last
    with pytest.raises(DownstreamError, match="choose from 1,2,3,4,5,scratch,0"):
        parse_configs("6")


def write_results(out: Path, settings: DownstreamSettings, runs: list[RunRecord]) -> Path:
    """A results folder as `run_downstream` writes it, made with the engine's own record types."""
    out.mkdir(parents=True)
    (out / CONFIG_JSON).write_text(json.dumps(ExperimentConfig(
        settings, encoder={"path": "/models/paper.safetensors"},
        data={"cifar_folder": "/data/cifar-10-batches-py"}).to_dict()), encoding="utf-8")
    (out / RUNS_JSON).write_text(json.dumps(RunsState({"lr": settings.lr}, tuple(runs)).to_dict()), encoding="utf-8")
    for run in runs:
        path = curves_path(out, run.config, run.seed)
        path.parent.mkdir(exist_ok=True)
        path.write_text(curves_csv([{"epoch": e, "train_loss": 1.0, "train_acc": 30.0, "val_loss": 1.5,
                                     "val_acc": 20.0 + e, "seconds": e} for e in (1, 2, 3)]), encoding="utf-8")
    return out


def test_a_results_folder_reads_back_typed_and_a_damaged_file_is_named(tmp_path: Path) -> None:
    settings = DownstreamSettings(configs=("2", "scratch"), seeds=1, epochs=3, patience=0)
    runs = [RunRecord("2", 0, 50.0, 40.0, 45.0, 1.2, 1.4, 1.5, epochs=3, best_epoch=3),
            RunRecord("scratch", 0, 48.0, 38.0, 41.0, 1.3, 1.6, 1.7, epochs=3, best_epoch=2, device="cpu")]
    out = write_results(tmp_path / "out", settings, runs)
    results = ResultsFolder.load(out)
    assert results.settings == settings and results.runs == tuple(runs)
    assert results.config.encoder_path == "/models/paper.safetensors"
    assert results.config.cifar_root == Path("/data")
    assert [p.val_acc for p in results.curves[("2", 0)]] == [21.0, 22.0, 23.0]
    assert ResultsFolder.exists(out) and not ResultsFolder.exists(tmp_path)

    curves_path(out, "scratch", 0).write_text("epoch,val_acc\n1,not a number\n", encoding="utf-8")
    damaged_curve = ResultsFolder.load(out)  # a curve is a view: the runs still load
    assert ("scratch", 0) not in damaged_curve.curves and "scratch_seed0.csv" in damaged_curve.curve_problems[0]

    config = json.loads((out / CONFIG_JSON).read_text(encoding="utf-8"))
    for settings_change, message in (({"seeds": "two"}, "seeds must be int"), ({"warp": 9}, "unknown setting"),
                                     ({"input": "lab"}, "input must be one of gray, rgb")):
        (out / CONFIG_JSON).write_text(json.dumps(config | {"settings": config["settings"] | settings_change}))
        with pytest.raises(DownstreamError, match=message) as info:
            ResultsFolder.load(out)
        assert str(out / CONFIG_JSON) in str(info.value)
    (out / CONFIG_JSON).write_text(json.dumps(config))
    (out / RUNS_JSON).write_text(json.dumps({"fingerprint": {}, "runs": [{"config": "2", "seed": 0}]}))
    with pytest.raises(DownstreamError, match="a run lacks train_acc, val_acc, test_acc") as info:
        ResultsFolder.load(out)
    assert str(out / RUNS_JSON) in str(info.value)
    (out / RUNS_JSON).write_text("{half")
    with pytest.raises(DownstreamError, match="runs.json: unreadable"):
        ResultsFolder.load(out)
    with pytest.raises(DownstreamError, match="no experiment results here"):
        ResultsFolder.load(tmp_path / "elsewhere")


def test_encoder_must_be_the_multipath_generator():
    with pytest.raises(ds.DownstreamError, match="multipath"):
        ds.encoder_from_generator(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3)))


class _Exploit:
    def __init__(self, marker: Path, how: str) -> None:
        self.marker, self.how = marker, how

    def __reduce__(self):
        if self.how == "os.system":
            return os.system, (f"touch {self.marker}",)
        return exec, (f"open({str(self.marker)!r}, 'w').close()",)


@pytest.mark.parametrize("how", ["os.system", "exec"])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, how):
    root = write_cifar(tmp_path / "data", per_batch=20)
    marker = tmp_path / "pwned"
    bad = root / CIFAR_FOLDER / TRAIN_BATCHES[2]
    bad.write_bytes(pickle.dumps({b"data": _Exploit(marker, how), b"labels": [0]}, protocol=2))
    with pytest.raises(CifarError) as info:
        load_cifar10(root, verify=False)
    assert str(bad) in str(info.value) and "refused" in str(info.value)
    assert not marker.exists()


def test_missing_or_unofficial_files_get_clear_messages(tmp_path):
    with pytest.raises(CifarError, match=f"{CIFAR_FOLDER}.*download it") as missing:
        load_cifar10(tmp_path)
    assert missing.value.advice == (Advice("download", ON),)  # each front end words it (--download)
    root = write_cifar(tmp_path / "data", per_batch=20)
    with pytest.raises(CifarError, match="md5.*not the official ones") as unofficial:
        load_cifar10(root)
    assert unofficial.value.advice == (Advice("download", ON), Advice("verify", OFF))
    assert "--" not in str(missing.value) + str(unofficial.value)
    bad = root / CIFAR_FOLDER / TEST_BATCH
    bad.write_bytes(b"not a pickle at all")
    with pytest.raises(CifarError, match="test_batch"):
        read_batch(bad)


def test_the_starter_model_is_an_encoder_by_name() -> None:
    from colorcore.models.checkpoint import read_metadata
    from colorcore.models.settings import starter_model_path

    encoder = ds.load_encoder("starter")
    assert encoder.width == read_metadata(starter_model_path())["model_config"]["width"]
    assert encoder.provenance["encoder_sha256"] == ds.load_encoder(starter_model_path()).provenance["encoder_sha256"]
    with pytest.raises(ds.DownstreamError, match="or starter"):
        ds.load_encoder("no-such-encoder")
