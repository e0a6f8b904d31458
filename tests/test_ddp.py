"""`torchrun --nproc_per_node=2 -m colorcore train ...` on the CPU (gloo): one writer, shards, a usable run
(with the WGAN-GP penalty's double backward), and the zhang prior over every process's shard."""

from __future__ import annotations

import csv
import json
import math
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


def torchrun_train(data: Path, run: Path, *options: str) -> None:
    """`colorcore train DATA RUN --width 8 ... OPTIONS` in two gloo processes; asserts it succeeded."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--nnodes=1",
        "--master_addr=127.0.0.1", f"--master_port={free_port()}",
        "-m", "colorcore", "train", str(data), str(run),
        "--width", "8", "--resnet-weights", "none", "--batch-size", "3", "--device", "cpu", "--seed", "1",
        *options,
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=run.parent)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_torchrun_two_processes_with_gloo(prepared_dataset: Path, tmp_path: Path) -> None:
    """Also the WGAN-GP loss, whose gradient penalty is a double backward (autograd.grad with
    create_graph) that DDP does not support: it runs on the unwrapped discriminator, and its weight
    gradients are averaged with the D loss's in the one backward."""
    run = tmp_path / "run"
    torchrun_train(prepared_dataset, run, "--epochs", "2", "--eval-subset", "2", "--gan-loss", "wgan-gp")

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
    assert all(torch.isfinite(t).all() for t in state["networks"]["d"].values())
    with open(run / "metrics.csv", newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    assert math.isfinite(float(last["loss_d"])) and math.isfinite(float(last["loss_g"]))
    model = load_model(run)
    assert torch.isfinite(model.predict(torch.zeros(1, 3, 64, 64))["rgb"]).all()


def test_zhang_prior_counts_every_process_shard(prepared_dataset: Path, tmp_path: Path) -> None:
    """The class-rebalancing prior is the training set's, not rank 0's shard: after one epoch over the
    6 training images (3 per rank) the counts cover 6 images' pixels at the output stride."""
    from colorcore.models.zhang import OUTPUT_STRIDE

    run = tmp_path / "run"
    torchrun_train(prepared_dataset, run, "--model", "zhang", "--epochs", "1", "--eval-subset", "0")
    counts = load_checkpoint(run / "checkpoints" / "last.pt")["networks"]["g"]["ab_counts"]
    size = json.loads((prepared_dataset / "manifest.json").read_text())["size"] // OUTPUT_STRIDE
    assert int(counts.sum()) == 6 * size * size
