"""``vidzoo-train -m`` through hydra-submitit-launcher's local executor (``hydra/launcher=submitit_local``): every
job runs in its own process, and its scores still reach the summary table (SummarySweeper). SLURM itself is not
available here; its launcher config is checked by composing it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import TINY_SYNTHETIC
from training_helpers import check_four_job_sweep, make_tree_without_videos, tiny_sweep_overrides

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.subprocess  # every test runs vidzoo-train -m in child processes


def _train(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(REPO / "tools" / "train.py"), *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


@pytest.mark.slow
def test_a_two_by_two_sweep_through_submitit_local_runs_four_jobs_with_a_summary(synthetic_root, tmp_path):
    sweep_dir = tmp_path / "sweep"
    # two jobs at a time (the machine that runs the suite may have 2 cores); submitit's files inside the sweep folder
    args = tiny_sweep_overrides(synthetic_root, sweep_dir, "hydra/launcher=submitit_local",
                                "hydra.sweeper.max_batch_size=2",
                                f"hydra.launcher.submitit_folder={sweep_dir}/.submitit/%j")
    start = time.monotonic()
    res = _train(args, tmp_path)
    print(f"4 jobs through submitit_local in {time.monotonic() - start:.1f} s")
    assert res.returncode == 0, res.stderr[-3000:]
    rows = check_four_job_sweep(sweep_dir, res.stdout)
    print("\n".join(f"job {r['job']}: video_top1 {r['video_top1']:.4f} clip_top1 {r['clip_top1']:.4f}" for r in rows))
    logs = sorted((sweep_dir / ".submitit").glob("*/*_log.out"))
    assert len(logs) == 4  # one process (and log) per job: the scores came back from other processes
    assert "[vidzoo] final: video_top1" in logs[0].read_text()
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_a_job_of_two_submitit_tasks_trains_as_two_ddp_ranks(synthetic_root, tmp_path):
    """tasks_per_node=2: submitit starts two processes for the job; vidzoo.engine.distributed turns their
    SUBMITIT_LOCAL_* variables into ranks 0 and 1 of one process group (as SLURM_* on a cluster)."""
    sweep_dir = tmp_path / "sweep"
    args = tiny_sweep_overrides(synthetic_root, sweep_dir, "hydra/launcher=local", "hydra.launcher.tasks_per_node=2",
                                sweeps=("model=c3d_small",))
    res = _train(args, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    logs = [p.read_text() for p in sorted((sweep_dir / ".submitit").glob("*/*_log.out"))]
    assert len(logs) == 2 and all("Job completed successfully" in log for log in logs)
    assert ["[vidzoo] final:" in log for log in logs] == [True, False]  # rank 0 reports, rank 1 does not
    run = next(p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    report = json.loads((run / "report.json").read_text())
    assert report["num_videos"] == 9 * TINY_SYNTHETIC["test_per_class"]  # the two shards, gathered: each video once
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1  # one epoch, written by rank 0 only


@pytest.mark.slow
def test_a_job_failing_in_a_submitit_process_is_printed_listed_and_exits_2(tmp_path):
    """Split files naming videos that are not there: the job stops in its own process; the error comes back."""
    root = make_tree_without_videos(tmp_path / "ucf101")
    sweep_dir = tmp_path / "sweep"
    res = _train(["-m", "hydra/launcher=local", "data=ucf101", f"data.root={root}", "data.split=1,2",
                  "data.num_workers=0", f"hydra.sweep.dir={sweep_dir}"], tmp_path)
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("vidzoo-train: error: job ")]
    assert res.returncode == 2 and len(errors) == 2 and "Traceback" not in res.stderr, res.stderr[-3000:]
    assert "v_Jump_g01_c01" in errors[0] and "v_Jump_g02_c01" in errors[1]
    summary = (sweep_dir / "summary.md").read_text()
    assert "| 0 | data.split=1 | failed | failed |" in summary and "| 1 | data.split=2 | failed | failed |" in summary
    assert sorted((sweep_dir / ".submitit").glob("*/*_log.err"))  # the job ran in a submitit process


@pytest.mark.parametrize("launcher, keys", [
    ("slurm", {"timeout_min": 720, "gpus_per_node": 1, "tasks_per_node": 1, "cpus_per_task": 8, "mem_gb": 64}),
    ("local", {"timeout_min": 240, "gpus_per_node": 0, "tasks_per_node": 1, "cpus_per_task": 2}),
])
def test_launcher_presets_compose_with_their_defaults_and_submitit_files_in_the_sweep_folder(launcher, keys):
    from omegaconf import OmegaConf

    from vidzoo.cli import compose_or_explain

    cfg = compose_or_explain([f"hydra/launcher={launcher}"], with_hydra=True)
    node = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert {k: node[k] for k in keys} == keys
    assert node["submitit_folder"] == f"{cfg.hydra.sweep.dir}/.submitit/%j"
    assert node["_target_"].endswith("SlurmLauncher" if launcher == "slurm" else "LocalLauncher")


def test_a_launcher_that_does_not_exist_is_one_line_and_exit_2(tmp_path):
    res = _train(["-m", "hydra/launcher=submitit_pbs", "model=c3d_small,r3d_small"], tmp_path)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "choose one of: basic, local, slurm, submitit_local, submitit_slurm" in res.stderr
    assert not (tmp_path / "runs").exists()


def test_without_the_launcher_plugin_the_error_says_what_to_install(monkeypatch):
    from vidzoo import cli

    monkeypatch.setattr(cli, "_hydra_group_options", lambda group: ["basic", "local", "slurm"])
    for choice in ("local", "submitit_slurm"):
        message = cli.explain_override_error(f"hydra/launcher={choice}", None)
        assert message.endswith('needs hydra-submitit-launcher (for submitit_local, submitit_slurm, local, slurm): '
                                'pip install -e ".[cluster]"')


def test_the_slurm_preset_asks_for_one_task_per_gpu_on_every_node(tmp_path, monkeypatch):
    """No SLURM here: the launcher builds its sbatch script (a stand-in ``srun`` on PATH passes submitit's check)
    and the test reads it instead of submitting it."""
    import submitit
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate

    from vidzoo.cli import CONFIG_DIR
    from vidzoo.config import register_configs

    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "srun").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "bin" / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    executors = []
    monkeypatch.setattr(submitit.AutoExecutor, "map_array", lambda self, *args: executors.append(self) or [])
    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose("config", overrides=["hydra/launcher=slurm", "hydra.launcher.gpus_per_node=4",
                                           "hydra.launcher.nodes=2", "hydra.launcher.partition=gpu",
                                           f"hydra.sweep.dir={tmp_path / 'sweep'}", "hydra.job.name=train"],
                      return_hydra_config=True)
    GlobalHydra.instance().clear()
    launcher = instantiate(cfg.hydra.launcher)
    launcher.setup(hydra_context=None, task_function=None, config=cfg)
    launcher.launch([["model=c3d_small"], ["model=r3d_small"]], initial_job_idx=0)
    script = executors[0]._executor._make_submission_file_text("python -m submitit.core._submit", "1")
    for line in ("--nodes=2", "--gpus-per-node=4", "--ntasks-per-node=4", "--cpus-per-task=8", "--mem=64GB",
                 "--partition=gpu", "--time=720", f"--output={tmp_path / 'sweep'}/.submitit/%j/%j_0_log.out"):
        assert f"#SBATCH {line}\n" in script
    assert "\nsrun " in script  # every task is started by srun: SLURM_PROCID and SLURM_STEP_NUM_TASKS are set
