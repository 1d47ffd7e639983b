"""Start and end many two-process gloo runs the way the trainer does; count the aborted ones.

Why: a rank of a DDP run could die at exit with SIGABRT ("terminate called without an active
exception", CI, session 11): gloo's worker thread still held a reduced tensor the caller had
dropped, and freeing it needed the GIL while the interpreter was shutting down. Such a race
shows in about 1 of 35 runs, too rarely for the test suite; run this after a torch upgrade:

    python scripts/ddp_exit_soak.py --runs 150

Each run: join the group, wrap a small network in DDP, a few steps that end with
``World.any`` saying stop (as a cancel does), a barrier, leave, exit.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.training import distributed  # noqa: E402


def _rank_main(rank: int, port: int) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    with distributed.join(torch.device("cpu")) as world:
        net = torch.nn.Conv2d(3, 8, 3)
        model, optimizer = world.wrap(net), torch.optim.Adam(net.parameters())
        for step in range(3):
            if world.any(rank == 0 and step == 2):  # rank 0 cancels after two steps
                break
            model(torch.randn(2, 3, 16, 16)).sum().backward()
            optimizer.step()
            world.sum(torch.stack([torch.tensor(1.0), torch.tensor(2.0)]) * 0.5).tolist()
        world.barrier()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=150)
    args = parser.parse_args()
    aborted = 0
    for run in range(args.runs):
        try:
            mp.start_processes(_rank_main, args=(distributed.free_local_port(),), nprocs=2,
                               start_method="spawn")
        except mp.ProcessExitedException as error:
            aborted += 1
            print(f"run {run}: {error}", flush=True)
    print(f"{aborted} of {args.runs} runs had a process die")
    return 1 if aborted else 0


if __name__ == "__main__":
    sys.exit(main())
