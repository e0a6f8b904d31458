"""Checkpoints and model files: atomic writes, safe loading (malicious pickles refused), export/load."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from colorcore.models.checkpoint import (
    ModelFileError,
    export_model,
    load_checkpoint,
    load_model,
    make_checkpoint,
    read_metadata,
    resolve_model_path,
    save_checkpoint,
)
from colorcore.models.base import ModelConfig, build_model
from colorcore.training.trainer import rng_state, set_rng_state

TINY = ModelConfig(width=8, resnet_weights="none")
REPO = Path(__file__).resolve().parents[1]


def tiny_checkpoint(step: int = 7) -> tuple[torch.nn.Module, dict]:
    torch.manual_seed(step)
    model = build_model(TINY)
    opts = model.make_optimizers()
    state = make_checkpoint(model, opts, step=step, epoch=1, epoch_pos=0, rng=rng_state(),
                            summary={"epochs": 1, "steps": step, "metrics": {"psnr": 20.5}})
    return model, state


def make_run(tmp_path: Path, step: int = 7) -> tuple[Path, torch.nn.Module]:
    model, state = tiny_checkpoint(step)
    run = tmp_path / "run"
    save_checkpoint(run / "checkpoints" / "last.pt", state)
    return run, model


def test_checkpoint_round_trip_with_weights_only(tmp_path: Path) -> None:
    model, state = tiny_checkpoint()
    path = save_checkpoint(tmp_path / "ck.pt", state)
    loaded = load_checkpoint(path)
    assert loaded["step"] == 7 and loaded["model_config"]["width"] == 8
    g = loaded["networks"]["g"]
    assert all(torch.equal(g[k], v) for k, v in model.generator.state_dict().items())
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # no temp file left behind


def test_rng_states_survive_a_weights_only_round_trip(tmp_path: Path) -> None:
    import random

    import numpy as np

    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    state = {"format": "colorcore-checkpoint", "rng": rng_state(torch.device("cpu"))}
    assert state["rng"]["cuda"] is None  # no GPU generator is saved for a CPU run
    expected = (torch.rand(3), np.random.rand(3), random.random())
    save_checkpoint(tmp_path / "rng.pt", state)
    torch.manual_seed(99), np.random.seed(99), random.seed(99)
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])
    assert random.random() == expected[2]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_rng_state_resumes_on_a_machine_with_fewer_gpus(tmp_path: Path) -> None:
    """The checkpoint keeps the training GPU's generator only, and a checkpoint of an older version
    (one state per GPU of a machine with more GPUs than this one) restores that GPU's state without
    failing."""
    device = torch.device("cuda", 0)
    torch.cuda.manual_seed_all(5)
    state = rng_state(device)
    expected = torch.rand(4, device=device)
    save_checkpoint(tmp_path / "rng.pt", {"format": "colorcore-checkpoint", "rng": state})
    loaded = load_checkpoint(tmp_path / "rng.pt")["rng"]
    torch.cuda.manual_seed_all(99)
    set_rng_state(loaded, device)
    assert torch.equal(torch.rand(4, device=device), expected)
    older = dict(loaded, cuda=[loaded["cuda"]] * (torch.cuda.device_count() + 3))
    torch.cuda.manual_seed_all(99)
    set_rng_state(older, device)
    assert torch.equal(torch.rand(4, device=device), expected)


class _Evil:
    """Unpickling this would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "run" / "checkpoints" / "last.pt"
    path.parent.mkdir(parents=True)
    payload = {"format": "colorcore-checkpoint", "networks": _Evil(marker)}
    if writer == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(ModelFileError, match="refused") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    with pytest.raises(ModelFileError, match="refused"):
        load_model(tmp_path / "run")
    assert not marker.exists()


class _Boom:
    def __reduce__(self):
        raise RuntimeError("injected failure in the middle of the write")


def test_failed_write_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    _, state = tiny_checkpoint(step=5)
    path = save_checkpoint(tmp_path / "last.pt", state)
    big = {**state, "step": 6, "padding": torch.zeros(1_000_000), "zz": _Boom()}
    with pytest.raises(RuntimeError, match="injected"):
        save_checkpoint(path, big)
    assert load_checkpoint(path)["step"] == 5
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


KILL_SCRIPT = """
import sys, torch
from colorcore.models.checkpoint import save_checkpoint
path = sys.argv[1]
step = 100
while True:
    save_checkpoint(path, {"format": "colorcore-checkpoint", "step": step, "blob": torch.rand(8_000_000)})
    step += 1
"""


def test_write_killed_midway_leaves_a_loadable_last_checkpoint(tmp_path: Path) -> None:
    _, state = tiny_checkpoint(step=5)
    path = save_checkpoint(tmp_path / "last.pt", state)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(path)], env=env)
    try:
        hang_guard = time.monotonic() + 1800  # not a speed check: only a writer that never writes ends here
        while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
            assert proc.poll() is None, "the writer exited early"
            assert time.monotonic() < hang_guard, "no temporary file in 30 minutes: does save_checkpoint use one?"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert load_checkpoint(path)["step"] in {5} | set(range(100, 10_000))


def test_export_then_load_gives_the_same_predictions(tmp_path: Path) -> None:
    run, model = make_run(tmp_path)
    out = export_model(run, tmp_path / "model.safetensors")
    meta = read_metadata(out)
    assert meta["architecture"] == "multipath" and meta["image_size"] == 64
    assert meta["colour_space"] == "rgb" and meta["model_config"]["width"] == 8
    assert meta["training"]["steps"] == 7 and meta["training"]["metrics"]["psnr"] == 20.5
    from safetensors import safe_open

    with safe_open(str(out), framework="pt") as handle:
        assert json.loads(handle.metadata()["colorcore"])["architecture"] == "multipath"
    gray = torch.rand(2, 3, 64, 64) * 2 - 1
    expected = model.eval().predict(gray)["rgb"]
    for source in (out, run, run / "checkpoints" / "last.pt"):
        loaded = load_model(source)
        assert not loaded.training
        assert torch.allclose(loaded.predict(gray)["rgb"], expected, atol=1e-6)


def test_run_folder_prefers_the_exported_model(tmp_path: Path) -> None:
    run, _ = make_run(tmp_path)
    assert resolve_model_path(run).name == "last.pt"
    export_model(run, run / "model.safetensors")
    assert resolve_model_path(run).name == "model.safetensors"
    assert read_metadata(run)["architecture"] == "multipath"


def test_one_entry_opens_the_starter_a_run_and_its_files_by_one_rule(tmp_path: Path) -> None:
    """"starter", a run folder (best.pt before last.pt, model.safetensors before both), a .pt and a
    .safetensors all go through `resolve_model_path` and `load_model`; a device is a name or a torch device."""
    from colorcore.models.settings import STARTER, starter_model_path

    assert resolve_model_path(STARTER) == resolve_model_path(None) == starter_model_path()
    starter = load_model(STARTER, "cpu")
    assert starter.config.name == "multipath" and not starter.training
    assert read_metadata(STARTER)["model_config"] == read_metadata(starter_model_path())["model_config"]
    run, _ = make_run(tmp_path)
    last = run / "checkpoints" / "last.pt"
    assert resolve_model_path(run) == last
    (run / "checkpoints" / "best.pt").write_bytes(last.read_bytes())
    assert resolve_model_path(run) == run / "checkpoints" / "best.pt"
    export_model(run, run / "model.safetensors")
    assert resolve_model_path(run) == run / "model.safetensors"
    for source in (run, last, run / "model.safetensors"):
        assert load_model(source, torch.device("cpu")).config == TINY.with_()


def test_the_one_error_carries_the_file_and_the_problem(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(ModelFileError) as info:
        load_model(other)
    assert info.value.path == str(other) and info.value.problem.startswith("not a model file")
    assert str(info.value) == f"{other}: {info.value.problem}"
    copy = pickle.loads(pickle.dumps(info.value))  # it crosses process boundaries whole
    assert (copy.path, copy.problem, str(copy)) == (info.value.path, info.value.problem, str(info.value))


def test_one_size_rule_multiples_of_the_trained_size_proven_by_a_trial(tmp_path: Path) -> None:
    from colorcore.models.base import check_inference_size, network_size
    from colorcore.models.settings import MAX_NETWORK_SIZE

    model = build_model(TINY).eval()
    assert network_size(model) == check_inference_size(model) == 64
    assert check_inference_size(model, 128) == 128  # fully convolutional: runs at a multiple
    for bad in (0, -64, 100, MAX_NETWORK_SIZE + 64):
        with pytest.raises(ValueError, match="multiple of the model's trained size 64"):
            network_size(model, bad)
    zhang = build_model(ModelConfig(name="zhang", image_size=32, width=4)).train()
    assert check_inference_size(zhang, 64) == 64 and zhang.training  # its mode is given back


def test_load_never_fetches_resnet_weights_and_keeps_their_provenance(tmp_path: Path) -> None:
    model = build_model(TINY.with_(finetune_resnet=True))  # a model with a ResNet path
    state = make_checkpoint(model, model.make_optimizers(), step=0, epoch=0, epoch_pos=0)
    state["model_config"]["resnet_weights"] = str(tmp_path / "gone.pth")  # would fail if it were read
    save_checkpoint(tmp_path / "ck.pt", state)
    loaded = load_model(tmp_path / "ck.pt")
    assert loaded.config.resnet_weights == str(tmp_path / "gone.pth")  # recorded as trained, never read
    assert torch.equal(loaded.generator.resnet.trunk[0].weight, model.generator.resnet.trunk[0].weight)


def test_bad_files_name_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "missing.safetensors")
    empty = tmp_path / "empty_run"
    empty.mkdir()
    with pytest.raises(ModelFileError, match="no model.safetensors"):
        load_model(empty)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelFileError, match="corrupt") as info:
        load_model(corrupt)
    assert str(corrupt) in str(info.value)
    truncated = tmp_path / "truncated.pt"
    _, state = tiny_checkpoint()
    save_checkpoint(truncated, state)
    truncated.write_bytes(truncated.read_bytes()[:5000])
    with pytest.raises(ModelFileError, match="corrupt"):
        load_checkpoint(truncated)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(os.urandom(64))
    with pytest.raises(ModelFileError, match="corrupt"):
        load_model(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ModelFileError, match="not a ColorCore checkpoint"):
        load_model(other)


def test_foreign_or_unknown_safetensors_are_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(ModelFileError, match="not a ColorCore model"):
        load_model(plain)
    unknown = tmp_path / "unknown.safetensors"
    meta = {"architecture": "mystery", "model_config": {"name": "mystery"}}
    save_file({"w": torch.zeros(2)}, str(unknown), metadata={"colorcore": json.dumps(meta)})
    with pytest.raises(ModelFileError, match="unknown architecture 'mystery'"):
        load_model(unknown)
    wrong = tmp_path / "wrong.safetensors"
    meta = {"architecture": "multipath", "model_config": TINY.to_dict()}
    save_file({"w": torch.zeros(2)}, str(wrong), metadata={"colorcore": json.dumps(meta)})
    with pytest.raises(ModelFileError, match="do not fit"):
        load_model(wrong)


def test_garbage_checkpoint_is_a_clear_error(tmp_path) -> None:
    """Random bytes named .pt give ModelFileError naming the file, never a raw traceback."""
    import pytest

    from colorcore.models.checkpoint import ModelFileError, load_checkpoint

    for i, payload in enumerate((b"", b"\x80\x02garbage", bytes(range(256)) * 4, b"PK\x03\x04broken zip")):
        bad = tmp_path / f"bad{i}.pt"
        bad.write_bytes(payload)
        with pytest.raises(ModelFileError, match=f"bad{i}.pt"):
            load_checkpoint(bad)
