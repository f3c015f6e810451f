"""SLURM and submitit tasks become torchrun-style ranks (vidzoo.engine.distributed.launcher_env); no SLURM here,
so the environments below are what srun and submitit's local executor set for one task."""

from __future__ import annotations

import pytest

from vidzoo.engine.distributed import first_host, launcher_env

SRUN_TASK = {"SLURM_JOB_ID": "81234", "SLURM_PROCID": "5", "SLURM_STEP_NUM_TASKS": "8", "SLURM_LOCALID": "1",
             "SLURM_NTASKS": "8", "SLURM_STEP_NODELIST": "gpu[003-005,009]", "SLURM_JOB_NODELIST": "gpu[001-009]"}


def test_an_srun_task_gets_rank_world_size_local_rank_and_the_first_node_as_master():
    env = launcher_env(SRUN_TASK)
    assert {k: env[k] for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")} == {
        "RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "MASTER_ADDR": "gpu003"}
    assert 20000 <= int(env["MASTER_PORT"]) < 60000


def test_every_task_of_a_job_agrees_on_the_port_and_other_jobs_get_another():
    ports = {launcher_env({**SRUN_TASK, "SLURM_PROCID": str(r), "SLURM_LOCALID": str(r % 4)})["MASTER_PORT"]
             for r in range(8)}
    assert len(ports) == 1
    assert launcher_env({**SRUN_TASK, "SLURM_JOB_ID": "81235"})["MASTER_PORT"] not in ports


def test_master_addr_and_port_already_set_are_kept():
    env = launcher_env({**SRUN_TASK, "MASTER_ADDR": "10.0.0.7", "MASTER_PORT": "29500"})
    assert (env["MASTER_ADDR"], env["MASTER_PORT"]) == ("10.0.0.7", "29500")


def test_the_job_node_list_stands_in_for_a_missing_step_node_list():
    env = launcher_env({k: v for k, v in SRUN_TASK.items() if k != "SLURM_STEP_NODELIST"})
    assert env["MASTER_ADDR"] == "gpu001"


@pytest.mark.parametrize("environ", [
    {**SRUN_TASK, "RANK": "0", "WORLD_SIZE": "2"},                       # torchrun inside an allocation wins
    {k: v for k, v in SRUN_TASK.items() if k != "SLURM_STEP_NUM_TASKS"},  # the batch script, not an srun task
    {**SRUN_TASK, "SLURM_STEP_NUM_TASKS": "1", "SLURM_PROCID": "0"},      # one task: no process group
    {},
])
def test_no_variables_for_torchrun_one_task_or_no_launcher(environ):
    assert launcher_env(environ) == {}


def test_a_submitit_local_task_uses_the_loopback_master():
    env = launcher_env({"SUBMITIT_LOCAL_GLOBALID": "1", "SUBMITIT_LOCAL_NTASKS": "2", "SUBMITIT_LOCAL_LOCALID": "1",
                        "SUBMITIT_LOCAL_JOB_ID": "4242"})
    assert {k: env[k] for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")} == {
        "RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_ADDR": "127.0.0.1"}


@pytest.mark.parametrize("nodelist, host", [("gpu[003-005,009],cpu1", "gpu003"), ("n1,n2", "n1"), ("node7", "node7"),
                                            ("a-b[10-11]", "a-b10"), ("x[7]", "x7")])
def test_first_host_of_a_node_list(nodelist, host):
    assert first_host(nodelist) == host
