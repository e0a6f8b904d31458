"""`torchrun --nproc_per_node=2 -m colorcore train ...` on the CPU (gloo): one writer, shards, a usable run
(with the WGAN-GP penalty's double backward), and the zhang prior over every process's shard; the
helpers of colorcore.training.distributed in two gloo processes and in one process without torchrun."""

from __future__ import annotations

import csv
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from colorcore.models.checkpoint import load_checkpoint, load_model
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
        "--width", "8", "--batch-size", "3", "--device", "cpu", "--seed", "1",
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
    torchrun_train(prepared_dataset, run, "--resnet-weights", "none", "--epochs", "2", "--eval-subset", "2",
                   "--gan-loss", "wgan-gp", "--min-epoch-interval", "0")  # validate after each 1-step epoch

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


def collectives_worker(rank: int, port: int, out_dir: str) -> None:
    """One of two gloo processes: joins as torchrun would have it, runs the helpers, writes what it saw."""
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    cpu = torch.device("cpu")
    info = init_distributed(cpu)
    try:
        seen = {
            "info": [info.rank, info.world_size, info.local_rank, info.enabled, info.is_writer, launch_rank()],
            "nobody_asks": any_rank(False, cpu),
            "rank_1_asks": any_rank(rank == 1, cpu),
            "rank_0_says_yes": rank_zero_decides(rank == 0, cpu),
            "rank_0_says_no": rank_zero_decides(rank == 1, cpu),
        }
        barrier(info)
    finally:
        shutdown_distributed(info)
    seen["joined_after_shutdown"] = dist.is_initialized()
    (Path(out_dir) / f"rank{rank}.json").write_text(json.dumps(seen))


def test_distributed_helpers_agree_across_two_gloo_processes(tmp_path: Path) -> None:
    """A stop asked by any rank stops every rank; rank 0's clock decides for all; the group is left."""
    context = mp.spawn(collectives_worker, args=(free_port(), str(tmp_path)), nprocs=2, join=False)
    try:
        for _ in range(300):
            if context.join(timeout=1):
                break
        else:
            pytest.fail("the two processes did not finish within 300 s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.terminate()
    seen = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert seen[0]["info"] == [0, 2, 0, True, True, 0] and seen[1]["info"] == [1, 2, 1, True, False, 1]
    for ranks_view in seen:
        assert not ranks_view["nobody_asks"] and ranks_view["rank_1_asks"]
        assert ranks_view["rank_0_says_yes"] and not ranks_view["rank_0_says_no"]
        assert ranks_view["joined_after_shutdown"] is False


def test_only_networks_with_trainable_parameters_get_a_ddp_wrapper() -> None:
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        cpu = torch.device("cpu")
        frozen = nn.Linear(2, 2).requires_grad_(False)
        assert wrap_ddp(frozen, cpu) is frozen  # DDP refuses a network without trainable parameters
        trainable = nn.Linear(2, 2)
        wrapped = wrap_ddp(trainable, cpu)
        assert isinstance(wrapped, DistributedDataParallel) and wrapped.module is trainable
    finally:
        dist.destroy_process_group()


def test_without_torchrun_one_process_writes_and_joins_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    info = init_distributed(torch.device("cpu"))
    assert info == DistInfo() and not info.enabled and info.is_writer and launch_rank() == 0
    barrier(info)  # no group to wait for: returns at once
    shutdown_distributed(info)
    assert not dist.is_initialized()
    monkeypatch.setenv("RANK", "3")
    assert launch_rank() == 3
