"""Multi-process training through ``torchrun``: the process group, the device of each process, and a
check that every process holds the same weights. Nothing here starts processes: ``torchrun`` does."""
import dataclasses
import datetime
import logging
import os
from typing import Iterable, Optional

import torch
import torch.distributed as dist

from ..devices import torch_device
from ..errors import UserError

log = logging.getLogger("edge_saliency")


@dataclasses.dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: Optional[str] = None  # None: a single process, no process group

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        raise UserError("environment variable {}={!r} is not an integer".format(name, value)) from None


def usable_cpus() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_workers(cap: int = 4) -> int:
    """Data-loading processes per training process when ``--workers`` is not given: the usable cores of this
    machine shared by the training processes ``torchrun`` started on it (``LOCAL_WORLD_SIZE``), one kept for
    the training process itself, at most ``cap``. Never more than PyTorch's DataLoader suggests (it warns
    above the usable cores): 1 on a 2-core machine, 0 (loading in the training process) on one core."""
    per_process = usable_cpus() // max(1, _env_int("LOCAL_WORLD_SIZE", 1))
    return max(0, min(cap, per_process - 1))


def pick_device(requested: str, local_rank: int) -> torch.device:
    """This process's device (:func:`edge_saliency.devices.torch_device`: auto, cpu, cuda = cuda:LOCAL_RANK,
    cuda:N)."""
    return torch_device(requested or "auto", local_rank)


def setup(requested_device: str = "auto") -> DistInfo:
    """One process, or one of ``torchrun``'s processes (``WORLD_SIZE`` > 1): joins the process group with
    NCCL on CUDA and gloo on the CPU, and picks this process's device (``cuda:LOCAL_RANK``)."""
    world_size = _env_int("WORLD_SIZE", 1)
    local_rank = _env_int("LOCAL_RANK", 0)
    device = pick_device(requested_device, local_rank)
    if world_size <= 1:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        return DistInfo(device=device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(minutes=30))
    info = DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank, device=device,
                    backend=backend)
    log.debug("process %d of %d on %s (%s)", info.rank, info.world_size, device, backend)
    return info


def teardown(info: DistInfo) -> None:
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()


def all_sum(info: DistInfo, values: torch.Tensor) -> torch.Tensor:
    """Element-wise sum over processes (a float64 CPU tensor in, the same out)."""
    if not info.distributed:
        return values
    moved = values.to(info.device)
    dist.all_reduce(moved, op=dist.ReduceOp.SUM)
    return moved.cpu()


def broadcast_buffers(info: DistInfo, module: torch.nn.Module) -> None:
    """Give every process process 0's buffers (BatchNorm running statistics).

    DistributedDataParallel broadcasts them at the start of each forward, so after the last step of an
    epoch each process holds the statistics of its own last batch; this makes them equal before they are
    used for validation or saved.
    """
    if info.distributed:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


def max_difference_across_ranks(info: DistInfo, tensors: Iterable[torch.Tensor]) -> float:
    """The largest element-wise difference between processes of the given tensors (0.0: all identical).

    Exact: for every element the max and the min over processes are compared.
    """
    worst = 0.0
    if not info.distributed:
        return worst
    for tensor in tensors:
        high = tensor.detach().to(info.device, dtype=torch.float64).clone()
        low = high.clone()
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        if high.numel():
            worst = max(worst, float((high - low).max()))
    return worst
