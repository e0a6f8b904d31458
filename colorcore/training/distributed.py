"""torchrun support: the process group, each process's rank, DDP wrapping and the collectives training needs.

Under `torchrun` (WORLD_SIZE > 1) every process joins one group (gloo on CPU, nccl on CUDA); rank 0
alone writes files and emits events. Without torchrun `init_distributed` returns a one-process
`DistInfo` and nothing here touches torch.distributed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


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


def launch_rank() -> int:
    """This process's rank as torchrun set it (0 without torchrun), before any group is joined."""
    return int(os.environ.get("RANK", "0"))


def init_distributed(device: torch.device) -> DistInfo:
    """Join the torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(launch_rank(), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return info


def shutdown_distributed(info: DistInfo) -> None:
    """Leave the process group `init_distributed` joined (nothing to do for one process)."""
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def wrap_ddp(network: nn.Module, device: torch.device) -> nn.Module:
    """`network` in DistributedDataParallel when it has trainable parameters (DDP refuses a frozen one)."""
    if not any(p.requires_grad for p in network.parameters()):
        return network
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(network, device_ids=ids)


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank when `flag` is True on at least one (a collective: every rank must call it)."""
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value)
    return bool(value.item() > 0)


def rank_zero_decides(flag: bool, device: torch.device) -> bool:
    """Rank 0's `flag` on every rank (a collective: every rank must call it)."""
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.broadcast(value, src=0)
    return bool(value.item() > 0)


def barrier(info: DistInfo) -> None:
    """Wait until every process gets here (nothing to wait for with one process)."""
    if info.enabled:
        dist.barrier()
