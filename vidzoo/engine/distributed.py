"""torch.distributed set-up for ``torchrun``, SLURM tasks and submitit jobs: gloo on CPU, NCCL on GPU.

torchrun sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_ADDR``/``MASTER_PORT``. A job of N tasks started by
``srun`` (submitit's SLURM executor, ``tasks_per_node`` > 1) or by submitit's local executor sets its own variables
instead; :func:`launcher_env` translates them into torchrun's, so such a job trains with DDP like torchrun does.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


#: torchrun's variable -> (SLURM task's, submitit local task's); read only when torchrun's RANK/WORLD_SIZE are absent.
_TASK_VARS = {"RANK": ("SLURM_PROCID", "SUBMITIT_LOCAL_GLOBALID"),
              "WORLD_SIZE": ("SLURM_STEP_NUM_TASKS", "SUBMITIT_LOCAL_NTASKS"),
              "LOCAL_RANK": ("SLURM_LOCALID", "SUBMITIT_LOCAL_LOCALID")}
_PORT_RANGE = (20000, 60000)


def first_host(nodelist: str) -> str:
    """The first host name of a SLURM node list: ``gpu[003-005,009],cpu1`` -> ``gpu003``; ``n1,n2`` -> ``n1``."""
    match = re.match(r"([^,\[]+)(?:\[([^\]]+)\])?", nodelist.strip())
    if not match:
        raise ValueError(f"cannot read a host name from the SLURM node list {nodelist!r}")
    prefix, ranges = match.groups()
    return prefix + ranges.split(",")[0].split("-")[0] if ranges else prefix


def launcher_env(environ: Mapping[str, str]) -> dict[str, str]:
    """torchrun's variables for a process that SLURM (``srun``) or submitit's local executor started as one of
    several tasks; ``{}`` when torchrun's ``RANK``/``WORLD_SIZE`` are set or the process is not such a task.

    The master is ``MASTER_ADDR``/``MASTER_PORT`` when set, else the first host of the step's node list
    (127.0.0.1 for a local job) and a port in [20000, 60000) derived from the job id, the same on every task."""
    if "RANK" in environ or "WORLD_SIZE" in environ:
        return {}
    slot = 0 if "SLURM_PROCID" in environ and "SLURM_STEP_NUM_TASKS" in environ else 1
    names = {key: pair[slot] for key, pair in _TASK_VARS.items()}
    if any(name not in environ for name in names.values()) or int(environ[names["WORLD_SIZE"]]) <= 1:
        return {}
    env = {key: str(int(environ[name])) for key, name in names.items()}
    if slot == 0:
        nodelist = environ.get("SLURM_STEP_NODELIST") or environ.get("SLURM_JOB_NODELIST", "")
        job_id = environ.get("SLURM_JOB_ID", "0")
        default_addr = first_host(nodelist) if nodelist else "127.0.0.1"
    else:
        job_id, default_addr = environ.get("SUBMITIT_LOCAL_JOB_ID", "0"), "127.0.0.1"
    low, high = _PORT_RANGE
    env["MASTER_ADDR"] = environ.get("MASTER_ADDR", default_addr)
    env["MASTER_PORT"] = environ.get("MASTER_PORT", str(low + zlib.crc32(job_id.encode()) % (high - low)))
    return env


def init_distributed(device_type: str) -> DistInfo:
    """Initialise the process group when launched by torchrun, or as one of several SLURM or submitit tasks
    (``WORLD_SIZE`` > 1, see :func:`launcher_env`)."""
    os.environ.update(launcher_env(os.environ))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def all_gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    """Gather one picklable object from every rank (a list of length world_size)."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def all_reduce_mean(value: float, info: DistInfo) -> float:
    """Average a scalar over ranks."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item() / info.world_size)


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
