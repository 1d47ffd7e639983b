"""One style on several GPUs or processes: DistributedDataParallel under ``torchrun``.

``torchrun --nproc-per-node N -m engine.cli train ...`` starts N copies of the command with
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` ... set; ``launch()`` reads them (None:
an ordinary single process). ``join(device)`` joins the process group (NCCL between GPUs, gloo
between CPU processes) and yields the ``World`` the trainer talks to. Outside torchrun it yields
a World of one that communicates nothing, so the trainer has a single code path.

The split (what the trainer does with it): the global batch stays ``config.batch_size``; every
rank plans the same ``(seed, step)`` batch and makes only its rows (``World.rows``); DDP
averages the gradients, so N processes follow the single-process loss curve. Only rank 0
reports, writes checkpoints, previews and the ONNX export; every rank resumes from the same
checkpoint, which does not record how many processes made it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from engine.errors import TrainingError

# torchrun (and torch.distributed's env:// rendezvous) always sets these for each process.
LAUNCH_VARS = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
SETTLE_TIMEOUT_S = 5.0  # World.settle's longest wait for gloo's threads


@dataclass(frozen=True)
class Launch:
    """This process's place in a torchrun launch."""

    rank: int  # 0 .. world_size - 1, over every machine
    world_size: int  # processes in the run
    local_rank: int  # index on this machine: its GPU
    local_world_size: int  # processes on this machine: they share its CPU cores


def launch(environ: Mapping[str, str] | None = None) -> Launch | None:
    """The torchrun launch this process belongs to, or None when it runs alone."""
    env = os.environ if environ is None else environ
    if not all(env.get(name) for name in LAUNCH_VARS):
        return None
    try:
        rank, size = int(env["RANK"]), int(env["WORLD_SIZE"])
        local_rank = int(env.get("LOCAL_RANK", rank))
        local_size = int(env.get("LOCAL_WORLD_SIZE", size))
    except ValueError:
        raise TrainingError("torchrun's RANK / WORLD_SIZE / LOCAL_RANK are not whole numbers",
                            hint="start the run with torchrun, which sets them") from None
    if not (size >= 1 and 0 <= rank < size and 0 <= local_rank < max(1, local_size)):
        raise TrainingError(f"rank {rank} of {size} processes (local rank {local_rank}) is not "
                            "a valid place in a run", hint="start the run with torchrun")
    return Launch(rank, size, local_rank, local_size)


def free_local_port() -> int:
    """A TCP port free on this machine now: the MASTER_PORT for processes started here without
    torchrun (the DDP tests and scripts/ddp_exit_soak.py)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_main_process() -> bool:
    """True alone and on rank 0: the one process that prints and writes results."""
    found = launch()
    return found is None or found.rank == 0


def pick_device() -> torch.device:
    """Alone: CUDA, else Apple MPS, else the CPU. Under torchrun: this rank's GPU
    (``cuda:LOCAL_RANK``) or the CPU (gloo cannot reduce MPS tensors)."""
    found = launch()
    if torch.cuda.is_available():
        if found is None:
            return torch.device("cuda")
        return torch.device("cuda", found.local_rank % torch.cuda.device_count())
    if found is None and getattr(torch.backends, "mps", None) and \
            torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def cpu_threads() -> int:
    """Torch threads for ``TrainConfig.threads = 0``: every core alone, a fair share of them
    when torchrun starts several processes on one machine (it sets OMP_NUM_THREADS=1 itself)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    found = launch()
    return max(1, (cores or 1) // (found.local_world_size if found else 1))


class World:
    """The processes of one run and the few collectives the trainer needs.

    A World of one (the default) has rank 0, makes the whole batch and communicates nothing.
    """

    def __init__(self, rank: int = 0, size: int = 1, device: torch.device | str = "cpu"):
        self.rank, self.size, self.device = rank, size, torch.device(device)
        self._buffers: dict[tuple, torch.Tensor] = {}  # sum()'s, by shape, dtype and device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def rows(self, batch_size: int) -> slice:
        """This rank's rows of a global batch: contiguous, sizes differing by at most one."""
        if batch_size < self.size:
            raise TrainingError(f"a batch of {batch_size} crops cannot be split over "
                                f"{self.size} processes",
                                hint="use a batch of at least one crop per process")
        base, extra = divmod(batch_size, self.size)
        start = self.rank * base + min(self.rank, extra)
        return slice(start, start + base + (self.rank < extra))

    def wrap(self, net: nn.Module) -> nn.Module:
        """``net`` as the module to train: DistributedDataParallel over several processes
        (it broadcasts rank 0's weights now and averages gradients in ``backward``)."""
        if self.size == 1:
            return net
        from torch.nn.parallel import DistributedDataParallel

        if self.device.type == "cuda":
            index = self.device.index if self.device.index is not None \
                else torch.cuda.current_device()
            return DistributedDataParallel(net, device_ids=[index])
        return DistributedDataParallel(net)

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise sum of ``values`` over the ranks (the tensor itself with one rank).

        The sum is made in a buffer this World keeps (see ``settle``): gloo's worker thread
        lets go of a collective's tensors a moment after the caller is woken, sometimes only
        when it ends the next barrier; a tensor Python has dropped by then is freed by that
        thread, which needs the GIL for it, and in a process already exiting that aborts it
        ("terminate called without an active exception": CI, and ~1 in 35 two-process runs
        of ``scripts/ddp_exit_soak.py``)."""
        if self.size == 1:
            return values
        key = (values.shape, values.dtype, values.device)
        if key not in self._buffers:
            self._buffers[key] = torch.empty_like(values)
        buffer = self._buffers[key]
        buffer.copy_(values)
        dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
        return buffer.clone()

    def any(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is true on any: all ranks stop at the same step."""
        if self.size == 1:
            return flag
        return bool(self.sum(torch.tensor([float(flag)], device=self.device)).item() > 0)

    def barrier(self) -> None:
        """Wait until every rank gets here (rank 0's files are written for all to return)."""
        if self.size > 1:
            dist.barrier()

    def settle(self, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        """Wait (GIL released) until gloo's threads hold none of ``sum``'s buffers, so that
        dropping them later frees them here and not in a thread racing the interpreter's exit.
        Gives up after ``timeout_s``: a collective a lost peer never finished holds on."""
        deadline = time.monotonic() + timeout_s
        while any(b._use_count() > 1 for b in self._buffers.values()) and \
                time.monotonic() < deadline:
            time.sleep(0.001)


@contextlib.contextmanager
def join(device: torch.device) -> Iterator[World]:
    """The World of this process on ``device``: joins (and leaves) torchrun's process group,
    NCCL for CUDA devices and gloo otherwise; a World of one outside torchrun."""
    found = launch()
    if found is None or found.world_size == 1:
        yield World(device=device)
        return
    if not dist.is_available():
        raise TrainingError("this PyTorch build has no torch.distributed",
                            hint="train in one process, or install a PyTorch build with it")
    backend = "nccl" if device.type == "cuda" else "gloo"
    owned = not dist.is_initialized()  # a caller's own process group is left to the caller
    if owned:
        if device.type == "cuda" and device.index is not None:
            torch.cuda.set_device(device)
        dist.init_process_group(backend, rank=found.rank, world_size=found.world_size)
    world = World(dist.get_rank(), dist.get_world_size(), device)
    try:
        yield world
    finally:
        world.settle()
        if owned:
            dist.destroy_process_group()
