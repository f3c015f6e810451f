"""``vidzoo-train -m``: each job in its own folder under the sweep folder, a summary table at the end,
and every value of a sweep checked before the first job starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vidzoo.sweep import format_table, job_dirname, sweep_variants

from training_helpers import check_four_job_sweep, make_tree_without_videos, tiny_sweep_overrides

REPO = Path(__file__).resolve().parents[1]


def test_every_job_of_a_short_sweep_is_composed_for_checking():
    variants, complete = sweep_variants(["trainer.seed=0,1", "model=c3d_small,r3d_small", "trainer.epochs=1"])
    assert complete and len(variants) == 4
    assert {tuple(v) for v in variants} == {(f"trainer.seed={s}", f"model={m}", "trainer.epochs=1")
                                            for s in (0, 1) for m in ("c3d_small", "r3d_small")}


def test_a_long_sweep_checks_each_value_once():
    variants, complete = sweep_variants(["trainer.seed=range(0,100)", "optim.lr=0.01,0.05"])
    assert not complete and len(variants) == 1 + 99 + 1
    assert ["trainer.seed=99", "optim.lr=0.01"] in variants and ["trainer.seed=0", "optim.lr=0.05"] in variants


def test_job_folder_names_hold_the_swept_values_only(monkeypatch):
    monkeypatch.setattr("vidzoo.sweep.SWEPT_KEYS", {"model", "+model.kwargs.width"})
    name = job_dirname(["model=c3d_small", "data.root=/data/ucf101", "+model.kwargs.width=0.5"])
    assert name == "model=c3d_small,+model.kwargs.width=0.5"
    monkeypatch.setattr("vidzoo.sweep.SWEPT_KEYS", set())
    assert "/" not in job_dirname(["data.root=/data/ucf101"])


def test_the_table_marks_a_job_without_report_as_failed():
    rows = [{"job": 0, "overrides": ["a=1", "b=2"], "video_top1": 0.5, "clip_top1": 0.25, "run": "r0"},
            {"job": 1, "overrides": ["a=1", "b=3"], "video_top1": None, "clip_top1": None, "run": "r1"}]
    table = format_table(rows).splitlines()
    assert table[2] == "| 0 | b=2 | 0.5000 | 0.2500 | r0 |"
    assert table[3] == "| 1 | b=3 | failed | failed | r1 |"
    assert table[-1] == "Every job: a=1"


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_two_by_two_sweep_runs_four_jobs_into_four_folders_with_a_summary(synthetic_root, tmp_path):
    sweep_dir = tmp_path / "sweep"
    args = tiny_sweep_overrides(synthetic_root, sweep_dir)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, str(REPO / "tools" / "train.py"), *args], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    check_four_job_sweep(sweep_dir, res.stdout)
    assert not (tmp_path / "runs").exists()  # nothing outside the sweep folder


@pytest.mark.subprocess
def test_jobs_that_fail_at_run_time_are_listed_and_the_sweep_exits_2(tmp_path):
    """Split files that name videos that are not there: each job fails with one line, the table says so."""
    root = make_tree_without_videos(tmp_path / "ucf101")
    sweep_dir = tmp_path / "sweep"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, str(REPO / "tools" / "train.py"), "-m", "data=ucf101", f"data.root={root}",
                          "data.split=1,2", "data.num_workers=0", f"hydra.sweep.dir={sweep_dir}"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("vidzoo-train: error: job ")]
    assert res.returncode == 2 and len(errors) == 2 and "Traceback" not in res.stderr, res.stderr[-3000:]
    rows = json.loads((sweep_dir / "summary.json").read_text())
    assert [r["video_top1"] for r in rows] == [None, None]
    assert "| 1 | data.split=2 | failed | failed |" in (sweep_dir / "summary.md").read_text()
