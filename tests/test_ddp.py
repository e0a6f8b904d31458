"""`torchrun --nproc_per_node=2 -m colorcore train ...` on the CPU (gloo): one writer, shards, a usable run."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

from colorcore.checkpoint import load_checkpoint, load_model

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_torchrun_two_processes_with_gloo(prepared_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--nnodes=1",
        "--master_addr=127.0.0.1", f"--master_port={free_port()}",
        "-m", "colorcore", "train", str(prepared_dataset), str(run),
        "--width", "8", "--resnet-weights", "none", "--batch-size", "3", "--epochs", "2",
        "--device", "cpu", "--eval-subset", "2", "--seed", "1",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    config = json.loads((run / "config.json").read_text())
    assert config["world_size"] == 2
    # 6 train images over 2 ranks: 3 each, batch 3 per rank -> 1 step per epoch, 2 epochs
    assert config["steps_per_epoch"] == 1
    with open(run / "metrics.csv", newline="") as handle:
        steps = [row["step"] for row in csv.DictReader(handle)]
    # rows are rate-limited, the last step always logged; rank 0 alone writes: no duplicated rows
    assert steps[-1] == "2" and len(steps) == len(set(steps))
    with open(run / "eval.csv", newline="") as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["0", "1"]
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert (state["step"], state["epoch"], state["world_size"]) == (2, 2, 2)
    assert not any(key.startswith("module.") for key in state["networks"]["g"])  # saved unwrapped
    model = load_model(run)
    assert torch.isfinite(model.predict(torch.zeros(1, 3, 64, 64))["rgb"]).all()
